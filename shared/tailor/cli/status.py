"""``tailor status [RUN]``: where runs stand, with the validation report's errors and notes, Bedrock's
view of the job and the loss curve. The helpers below (ages, loss lines, the terminal chart) are
shared with ``tailor watch`` and ``tailor metrics``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION
from tailor.jobs.state import RunStatus

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.events.models import LossMetrics
    from tailor.jobs.run import RunRecord

#: Report codes that are about job.json (or the upload's key), not the data: such a rejection is a
#: spec error and is labelled as one.
SPEC_CODES = frozenset(
    {"spec_invalid", "unsupported_model", "unsupported_technique", "key_invalid", "not_a_trigger"}
)


def status(
    run: Annotated[
        str | None, typer.Argument(metavar="RUN", help="A run id; omit to list recent runs.")
    ] = None,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="How many recent runs to list.", min=1)
    ] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show one run (status, history, report errors and notes) or list the most recent runs."""
    from rich.console import Console

    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    runs = DynamoRunStore(target.runs_table)
    if run is None:
        records = runs.list_recent(limit)
        if json_output:
            rows = [r.model_dump(mode="json", by_alias=True) for r in records]
            sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        render_runs(records, Console(highlight=False))
        return
    record = runs.get(run)
    if record is None:
        sys.stderr.write(f"error: no run {run!r} in {target.runs_table}\n")
        raise typer.Exit(1)
    report = _report(S3ObjectStore(), record.facts.report_uri)
    if json_output:
        body = {"run": record.model_dump(mode="json", by_alias=True), "report": report}
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    render_run(record, report, Console(highlight=False, soft_wrap=True))  # paths and URIs stay copyable


def _report(objects: Any, uri: str | None) -> dict[str, Any] | None:
    if not uri:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    loaded: dict[str, Any] = orjson.loads(objects.get_bytes(bucket, key))
    return loaded


def is_spec_error(report: Mapping[str, Any] | None) -> bool:
    """True when a report rejects the upload for job.json (or its key), not for its data."""
    if not report or report.get("valid"):
        return False
    codes = set(report.get("error_counts") or {}) | {str(e.get("code")) for e in report.get("errors") or []}
    return bool(codes) and codes <= SPEC_CODES


def render_runs(records: Iterable[RunRecord], console: Console, *, now: datetime | None = None) -> None:
    """The recent runs as a table. The run id and the status are never wrapped or cut (the id is
    what users copy); the other columns are shown while they fit the terminal at full width, in
    order of use (age, last event, technique, model), and the rest are named in a footnote."""
    from rich.table import Table

    records = list(records)
    if not records:
        console.print("no runs yet")
        return
    moment = now or datetime.now(UTC)
    columns: dict[str, list[str]] = {
        "run": [r.run_id for r in records],
        "status": [r.status.value for r in records],
        "age": [_since(r.created_at, moment) for r in records],
        "last event": [_since(last_event_at(r), moment) + " ago" for r in records],
        "technique": [r.technique or "-" for r in records],
        "model": [_model(r.base_model_id) for r in records],
    }
    widths = {name: max(len(name), *(len(c) for c in cells)) for name, cells in columns.items()}
    if widths["run"] + 2 + widths["status"] > console.width:  # too narrow for a table: one run a line
        for run_id, state in zip(columns["run"], columns["status"], strict=True):
            console.print(f"{run_id}  {state}", soft_wrap=True)
        return
    shown, hidden, used = [], [], -2  # two spaces between columns, none at the edges
    for name, width in widths.items():
        if name in ("run", "status") or used + 2 + width <= console.width:
            shown.append(name)
            used += 2 + width
        else:
            hidden.append(name)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in shown:
        mandatory = name in ("run", "status")
        table.add_column(
            name, no_wrap=mandatory, min_width=widths[name] if mandatory else None, overflow="fold"
        )
    for row in zip(*(columns[name] for name in shown), strict=True):
        table.add_row(*row)
    console.print(table)
    if hidden:
        console.print(f"[dim]({', '.join(hidden)}: not shown at this width; --json has every field)[/]")


def _model(model_id: str | None) -> str:
    """``amazon.nova-lite-v1:0:300k`` → ``nova-lite``; an id the catalog does not know stays as is."""
    if not model_id:
        return "-"
    from tailor.jobs.catalog import UnknownModelError, resolve_model

    try:
        return resolve_model(model_id).alias
    except (UnknownModelError, ValueError):
        return model_id


def parse_time(iso: str) -> datetime:
    """A stored timestamp (``2026-12-01T19:30:09.123Z``) as an aware datetime."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration(seconds: float) -> str:
    """``42s``, ``12m05s``, ``3h12m``, ``5d03h``: short, for tables and summaries."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _since(iso: str, now: datetime) -> str:
    try:
        return duration((now - parse_time(iso)).total_seconds())
    except ValueError:
        return "-"


def last_event_at(record: RunRecord) -> str:
    """When anything last happened to the run: its newest transition or Bedrock's last observation
    (a sub-task's progress is observed without a transition)."""
    moments = [entry.at for entry in record.history[-1:]]
    if record.facts.last_observed_at:
        moments.append(record.facts.last_observed_at)
    if not moments:
        return record.updated_at
    return max(moments, key=lambda iso: _sortable(iso, record.updated_at))


def _sortable(iso: str, fallback: str) -> datetime:
    try:
        return parse_time(iso)
    except ValueError:
        return parse_time(fallback)


# -- Bedrock's view and the loss curve (shared with watch and metrics) -----------------------------

_SUB_TASK_NAMES = (
    ("validation", "validation"),
    ("data_processing", "data processing"),
    ("training", "training"),
)


def sub_task_text(record: RunRecord) -> str | None:
    """``validation Completed, data processing Completed, training InProgress`` (or None)."""
    tasks = record.facts.sub_tasks
    if tasks is None:
        return None
    parts = [f"{label} {getattr(tasks, field)}" for field, label in _SUB_TASK_NAMES if getattr(tasks, field)]
    return ", ".join(parts) or None


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def loss_summary(metrics: LossMetrics) -> str:
    """``final 0.412  best 0.398 (step 110)  120 steps, 2 epochs``."""
    parts = [f"final {_loss(metrics.final_loss)}", f"best {_loss(metrics.best_loss)}"]
    if metrics.best_step is not None:
        parts[-1] += f" (step {metrics.best_step})"
    extent = []
    if metrics.steps is not None:
        extent.append(f"{metrics.steps} steps")
    if metrics.epochs is not None:
        extent.append(f"{metrics.epochs} epoch" + ("" if metrics.epochs == 1 else "s"))
    if extent:
        parts.append(", ".join(extent))
    return "  ".join(parts)


_BLOCKS = " ▁▂▃▄▅▆▇█"


def _resample(values: Sequence[float], width: int) -> list[float]:
    """At most ``width`` values: the mean of each of ``width`` equal slices."""
    if len(values) <= width:
        return list(values)
    out = []
    for column in range(width):
        start = column * len(values) // width
        end = max(start + 1, (column + 1) * len(values) // width)
        chunk = values[start:end]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(values: Sequence[float], width: int) -> str:
    """One line of ``▁▂▃▄▅▆▇█``, at most ``width`` characters."""
    if not values or width < 1:
        return ""
    points = _resample(values, width)
    low, high = min(points), max(points)
    if high == low:
        return "▄" * len(points)
    return "".join(_BLOCKS[1 + round((v - low) / (high - low) * 7)] for v in points)


def loss_chart(metrics: LossMetrics, width: int, rows: int = 4) -> list[str]:
    """The loss curve as a small filled chart in ``width`` columns: ``rows`` lines of blocks with
    the highest and lowest loss on the left, then the step range. Empty without a curve."""
    curve = metrics.curve
    if len(curve) < 2:
        return []
    values = [p.loss for p in curve]
    top, bottom = _loss(max(values)), _loss(min(values))
    label = max(len(top), len(bottom))
    plot_width = max(8, width - label - 4)
    points = _resample(values, plot_width)
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    levels = [round((v - low) / span * (rows * 8 - 1)) + 1 for v in points]  # 1 … rows*8
    lines = []
    for row in range(rows - 1, -1, -1):
        cells = "".join(_BLOCKS[max(0, min(8, level - row * 8))] for level in levels)
        name = top if row == rows - 1 else bottom if row == 0 else ""
        lines.append(f"  {name:>{label}} ┤{cells}".rstrip())
    first, last = f"step {curve[0].step}", f"{curve[-1].step}"
    gap = max(1, len(points) - len(first) - len(last))
    lines.append(f"  {'':>{label}}  {first}{' ' * gap}{last}")
    return lines


def render_run(
    record: RunRecord, report: Mapping[str, Any] | None, console: Console, *, now: datetime | None = None
) -> None:
    spec_error = is_spec_error(report)
    verdict = "  [red]job.json rejected (spec error)[/]" if spec_error else ""
    moment = now or datetime.now(UTC)
    age, last = _since(record.created_at, moment), _since(last_event_at(record), moment)
    console.print(
        f"[bold]{record.run_id}[/]  {record.status.value}{verdict}"
        f"  [dim](age {age}, last event {last} ago)[/]"
    )
    console.print(f"  dataset   {record.trigger_uri}")
    console.print(f"  technique {record.technique or '-'}   model {record.base_model_id or '-'}")
    for entry in record.history:
        reason = entry.reason
        if spec_error and reason == "dataset rejected":  # ingestion's word for every rejection
            reason = "job.json rejected: spec error"
        console.print(f"  {entry.at}  → {entry.status.value}" + (f"  ({reason})" if reason else ""))
    _render_facts(record, console, moment)
    if not report:
        return
    for note in report.get("notes") or []:  # e.g. Nova CPT: validated, but Bedrock cannot train it
        console.print(f"  [yellow]note[/]: {note}")
    if report.get("valid"):
        return
    label = "spec error" if spec_error else "errors"
    counts = ", ".join(f"{code} x{n}" for code, n in (report.get("error_counts") or {}).items())
    console.print(f"  [red]{label}[/]: {counts}")
    for issue in (report.get("errors") or [])[:10]:
        line = f":{issue['line']}" if issue.get("line") else ""
        console.print(f"    {issue.get('file')}{line} {issue['code']}: {issue['message']}")
        if issue.get("hint"):
            console.print(f"      hint: {issue['hint']}")


# Facts shown with their own wording below; the rest are listed as ``name: value``.
_WORDED = frozenset(
    {
        "snapshot",
        "nextAttempt",
        "previousAttempt",
        "lastJoinedUpload",
        "attempt",
        "contentDigest",
        "jobStatus",
        "previousJobStatus",
        "lastObservedAt",
        "observedVia",
        "outputModelArn",
        "outputModelName",
        "jobArn",
        "jobName",
        "estimatedUsd",
        "errorCode",
        "failureMessage",
        "deployOnDemand",
        "deploymentAttempt",
        "deploymentRequestId",
        "deploymentArn",
        "deploymentName",
        "deploymentStatus",
        "deploymentError",
        "edgeExport",
        "edgeExportId",
        "edgeExportStatus",
        "edgeExportVersion",
    }
)


def _render_deployment(record: RunRecord, console: Console) -> None:
    """``deploy     Active arn:…`` and how to use it (docs/deployment.md)."""
    from rich.markup import escape

    facts = record.facts
    state = facts.deployment_status
    if state is None:
        if facts.deploy_on_demand:
            console.print("  deploy    on demand once COMPLETED (job.json deploy.onDemand)")
        return
    arn = f" {facts.deployment_arn}" if facts.deployment_arn else ""
    attempt = f" (attempt {facts.deployment_attempt})" if (facts.deployment_attempt or 1) > 1 else ""
    if state == "Active":
        console.print(f"  deploy    [green]Active[/]{arn}{attempt}: tailor invoke {record.run_id} PROMPT")
    elif state == "Failed":
        reason = escape(facts.deployment_error or "no reason recorded")
        console.print(f"  deploy    [red]Failed[/]{arn}{attempt}: {reason}")
    elif state == "Deleted":
        console.print(
            f"  deploy    Deleted{arn}{attempt}: the custom model stays (tailor deploy {record.run_id})"
        )
    else:
        console.print(f"  deploy    {state}{arn}{attempt}")


def _render_facts(record: RunRecord, console: Console, now: datetime) -> None:
    facts = record.facts
    if facts.waiting_for_quota_since and record.status is RunStatus.VALIDATED:
        console.print(
            f"  [yellow]waiting for quota since {facts.waiting_for_quota_since}[/]: the account's "
            "customization jobs are all in progress; it is submitted when one ends"
        )
    if facts.job_arn:
        console.print(f"  job       {facts.job_name} ({facts.job_arn})")
    if facts.estimated_usd is not None:
        console.print(f"  estimate  ${facts.estimated_usd:,.2f} for training (tailor estimate explains it)")
    if facts.job_status:
        seen = ""
        if facts.last_observed_at:
            via = f" via {facts.observed_via}" if facts.observed_via else ""
            seen = f", seen {_since(facts.last_observed_at, now)} ago{via}"
        tasks = sub_task_text(record)
        console.print(f"  bedrock   {facts.job_status}" + (f" ({tasks})" if tasks else "") + seen)
    if facts.output_model_arn:
        console.print(f"  model     {facts.output_model_name or '-'} ({facts.output_model_arn})")
    _render_deployment(record, console)
    if facts.edge_export_id:
        version = f" {facts.edge_export_version}" if facts.edge_export_version else ""
        console.print(
            f"  edge      {facts.edge_export_status}{version} (export {facts.edge_export_id}; docs/edge.md)"
        )
    if facts.error_code:
        console.print(f"  [red]submission failed[/]: {facts.error_code}: {facts.failure_message}")
    elif facts.failure_message:
        console.print(f"  [red]{record.status.value.lower()}[/]: {facts.failure_message}")
    for label, metrics in (("training", facts.training_metrics), ("validation", facts.validation_metrics)):
        if metrics is None:
            continue
        console.print(f"  {label} loss  {loss_summary(metrics)}")
        for line in loss_chart(metrics, min(console.width, 100)):
            console.print(line, markup=False, highlight=False)
    if facts.attempt and facts.attempt > 1:
        console.print(f"  attempt {facts.attempt} (previous: {facts.previous_attempt})")
    if facts.next_attempt:
        console.print(
            f"  [yellow]superseded[/]: the same content was uploaded again after this run ended: "
            f"see tailor status {facts.next_attempt}"
        )
    if record.joined_uploads:
        times = "once" if record.joined_uploads == 1 else f"{record.joined_uploads} times"
        console.print(
            f"  joined    identical uploads joined this run {times} (no second job); "
            f"last: {facts.last_joined_upload}"
        )
    if facts.snapshot is not None:  # what Bedrock is given: the validated bytes, immutable
        for role, file in (("training", facts.snapshot.training), ("validation", facts.snapshot.validation)):
            if file is not None:
                console.print(f"  snapshot  {role} {file.uri} ({file.bytes:,} bytes)")
    for key, value in sorted(record.attributes.items()):
        if key not in _WORDED:
            console.print(f"  {key}: {value}")
