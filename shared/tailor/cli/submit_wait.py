"""``tailor submit … --wait``: follow the run just submitted to its end, as ``tailor watch`` does, and
(when job.json asks for ``deploy.onDemand``) its deployment, as ``tailor deploy --wait`` does.

Exit codes: 0 the run completed (and its deployment is Active), 1 it ended REJECTED, FAILED,
STOPPED or SUBMISSION_FAILED, its deployment failed, or ``--timeout`` passed first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.cli.watch import RunReader
    from tailor.jobs.run import RunRecord

EXIT_OK, EXIT_FAILED = 0, 1
#: How many of a rejected run's report errors are printed.
SHOWN_ERRORS = 5


#: Reads a validation report by its URI (None: no report).
ReportReader = Callable[[str | None], Mapping[str, Any] | None]


class _TimedOutError(Exception):
    pass


def wait_for_run(
    runs: RunReader,
    run_id: str,
    console: Console,
    *,
    timeout: float | None,
    interval: float,
    deploy: bool,
    read_report: ReportReader | None = None,
    where: str = "the runs table",
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Follow ``run_id`` (which ingestion may not have recorded yet) until it ends; then, with
    ``deploy``, its deployment. ``timeout`` (None: none) bounds the whole wait."""
    from tailor.cli.deploy import wait_for_deployment
    from tailor.cli.watch import EXIT_COMPLETED, follow

    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = None if timeout is None else clock() + timeout

    def bounded_sleep(seconds: float) -> None:
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                raise _TimedOutError
            seconds = min(seconds, remaining)
        sleep(seconds)

    try:
        _until_recorded(runs, run_id, console, bounded_sleep, interval)
        code = follow(runs, run_id, console, interval=interval, sleep=bounded_sleep, where=where)
    except _TimedOutError:
        record = runs.get(run_id)
        state = f"still {record.status.value}" if record is not None else "not recorded by ingestion yet"
        console.print(
            f"error: timed out after {timeout or 0:g}s: run {run_id} is {state} "
            f"(`tailor watch {run_id}` follows it)",
            markup=False,
            highlight=False,
        )
        return EXIT_FAILED
    record = runs.get(run_id)
    if code != EXIT_COMPLETED or record is None:
        if record is not None and read_report is not None:
            for line in rejection_lines(record, read_report):
                console.print(line, markup=False, highlight=False)
        return EXIT_FAILED
    if not deploy:
        return EXIT_OK
    remaining = float("inf") if deadline is None else max(0.0, deadline - clock())
    console.print("job.json asks for deploy.onDemand: waiting for the deployment", highlight=False)
    return wait_for_deployment(runs, record, timeout=remaining, interval=interval, sleep=sleep, clock=clock)


def _until_recorded(
    runs: RunReader,
    run_id: str,
    console: Console,
    sleep: Callable[[float], None],
    interval: float,
) -> None:
    """Ingestion records the run once it has read job.json: wait for that."""
    said = False
    while runs.get(run_id) is None:
        if not said:
            console.print(f"waiting for ingestion to record run {run_id}", markup=False, highlight=False)
            said = True
        sleep(interval)


def rejection_lines(record: RunRecord, read_report: ReportReader) -> list[str]:
    """A rejected run's first report errors (``train.jsonl:10 role_order: …``), as tailor status
    shows them; nothing for a run that was not rejected or has no report."""
    from tailor.jobs.state import RunStatus

    if record.status is not RunStatus.REJECTED:
        return []
    try:
        report = read_report(record.facts.report_uri)
    except Exception as error:  # the outcome stands; the errors are a convenience
        return [f"  (the validation report could not be read: {error}; tailor status {record.run_id})"]
    if not report:
        return []
    errors = list(report.get("errors") or [])
    lines = []
    for issue in errors[:SHOWN_ERRORS]:
        line = f":{issue['line']}" if issue.get("line") else ""
        lines.append(f"  {issue.get('file')}{line} {issue.get('code')}: {issue.get('message')}")
        if issue.get("hint"):
            lines.append(f"    hint: {issue['hint']}")
    total = sum((report.get("error_counts") or {}).values()) or len(errors)
    if total > SHOWN_ERRORS:
        lines.append(f"  … {total - SHOWN_ERRORS} more: tailor status {record.run_id}")
    return lines
