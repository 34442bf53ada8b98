"""``tailor device provision | run``: the reference device agent from the command line.

``provision`` writes a device root (config + the one public key the device will trust); ``run`` takes
the device's next IoT job and installs the bundle it names. Exit codes of ``run --once``: 0 installed,
1 refused or failed (the previous version is still current), 2 usage, 3 nothing pending.

The trust anchor comes from ``--public-key FILE``, ``--stack NAME`` (its output
``EdgeSigningPublicKey``) or the environment variable ``TAILOR_EDGE_PUBLIC_KEY`` (PEM, base64 DER,
or a path to either), which is what ``--local`` reads, as ``tailor local up`` writes it.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tailor.cli.target import REGION_OPTION

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from tailor.edge.agent import Outcome, Step

PUBLIC_KEY_ENV = "TAILOR_EDGE_PUBLIC_KEY"
JOBS_ENDPOINT_ENV = "TAILOR_IOT_JOBS_ENDPOINT"
PUBLIC_KEY_OUTPUT = "EdgeSigningPublicKey"

device_app = typer.Typer(
    name="device",
    help="The reference device agent: provision a device root, take its next IoT job, install the bundle.",
    no_args_is_help=True,
)

ThingOption = Annotated[
    str, typer.Option("--thing", metavar="NAME", help="The device's AWS IoT thing name.", show_default=False)
]
RootOption = Annotated[
    Path,
    typer.Option(
        "--root",
        metavar="DIR",
        help="The device's directory (config, trust anchor, versions).",
        show_default=False,
    ),
]


class TrustAnchorError(ValueError):
    """No usable trust anchor: the one line to print."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


def pem_from(value: bytes, where: str) -> bytes:
    """A PEM public key from PEM, base64 DER (the stack output) or DER bytes."""
    from tailor.edge.signing import public_key_pem

    text = value.strip()
    if text.startswith(b"-----BEGIN"):
        return text + b"\n"
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        der = value
    try:
        return public_key_pem(der)
    except ValueError:
        raise TrustAnchorError(f"{where} is not a public key (PEM, base64 DER or DER)") from None


def resolve_public_key(public_key: Path | None, stack: str | None, region: str | None) -> bytes:
    """The trust anchor from ``--public-key``, else ``--stack``'s output, else the environment."""
    if public_key is not None:
        try:
            return pem_from(public_key.read_bytes(), str(public_key))
        except OSError as error:
            raise TrustAnchorError(f"cannot read {public_key}: {error.strerror or error}") from None
    if stack:
        from tailor.adapters.stack import StackAccessError, StackNotFoundError, stack_outputs
        from tailor.cli.target import use_region

        use_region(region)
        try:
            outputs = stack_outputs(stack)
        except (StackNotFoundError, StackAccessError) as error:
            raise TrustAnchorError(str(error)) from None
        value = outputs.get(PUBLIC_KEY_OUTPUT)
        if not value:
            raise TrustAnchorError(f"stack {stack} has no output {PUBLIC_KEY_OUTPUT}")
        return pem_from(value.encode(), f"output {PUBLIC_KEY_OUTPUT} of stack {stack}")
    value = os.environ.get(PUBLIC_KEY_ENV, "").strip()
    if not value:
        raise TrustAnchorError(
            f"no trust anchor: pass --public-key FILE or --stack NAME, or set {PUBLIC_KEY_ENV} "
            "(PEM or a path; `tailor local up` writes it)"
        )
    if not value.startswith("-----BEGIN") and Path(value).is_file():
        return pem_from(Path(value).read_bytes(), f"{PUBLIC_KEY_ENV} ({value})")
    return pem_from(value.encode(), PUBLIC_KEY_ENV)


@device_app.command("provision")
def provision_command(
    thing: ThingOption,
    root: RootOption,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            metavar="FILE",
            help="The signing public key (PEM, or base64 DER / DER) the device will trust.",
            show_default=False,
        ),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            metavar="NAME",
            help=f"Read the key from the deployed stack's output {PUBLIC_KEY_OUTPUT}.",
            show_default=False,
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help=f"Use the local stack's key and jobs endpoint ({PUBLIC_KEY_ENV}, {JOBS_ENDPOINT_ENV}).",
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="P",
            help="Device profile (default: linux-<this machine's arch>).",
            show_default=False,
        ),
    ] = None,
    region: Annotated[str | None, REGION_OPTION] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            metavar="URL",
            help=f"IoT Jobs data-plane endpoint (default: {JOBS_ENDPOINT_ENV}, else AWS's for the region).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a device root: its config and the one public key it will trust (0600, out of band)."""
    from tailor.edge.agent import provision
    from tailor.edge.profiles import PROFILES

    if local and (public_key is not None or stack):
        raise _fail("--local reads the key from the environment; do not combine it with --public-key/--stack")
    if profile is not None and profile not in PROFILES:
        raise _fail(f"unknown device profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise _fail("no AWS region: pass --region or set AWS_REGION")
    endpoint = endpoint or os.environ.get(JOBS_ENDPOINT_ENV) or None
    if local and not endpoint:
        raise _fail(
            f"--local needs the local jobs endpoint: set {JOBS_ENDPOINT_ENV} (`tailor local up` prints it)"
        )
    try:
        key = resolve_public_key(public_key, stack, region)
        config = provision(thing, root, key, profile=profile, region=region, jobs_endpoint=endpoint)
    except ValueError as error:
        raise _fail(str(error)) from None
    console = _console()
    console.print(f"provisioned [bold]{config.thing_name}[/] in {root}", markup=True)
    console.print(f"  profile      {config.profile}")
    console.print(f"  region       {config.region}")
    console.print(f"  endpoint     {config.jobs_endpoint or '(AWS IoT Jobs for the region)'}")
    console.print(f"  trust anchor {root / config.trust_anchor} (the only key this device trusts)")


@device_app.command("run")
def run_command(
    thing: ThingOption,
    root: RootOption,
    once: Annotated[bool, typer.Option("--once", help="Take at most one job, then exit (0/1/3).")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per job outcome on stdout.")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", metavar="SECONDS", help="Wait between polls when nothing is pending.")
    ] = 30.0,
) -> None:
    """Take the device's next IoT job and install its bundle (verify, download, smoke test, switch)."""
    from pydantic import ValidationError

    from tailor.edge.agent import Agent, DeviceConfig

    try:
        config = DeviceConfig.load(root)
    except FileNotFoundError:
        raise _fail(
            f"{root} is not provisioned: run `tailor device provision --thing {thing} --root {root}`"
        ) from None
    except (OSError, ValidationError, ValueError) as error:
        raise _fail(f"cannot read {root}/device.json: {error}") from None
    if config.thing_name != thing:
        raise _fail(f"{root} is provisioned for thing {config.thing_name!r}, not {thing!r}")
    console = _console()
    agent = Agent(config, root, on_step=None if json_out else _step_printer(console))
    if once:
        outcome = agent.run_once()
        _show(console, outcome, json_out, agent.current_version())
        raise typer.Exit(outcome.exit_code)
    try:
        while True:
            for outcome in agent.run(stop_after=1, poll_seconds=poll):
                _show(console, outcome, json_out, agent.current_version())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


_MARK = {"reported": "→", "report": "!", "cached": "·"}


def _step_printer(console: Console) -> Callable[[Step], None]:
    from rich.markup import escape

    def show(step: Step) -> None:
        mark = _MARK.get(step.name, "✓")
        console.print(f"{mark} [bold]{step.name}[/] {escape(step.message)}")

    return show


def _show(console: Console, outcome: Outcome, json_out: bool, current: str | None) -> None:
    if json_out:
        import json

        sys.stdout.write(json.dumps(outcome.to_json()) + "\n")
        sys.stdout.flush()
        return
    status = outcome.status.value
    if status == "SUCCEEDED":
        console.print(f"[green]installed[/] {outcome.version} (job {outcome.job_id})")
    elif status == "NONE":
        console.print("nothing pending")
    else:
        where = f" (job {outcome.job_id})" if outcome.job_id else ""
        from rich.markup import escape

        console.print(f"[red]{status}[/]{where}: {escape(f'{outcome.reason}: {outcome.detail}')}")
        console.print(f"current is still {current}" if current else "nothing is installed yet")
