"""``tailor watch RUN``: a run's progress, live, until it ends.

Polls the runs table (what the status service records: the run's state, Bedrock's job status and
sub-tasks, the loss so far) every ``--interval`` seconds. On a terminal it is one rich panel
redrawn in place; anywhere else (a pipe, CI's log) one line per change. Then one summary line.
Exit codes: 0 the job completed (also when the run has moved on to the edge export), 1 it ended
without a model (FAILED, STOPPED, REJECTED, SUBMISSION_FAILED), 2 usage or an unknown run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION
from tailor.jobs.state import RunStatus

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from tailor.jobs.run import RunRecord

S = RunStatus
#: The job trained a model: the run may already be in the edge export.
TRAINED = frozenset({S.COMPLETED, S.EXPORTING, S.PUBLISHED, S.EXPORT_FAILED})
#: The run ended without a model.
ENDED_WITHOUT_MODEL = frozenset({S.FAILED, S.STOPPED, S.REJECTED, S.SUBMISSION_FAILED})

EXIT_COMPLETED, EXIT_ENDED, EXIT_USAGE = 0, 1, 2


class RunReader(Protocol):
    def get(self, run_id: str) -> RunRecord | None: ...


def exit_code_for(status: RunStatus) -> int | None:
    """0 trained, 1 ended without a model, None still going."""
    if status in TRAINED:
        return EXIT_COMPLETED
    if status in ENDED_WITHOUT_MODEL:
        return EXIT_ENDED
    return None


def watch(
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id (tailor status lists them).")],
    interval: Annotated[
        float,
        typer.Option("--interval", metavar="SECONDS", help="Seconds between two reads of the run.", min=0.1),
    ] = 2.0,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Follow a run live until it ends: exit 0 completed, 1 failed, stopped or rejected."""
    from rich.console import Console

    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    code = follow(
        DynamoRunStore(target.runs_table),
        run,
        Console(highlight=False, soft_wrap=True),
        interval=interval,
        where=target.runs_table,
    )
    raise typer.Exit(code)


def follow(
    store: RunReader,
    run_id: str,
    console: Console,
    *,
    interval: float = 2.0,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    live: bool | None = None,
    where: str = "the runs table",
) -> int:
    """Poll ``store`` for ``run_id`` until the run is terminal; the exit code. ``live`` (default:
    whether ``console`` is a terminal) redraws one panel; otherwise one line per change. ``sleep``
    defaults to ``time.sleep``, looked up at call time."""
    sleep = sleep or time.sleep
    record = store.get(run_id)
    if record is None:
        sys.stderr.write(f"error: no run {run_id!r} in {where}\n")
        return EXIT_USAGE
    use_live = console.is_terminal if live is None else live
    if use_live:
        record = _follow_live(store, record, console, interval=interval, sleep=sleep, now=now)
    else:
        record = _follow_lines(store, record, console, interval=interval, sleep=sleep, now=now)
    console.print(summary(record), markup=False, highlight=False)
    code = exit_code_for(record.status)
    return EXIT_ENDED if code is None else code


def _poll(store: RunReader, record: RunRecord) -> RunRecord:
    newer = store.get(record.run_id)
    return record if newer is None else newer  # a read that finds nothing keeps the last view


def _follow_live(
    store: RunReader,
    record: RunRecord,
    console: Console,
    *,
    interval: float,
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
) -> RunRecord:
    from rich.live import Live

    with Live(
        panel(record, now(), console.width), console=console, auto_refresh=False, transient=True
    ) as view:
        while exit_code_for(record.status) is None:
            sleep(interval)
            record = _poll(store, record)
            view.update(panel(record, now(), console.width), refresh=True)
    return record


def _follow_lines(
    store: RunReader,
    record: RunRecord,
    console: Console,
    *,
    interval: float,
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
) -> RunRecord:
    shown: str | None = None
    while True:
        line = progress_line(record)
        if line != shown:
            console.print(f"{now():%H:%M:%S} {line}", markup=False, highlight=False)
            shown = line
        if exit_code_for(record.status) is not None:
            return record
        sleep(interval)
        record = _poll(store, record)


def _latest_loss(record: RunRecord) -> str | None:
    metrics = record.facts.training_metrics
    if metrics is None:
        return None
    point = metrics.last or (metrics.curve[-1] if metrics.curve else None)
    if point is not None:
        return f"loss {point.loss:.4g} at step {point.step}"
    return None if metrics.final_loss is None else f"loss {metrics.final_loss:.4g}"


def progress_line(record: RunRecord) -> str:
    """``IN_PROGRESS  bedrock InProgress (training InProgress)  loss 0.43 at step 50``."""
    from tailor.cli.status import sub_task_text

    parts = [record.status.value]
    if record.facts.job_status:
        tasks = sub_task_text(record)
        parts.append(f"bedrock {record.facts.job_status}" + (f" ({tasks})" if tasks else ""))
    loss = _latest_loss(record)
    if loss:
        parts.append(loss)
    return "  ".join(parts)


def _elapsed(record: RunRecord, moment: datetime) -> str:
    from tailor.cli.status import duration, parse_time

    ended = record.history and exit_code_for(record.status) is not None
    end = parse_time(record.history[-1].at) if ended else moment
    return duration((end - parse_time(record.created_at)).total_seconds())


_STYLE = {S.COMPLETED: "green", S.FAILED: "red", S.STOPPED: "yellow", S.REJECTED: "red"}
_MARK = {
    "Completed": "[green]✓[/]",
    "InProgress": "[cyan]…[/]",
    "Failed": "[red]✗[/]",
    "Stopped": "[yellow]■[/]",
}


def panel(record: RunRecord, moment: datetime, width: int = 80) -> RenderableType:
    """What the live view shows: status, elapsed, Bedrock's sub-tasks, the loss so far."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from tailor.cli.status import duration, last_event_at, loss_summary, parse_time, sparkline

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    style = _STYLE.get(record.status, "cyan")
    grid.add_row("status", f"[{style}]{record.status.value}[/]")
    grid.add_row("elapsed", _elapsed(record, moment))
    if record.facts.job_status:
        grid.add_row("bedrock", escape(record.facts.job_status))
    tasks = record.facts.sub_tasks
    if tasks is not None:
        for field, label in (
            ("validation", "validation"),
            ("data_processing", "data"),
            ("training", "training"),
        ):
            state = getattr(tasks, field)
            if state:
                grid.add_row(f"  {label}", f"{_MARK.get(state, '·')} {escape(state)}")
    metrics = record.facts.training_metrics
    if metrics is not None:
        grid.add_row("loss", escape((_latest_loss(record) or loss_summary(metrics)).removeprefix("loss ")))
        if len(metrics.curve) > 1:
            grid.add_row("", sparkline([p.loss for p in metrics.curve], max(10, min(60, width - 16))))
    if record.facts.validation_metrics is not None:
        grid.add_row("validation", escape(loss_summary(record.facts.validation_metrics)))
    last = (moment - parse_time(last_event_at(record))).total_seconds()
    grid.add_row("last event", f"{duration(last)} ago")
    return Panel(grid, title=escape(record.run_id), title_align="left", expand=False)


def summary(record: RunRecord) -> str:
    """The one line printed at the end."""
    facts = record.facts
    took = f" after {_elapsed(record, datetime.now(UTC))}" if record.history else ""
    head = f"{record.run_id} {record.status.value}{took}"
    if record.status in TRAINED:
        model = facts.output_model_name or facts.output_model_arn or "-"
        metrics = facts.training_metrics
        loss = ""
        if metrics is not None and metrics.final_loss is not None:
            best = f" (best {metrics.best_loss:.4g})" if metrics.best_loss is not None else ""
            loss = f"; training loss {metrics.final_loss:.4g}{best}"
        return f"{head}: model {model}{loss}"
    if record.status is S.SUBMISSION_FAILED:
        return f"{head}: {facts.error_code or 'error'}: {facts.failure_message or '-'}"
    if record.status is S.REJECTED:
        return f"{head}: the dataset was rejected (tailor status {record.run_id} lists the errors)"
    if facts.failure_message:
        return f"{head}: {facts.failure_message}"
    return head
