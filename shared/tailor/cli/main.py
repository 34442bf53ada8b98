"""``tailor``: validate datasets, run the embedded local stack, follow runs.

Sub-commands import their heavy dependencies (rich, moto, boto3) inside their functions, so
``tailor --help`` stays instant.
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core

from tailor.cli.deploy import deploy
from tailor.cli.device import device_app
from tailor.cli.estimate import estimate
from tailor.cli.events import events
from tailor.cli.export import export
from tailor.cli.invoke import invoke
from tailor.cli.local import local_app
from tailor.cli.metrics import metrics
from tailor.cli.status import status
from tailor.cli.stop import stop
from tailor.cli.submit import submit
from tailor.cli.undeploy import undeploy
from tailor.cli.validate import validate
from tailor.cli.watch import watch


def _flags_show_no_type() -> None:
    """typer 0.29 prints ``<bool>`` as the type of every flag (``--help`` included) in rich help:
    a flag takes no value, so show none. Options with a value keep their type."""
    original = getattr(typer.core.TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_tailor_clean_flags", False):
        return  # another typer: nothing to mend (the help test says whether it shows <bool>)

    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        shown: str | None = original(self, ctx)
        return shown

    display_type_rich._tailor_clean_flags = True  # type: ignore[attr-defined]
    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

app = typer.Typer(
    name="tailor",
    help="Customize Amazon Nova models: validate datasets, submit runs, follow them, ship to the edge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("validate")(validate)
app.command("submit")(submit)
app.command("estimate")(estimate)
app.command("status")(status)
app.command("watch")(watch)
app.command("stop")(stop)
app.command("metrics")(metrics)
app.command("events")(events)
app.command("deploy")(deploy)
app.command("invoke")(invoke)
app.command("undeploy")(undeploy)
app.command("export")(export)
app.add_typer(local_app, name="local")
app.add_typer(device_app, name="device")


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
    except Exception as error:
        setup = _aws_setup_problem(error)
        if setup is None:
            raise
        sys.stderr.write(f"error: {setup}\n")
        raise SystemExit(2) from None
    raise SystemExit(result if isinstance(result, int) else 0)


def _aws_setup_problem(error: Exception) -> str | None:
    """A one-line fix for botocore's "no region" / "no credentials" errors, wherever they surface
    (``--stack`` handles them itself; this catches the environment case), else None."""
    import sys

    if "botocore.exceptions" not in sys.modules:
        return None
    from botocore import exceptions as boto

    if isinstance(error, boto.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        return "no AWS credentials found: run `aws configure` (or `aws sso login`) or set AWS_PROFILE"
    if isinstance(error, boto.ProfileNotFound):
        return f"{error}: check AWS_PROFILE against `aws configure list-profiles`"
    return None


if __name__ == "__main__":
    main()
