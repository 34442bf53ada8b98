"""``tailor local up | demo``: the embedded local stack from the command line.

Heavy imports (moto, rich, yaml, boto3) happen inside the commands: ``tailor --help`` stays instant.
"""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.local.stack import LocalStack

local_app = typer.Typer(
    name="local",
    help="Run Tailor on this machine: moto + the template's wiring + an in-process Lambda dispatcher.",
    no_args_is_help=True,
)

_TEMPLATE_HELP = "template.yaml to build the stack from (default: found from the working directory)"
TemplateOption = Annotated[
    Path | None, typer.Option("--template", "-t", metavar="PATH", help=_TEMPLATE_HELP, show_default=False)
]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def env_lines(env: dict[str, str]) -> list[str]:
    """``export NAME=value`` lines a POSIX shell can ``source``."""
    return [f"export {name}={value}" for name, value in env.items()]


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# tailor local up: the local stack's environment (source it; rewritten at every start)\n"
    path.write_text(header + "\n".join(env_lines(env)) + "\n", encoding="utf-8")


@local_app.command()
def up(
    template: TemplateOption = None,
    port: Annotated[
        int,
        typer.Option(
            "--port", metavar="PORT", help="port for the moto server on 127.0.0.1 (0: any free port)"
        ),
    ] = 0,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="PATH",
            help="also write the export lines to PATH (`source PATH` in another shell; `--local` reads "
            "it). Default: .tailor/local.env here, or $TAILOR_LOCAL_ENV_FILE",
            show_default=False,
        ),
    ] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            metavar="F",
            help="factor on queue visibility timeouts (with 0.01 the ingest queue's 5400 s become 54 s)",
        ),
    ] = 0.01,
    no_schedules: Annotated[
        bool,
        typer.Option(
            "--no-schedules", help="do not fire schedule rules / Scheduler schedules on their clock"
        ),
    ] = False,
    schedule_time_scale: Annotated[
        float,
        typer.Option(
            "--schedule-time-scale", metavar="F", help="factor on rate() schedules (cron keeps wall time)"
        ),
    ] = 1.0,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="print the full summary: every resource, gap and note"),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="do not echo the functions' log lines")
    ] = False,
    job_seconds: Annotated[
        float,
        typer.Option(
            "--job-seconds",
            metavar="SECONDS",
            min=0.1,
            help="SIMULATED Bedrock: seconds from a customization job's creation to its end",
        ),
    ] = 6.0,
    job_quota: Annotated[
        int,
        typer.Option(
            "--job-quota",
            metavar="N",
            min=1,
            help="SIMULATED Bedrock: jobs in progress at once; one more → ServiceQuotaExceededException",
        ),
    ] = 2,
    bedrock_seed: Annotated[
        int | None,
        typer.Option(
            "--bedrock-seed",
            metavar="N",
            help="SIMULATED Bedrock: seed for which events come late or twice (default: random)",
            show_default=False,
        ),
    ] = None,
    no_bedrock_simulator: Annotated[
        bool,
        typer.Option(
            "--no-bedrock-simulator",
            help="do not simulate Bedrock training: jobs are created but stay InProgress",
        ),
    ] = False,
    no_hyperpod: Annotated[
        bool,
        typer.Option(
            "--no-hyperpod",
            help="no SIMULATED HyperPod cluster: CPT datasets are refused, as on a stack without "
            "HyperPodClusterName (with it, CPT jobs move on the HyperPod reconcile schedule: "
            "--schedule-time-scale speeds them)",
        ),
    ] = False,
) -> None:
    """Start the local stack, print how to reach it, and play Lambda until Ctrl-C.

    Bedrock training is SIMULATED (tailor.local.bedrock_sim) unless --no-bedrock-simulator: jobs
    advance to Completed in --job-seconds, write metrics CSVs and emit Bedrock's events (sometimes
    late or duplicated); the job tag tailor:simulate = complete | fail | stop | lose-events steers one.
    """
    from rich.console import Console

    from tailor.cli.target import local_env_file
    from tailor.local.bedrock_sim import SimulatorConfig
    from tailor.local.stack import LocalStack

    default_env_file = env_file is None
    env_file = env_file or local_env_file()  # where `--local` looks
    if port and not _port_free(port):
        sys.stderr.write(f"error: port {port} on 127.0.0.1 is in use: pass another --port, or 0 for any\n")
        raise typer.Exit(2)
    console = Console(highlight=False)
    simulator = (
        False
        if no_bedrock_simulator
        else SimulatorConfig(job_seconds=job_seconds, job_quota=job_quota, seed=bedrock_seed)
    )
    stack = LocalStack(
        template,
        time_scale=time_scale,
        port=port,
        echo_logs=None if quiet else sys.stdout,
        simulate_bedrock=simulator,
        simulate_hyperpod=not no_hyperpod,
    )
    with stack:
        _print_banner(console, stack, verbose=verbose, env_file=env_file)
        watcher = _run_watcher(stack)

        def firings(fired: list[Any]) -> None:
            for firing in fired:
                status = f"[red]{firing.error}[/]" if firing.error else "[green]ok[/]"
                console.print(f"schedule {firing.schedule_id} → {firing.target}: {status}")

        def transitions() -> None:
            nonlocal watcher
            if watcher is None:
                return
            try:
                fresh = watcher.poll()
            except Exception as error:  # the run log is a convenience: never stop dispatching for it
                console.print(f"[red]run transitions are no longer logged[/]: {error}", soft_wrap=True)
                watcher = None
                return
            for transition in fresh:
                console.print(transition.line(), soft_wrap=True)

        def terminate(signum: int, frame: Any) -> None:
            # A repeated SIGTERM (`timeout` signals the process and its group) must not cut the
            # clean stop short.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, terminate)  # stop as cleanly on `kill` as on Ctrl-C
        try:
            stack.serve(
                schedules=not no_schedules,
                schedule_time_scale=schedule_time_scale,
                on_firing=firings,
                on_tick=transitions,
            )
        except KeyboardInterrupt:
            console.print()
        for function_id, stats in stack.dispatcher.stats.items():
            console.print(
                f"{function_id}: {stats.invocations} invocation(s), {stats.succeeded} record(s) ok, "
                f"{stats.failed} failed"
            )
    if default_env_file:  # a stale default file would point `--local` at a stack that is gone
        env_file.unlink(missing_ok=True)
    console.print("Local stack stopped; its state is gone.")


def _print_banner(console: Console, stack: LocalStack, *, verbose: bool, env_file: Path | None) -> None:
    summary = stack.summary()
    if verbose:
        console.print(summary.render(), soft_wrap=True, markup=False)
        console.print()
        console.print("[bold]Outputs[/]")
        for name, value in stack.outputs.items():
            console.print(f"  {name} = {value}", soft_wrap=True)
    else:
        for line in summary.short():
            console.print(line, markup=False)
    console.print()
    env = stack.client_env()
    console.print("[bold]Point the tailor CLI or boto3 at this stack (another shell):[/]")
    for line in env_lines(env):
        print(line)  # plain: copyable, never wrapped
    if env_file is not None:
        write_env_file(env_file, env)
        console.print(f"(also written to {env_file}: `source {env_file}`)", soft_wrap=True)
    console.print()
    console.print(f"[bold green]Dispatching[/] (started in {stack.startup_seconds:.2f} s). Ctrl-C to stop.")


def _run_watcher(stack: LocalStack) -> Any:
    from tailor.local.runlog import RunWatcher
    from tailor.local.stack import LocalStackError

    try:
        table = stack.env_value("RUNS_TABLE")
    except LocalStackError:
        return None  # a template without a runs table: nothing to follow
    return RunWatcher(stack.client("dynamodb"), table)


@local_app.command()
def demo(
    template: TemplateOption = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", metavar="F", help="factor on queue visibility timeouts")
    ] = 0.001,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="seconds to wait for the stack to become idle"),
    ] = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: every bus event, each device outcome, a summary")
    ] = False,
    no_hyperpod: Annotated[
        bool,
        typer.Option(
            "--no-hyperpod",
            help="no SIMULATED HyperPod cluster: the CPT corpus is refused, as on a stack without "
            "HyperPodClusterName",
        ),
    ] = False,
) -> None:
    """The whole story on a fresh local stack: four sample datasets from upload to devices."""
    from rich.console import Console

    from tailor.local.demo import run_demo

    result = run_demo(
        Console(),
        template=template,
        time_scale=time_scale,
        timeout=timeout,
        as_json=as_json,
        hyperpod=not no_hyperpod,
    )
    raise typer.Exit(0 if result.ok else 1)
