"""``tailor``: validate datasets, run the embedded local stack, follow runs.

Sub-commands import their heavy dependencies (rich, moto, boto3) inside their functions, so
``tailor --help`` stays instant.
"""

from __future__ import annotations

import typer

from tailor.cli.local import local_app
from tailor.cli.status import status
from tailor.cli.submit import submit
from tailor.cli.validate import validate

app = typer.Typer(
    name="tailor",
    help="Customize Amazon Nova models: validate datasets, submit runs, follow them, ship to the edge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("validate")(validate)
app.command("submit")(submit)
app.command("status")(status)
app.add_typer(local_app, name="local")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tailor`` script. Usage errors are one line on stderr and exit 2 (click
    would print a multi-line box); everything else behaves as typer does."""
    import sys

    try:  # recent typer vendors click; older ones use the click package
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions as click  # type: ignore[no-redef]

    try:
        result = app(args=argv, prog_name="tailor", standalone_mode=False)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "tailor"
        sys.stderr.write(f"error: {error.format_message()} (see '{command} --help')\n")
        raise SystemExit(2) from None
    except typer.Abort:
        sys.stderr.write("aborted\n")
        raise SystemExit(130) from None
    except click.ClickException as error:
        sys.stderr.write(f"error: {error.format_message()}\n")
        raise SystemExit(error.exit_code) from None
    raise SystemExit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
