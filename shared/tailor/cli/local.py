"""``tailor local up | demo``: the embedded local stack from the command line.

Heavy imports (moto, rich, yaml, boto3) happen inside the commands: ``tailor --help`` stays instant.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import typer

local_app = typer.Typer(
    name="local",
    help="Run Tailor on this machine: moto + the template's wiring + an in-process Lambda dispatcher.",
    no_args_is_help=True,
)

_TEMPLATE_HELP = "template.yaml to build the stack from (default: found from the working directory)"


@local_app.command()
def up(
    template: Path | None = typer.Option(None, "--template", "-t", help=_TEMPLATE_HELP),
    port: int = typer.Option(0, help="port for the moto server on 127.0.0.1 (0: any free port)"),
    time_scale: float = typer.Option(
        0.01, help="factor on queue visibility timeouts (the ingest queue's 1800 s become 18 s)"
    ),
    schedules: bool = typer.Option(True, help="fire schedule rules / Scheduler schedules on their clock"),
    schedule_time_scale: float = typer.Option(1.0, help="factor on rate() schedules (cron keeps wall time)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="do not echo the functions' log lines"),
) -> None:
    """Start the local stack, print how to reach it, and play Lambda until Ctrl-C."""
    from rich.console import Console

    from tailor.local.stack import LocalStack

    console = Console()
    stack = LocalStack(template, time_scale=time_scale, port=port, echo_logs=None if quiet else sys.stdout)
    with stack:
        stack.describe()
        console.print()
        console.print("[bold]Outputs[/]")
        for name, value in stack.outputs.items():
            console.print(f"  {name} = {value}", highlight=False, soft_wrap=True)
        console.print()
        console.print("[bold]Point the tailor CLI or boto3 at this stack (another shell):[/]")
        for name, value in stack.client_env().items():
            print(f"export {name}={value}")
        console.print()
        console.print(
            f"[bold green]Dispatching[/] (started in {stack.startup_seconds:.2f} s). Ctrl-C to stop."
        )

        def firings(fired: list[Any]) -> None:
            for firing in fired:
                status = f"[red]{firing.error}[/]" if firing.error else "[green]ok[/]"
                console.print(f"schedule {firing.schedule_id} → {firing.target}: {status}")

        def terminate(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, terminate)  # stop as cleanly on `kill` as on Ctrl-C
        try:
            stack.serve(schedules=schedules, schedule_time_scale=schedule_time_scale, on_firing=firings)
        except KeyboardInterrupt:
            console.print()
        for function_id, stats in stack.dispatcher.stats.items():
            console.print(
                f"{function_id}: {stats.invocations} invocation(s), {stats.succeeded} record(s) ok, "
                f"{stats.failed} failed"
            )
    console.print("Local stack stopped; its state is gone.")


@local_app.command()
def demo(
    template: Path | None = typer.Option(None, "--template", "-t", help=_TEMPLATE_HELP),
    time_scale: float = typer.Option(0.001, help="factor on queue visibility timeouts"),
    timeout: float = typer.Option(60.0, help="seconds to wait for the stack to become idle"),
) -> None:
    """Upload a good and a broken dataset to a fresh local stack and show what happens."""
    from rich.console import Console

    from tailor.local.demo import run_demo

    result = run_demo(Console(), template=template, time_scale=time_scale, timeout=timeout)
    raise typer.Exit(0 if result.ok else 1)
