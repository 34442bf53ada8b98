"""``tailor``: validate datasets, run the embedded local stack, follow runs.

Sub-commands import their heavy dependencies (rich, moto, boto3) inside their functions, so
``tailor --help`` stays instant.
"""

from __future__ import annotations

import typer

from tailor.cli.local import local_app
from tailor.cli.validate import validate

app = typer.Typer(
    name="tailor",
    help="Customize Amazon Nova models: validate datasets, submit runs, follow them, ship to the edge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("validate")(validate)
app.add_typer(local_app, name="local")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
