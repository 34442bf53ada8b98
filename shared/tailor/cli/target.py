"""Which Tailor stack a CLI command talks to: a deployed stack (``--stack NAME``: its outputs), the
embedded local stack (``--local``: the env file ``tailor local up`` writes) or the environment (what
``tailor local up`` prints, or what a Lambda has)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import typer

# For Annotated[...] parameters (the default goes on the parameter itself).
STACK_OPTION = typer.Option(
    "--stack",
    envvar="TAILOR_STACK",
    metavar="NAME",
    help="Deployed stack name (its outputs name the buckets and table). Default: the environment "
    "variables DATA_BUCKET, ARTIFACTS_BUCKET, RUNS_TABLE (as `tailor local up` prints them).",
    show_default=False,
)
#: Where ``tailor local up`` writes its environment by default, and where ``--local`` reads it.
DEFAULT_LOCAL_ENV_FILE = Path(".tailor") / "local.env"
LOCAL_ENV_FILE_VARIABLE = "TAILOR_LOCAL_ENV_FILE"
LOCAL_OPTION = typer.Option(
    "--local",
    help=f"Talk to the local stack of `tailor local up`: read the environment it writes to "
    f"{DEFAULT_LOCAL_ENV_FILE} (or to ${LOCAL_ENV_FILE_VARIABLE}).",
)
REGION_OPTION = typer.Option(
    "--region",
    metavar="REGION",
    help="AWS region of the deployed stack. Default: AWS_REGION, AWS_DEFAULT_REGION or your AWS profile's.",
    show_default=False,
)

# Environment variable → stack output that carries the same name.
_OUTPUT_FOR = {
    "DATA_BUCKET": "DataBucketName",
    "ARTIFACTS_BUCKET": "ArtifactsBucketName",
    "RUNS_TABLE": "RunsTableName",
    "TAILOR_BUS_NAME": "TailorBusName",
    "EXPORTS_TABLE": "ExportsTableName",
}


@dataclass(frozen=True, slots=True)
class StackTarget:
    data_bucket: str
    artifacts_bucket: str
    runs_table: str
    bus_name: str | None
    description: str
    exports_table: str | None = None


class TargetError(RuntimeError):
    pass


# How to fix each way a deployed stack cannot be read (tailor.adapters.stack.StackAccessError.kind).
_FIX_FOR = {
    "region": "pass --region or set AWS_REGION",
    "credentials": "run `aws configure` (or `aws sso login`) or set AWS_PROFILE",
    "profile": "check AWS_PROFILE against `aws configure list-profiles`",
    "denied": "your identity needs cloudformation:DescribeStacks on the stack (see docs/cli.md)",
    "network": "check your network, or the region (--region / AWS_REGION)",
}


def use_region(region: str | None) -> None:
    """Make ``--region`` the region of every client this process builds."""
    if not region:
        return
    from tailor.adapters.aws import reset_clients

    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
    reset_clients()


def local_env_file() -> Path:
    """The local stack's env file: ``$TAILOR_LOCAL_ENV_FILE``, else ``.tailor/local.env`` here."""
    return Path(os.environ.get(LOCAL_ENV_FILE_VARIABLE) or DEFAULT_LOCAL_ENV_FILE)


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of an env file, as ``tailor local up`` writes them
    (``NAME=value`` and quoted values too; comments and other lines are skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        name, equals, value = raw.strip().removeprefix("export ").partition("=")
        if not equals or not name.strip().isidentifier():
            continue
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] and value[0] in ("'", '"'):
            value = value[1:-1]
        values[name.strip()] = value
    return values


def use_local_env() -> Path:
    """Point this process (environment variables and boto3 clients) at the local stack whose env
    file ``local_env_file()`` names. TargetError when there is none."""
    path = local_env_file()
    if not path.is_file():
        raise TargetError(
            f"no local stack environment at {path}: start one with `tailor local up` (it writes that "
            f"file), or set {LOCAL_ENV_FILE_VARIABLE} to the file `tailor local up --env-file` wrote"
        )
    values = read_env_file(path)
    if not values.get("AWS_ENDPOINT_URL"):
        raise TargetError(f"{path} names no AWS_ENDPOINT_URL: is it a `tailor local up` env file?")
    from tailor.adapters.aws import reset_clients

    os.environ.update(values)
    reset_clients()
    return path


def resolve_target(stack: str | None, region: str | None = None, *, local: bool = False) -> StackTarget:
    if local:
        if stack:
            raise TargetError("--local and --stack (or TAILOR_STACK) name two stacks: pass one of them")
        path = use_local_env()
        target = resolve_target(None, region)
        return replace(target, description=f"local stack ({path}): s3://{target.data_bucket}")
    use_region(region)
    if stack:
        from tailor.adapters.stack import StackAccessError, StackNotFoundError, stack_outputs

        try:
            outputs = stack_outputs(stack)
        except StackNotFoundError as error:
            raise TargetError(str(error)) from None
        except StackAccessError as error:
            raise TargetError(f"{error}: {_FIX_FOR.get(error.kind, 'check your AWS set-up')}") from None
        values = {env: outputs.get(output, "") for env, output in _OUTPUT_FOR.items()}
        source = f"stack {stack}"
    else:
        values = {env: os.environ.get(env, "") for env in _OUTPUT_FOR}
        source = "environment"
    missing = [name for name in ("DATA_BUCKET", "ARTIFACTS_BUCKET", "RUNS_TABLE") if not values[name]]
    if missing:
        how = (
            f"the stack has no output(s) {', '.join(_OUTPUT_FOR[m] for m in missing)}"
            if stack
            else f"set {', '.join(missing)} (`tailor local up` prints them) or pass --stack NAME"
        )
        raise TargetError(f"no Tailor stack to talk to: {how}")
    return StackTarget(
        data_bucket=values["DATA_BUCKET"],
        artifacts_bucket=values["ARTIFACTS_BUCKET"],
        runs_table=values["RUNS_TABLE"],
        bus_name=values["TAILOR_BUS_NAME"] or None,
        description=f"{source}: s3://{values['DATA_BUCKET']}",
        exports_table=values["EXPORTS_TABLE"] or None,
    )


def target_or_exit(stack: str | None, region: str | None = None, *, local: bool = False) -> StackTarget:
    """``resolve_target`` for a command: a stack or region problem is one line and exit 2."""
    import sys

    import typer

    try:
        return resolve_target(stack, region, local=local)
    except TargetError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(2) from None


def bus_or_exit(target: StackTarget, purpose: str) -> str:
    """The target's Tailor bus, or one line saying how to name it and exit 2."""
    import sys

    import typer

    if not target.bus_name:
        sys.stderr.write(
            f"error: no Tailor bus {purpose}: set TAILOR_BUS_NAME (`tailor local up` prints it) "
            "or pass --stack NAME\n"
        )
        raise typer.Exit(2)
    return target.bus_name
