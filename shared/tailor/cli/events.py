"""``tailor events [--follow] [--run RUN] [--json] [--wait SECONDS]``: tail the Tailor bus.

Through a temporary EventBridge rule (every ``tailor.*`` source, or one run's events) targeting a
temporary SQS queue (``tailor.adapters.tail``), both removed on exit — also on Ctrl-C, SIGTERM and
errors. Only events put after the rule exists are seen: it is a tail, not a history (``tailor status
RUN`` has the history). Exit codes: 0 (also Ctrl-C with ``--follow``), 1 a temporary resource
could not be removed (the message names it), 2 usage or no bus to tail.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.adapters.tail import BusTail


def events(
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing events until Ctrl-C.")] = False,
    run: Annotated[str | None, typer.Option("--run", metavar="RUN", help="Only this run's events.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object a line: the EventBridge event as delivered.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", metavar="SECONDS", help="Without --follow: how long to collect events.", min=0
        ),
    ] = 5.0,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Print the Tailor bus's events as they happen, through a temporary rule and queue."""
    from tailor.adapters.tail import TailCleanupError, bus_tail
    from tailor.cli.target import bus_or_exit, target_or_exit

    target = target_or_exit(stack, region, local=local)
    bus_name = bus_or_exit(target, "to tail")
    emit = _json_line if json_output else _text_line
    try:
        with _sigterm_interrupts(), bus_tail(bus_name, run_id=run) as tail:
            scope = f"run {run}" if run else "every run"
            until = "Ctrl-C to stop" if follow else f"for {wait:g}s"
            sys.stderr.write(f"tailing {bus_name} ({scope}) through rule {tail.name}; {until}\n")
            pump(tail, emit, follow=follow, wait=wait)
    except KeyboardInterrupt:
        sys.stderr.write("stopped: the temporary rule and queue are removed\n")
        if not follow:
            raise typer.Exit(130) from None
    except TailCleanupError as error:
        sys.stderr.write(f"error: {error} (delete it by hand)\n")
        raise typer.Exit(1) from None


def pump(
    tail: BusTail,
    emit: Callable[[Mapping[str, Any]], None],
    *,
    follow: bool,
    wait: float,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Receive and emit events: until Ctrl-C with ``follow``, else for ``wait`` seconds. How many."""
    deadline = clock() + wait
    count = 0
    while True:
        remaining = deadline - clock()
        batch = tail.receive(20 if follow else math.ceil(max(0.0, min(20.0, remaining))))
        for event in batch:
            emit(event)
            count += 1
        if not follow and clock() >= deadline:
            return count


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (``kill``) cleans up as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _json_line(event: Mapping[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(event).decode() + "\n")
    sys.stdout.flush()


def _text_line(event: Mapping[str, Any]) -> None:
    sys.stdout.write(format_event(event) + "\n")
    sys.stdout.flush()


def format_event(event: Mapping[str, Any]) -> str:
    """``12:00:01  JobStatusChanged      support-bot-0f3a…  InProgress → Completed (event)``."""
    moment = str(event.get("time") or "")
    clock = moment[11:19] if len(moment) >= 19 else moment or "--:--:--"
    detail_type = str(event.get("detail-type") or "?")
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    assert isinstance(detail, Mapping)
    metadata = detail.get("metadata") if isinstance(detail.get("metadata"), Mapping) else {}
    data = detail.get("data") if isinstance(detail.get("data"), Mapping) else {}
    assert isinstance(metadata, Mapping) and isinstance(data, Mapping)
    run_id = str(metadata.get("runId") or data.get("runId") or "-")
    text = summarize(detail_type, data)
    return f"{clock}  {detail_type:<20}  {run_id}" + (f"  {text}" if text else "")


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def summarize(detail_type: str, data: Mapping[str, Any]) -> str:
    """A few words on what an event says; empty for a detail-type this CLI does not know."""
    if detail_type == "DatasetValidated":
        records, tokens = _get(data, "records", "training"), data.get("tokenEstimate")
        return f"valid: {records} training records, ~{tokens} tokens"
    if detail_type == "DatasetRejected":
        counts = data.get("errorCounts") or {}
        return "rejected: " + ", ".join(f"{c} x{n}" for c, n in counts.items()) if counts else "rejected"
    if detail_type == "JobSubmitted":
        return f"job {data.get('jobName')}"
    if detail_type == "JobSubmissionFailed":
        return f"{data.get('errorCode')}: {data.get('message')}"
    if detail_type == "JobStatusChanged":
        previous = data.get("previousStatus")
        moved = f"{previous} → {data.get('status')}" if previous else str(data.get("status"))
        tasks = data.get("subTasks") or {}
        shown = ", ".join(f"{k} {v}" for k, v in tasks.items() if v) if isinstance(tasks, Mapping) else ""
        via = data.get("observedVia")
        return moved + (f" [{shown}]" if shown else "") + (f" ({via})" if via else "")
    if detail_type == "JobCompleted":
        loss = _get(data, "trainingMetrics", "finalLoss")
        model = data.get("outputModelName") or data.get("outputModelArn")
        return f"model {model}" + (f", training loss {loss:.4g}" if isinstance(loss, int | float) else "")
    if detail_type == "JobFailed":
        return str(data.get("failureMessage") or "failed")
    if detail_type == "JobStopped":
        return "stopped" + (f": {data['failureMessage']}" if data.get("failureMessage") else "")
    if detail_type == "EdgePackagePublished":
        return str(data.get("bundleUri") or "")
    if detail_type == "EdgeExportFailed":
        return f"{data.get('stage')}: {data.get('error')}"
    if detail_type == "EdgeExportRequested":
        return "targets " + ", ".join(str(t) for t in data.get("targets") or [])
    return ""
