"""``tailor local demo``: the story so far, told against a fresh local stack.

1. start the embedded stack from ``template.yaml`` (and say what is emulated, simulated and not
   available locally);
2. upload a good fine-tuning dataset and a broken one (``datasets/<name>/train.jsonl``, then
   ``job.json`` — the spec goes last, it starts the run);
3. let the dispatcher play Lambda until nothing is left to do;
4. show the events that reached the Tailor bus, the validation reports with their errors (file,
   line, code, message), the Bedrock job and the run records;
5. check that the story happened: exactly one ``DatasetValidated`` for the good dataset and one
   ``JobSubmitted`` for it, one ``DatasetRejected`` with line-numbered errors for the broken one,
   both reports in S3, exactly one Bedrock customization job (created in moto: it never trains
   locally), both runs in the table, nothing dead-lettered, no handler error. ``DemoResult.ok``
   says so.

The datasets are generated here (valid ``bedrock-conversation-2024`` records, aws-facts §3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.local.stack import LocalStack

__all__ = ["BROKEN_NAME", "GOOD_NAME", "DemoResult", "broken_dataset", "good_dataset", "job_spec", "run_demo"]

GOOD_NAME = "support-bot"
BROKEN_NAME = "support-bot-broken"
SCHEMA_VERSION = "bedrock-conversation-2024"
SYSTEM_PROMPT = "You are the support assistant of Acme Outdoor Gear. Answer briefly and kindly."

_QA = [
    ("Where is my order?", "You can follow it from the link in your confirmation email."),
    ("Can I return a tent I used once?", "Yes, within 30 days, if it is clean and complete."),
    ("Do you ship to Norway?", "We do: delivery takes five to seven working days."),
    ("How do I reset my password?", "Choose 'Forgot password' on the sign-in page and follow the email."),
    ("Is the Trail 40 backpack waterproof?", "It is water resistant; add the rain cover for heavy rain."),
    ("Can I change my delivery address?", "Yes, until the order ships: open the order and edit the address."),
    ("What sizes does the Summit jacket come in?", "From XS to XXL, in regular and long cuts."),
    ("Do you price-match?", "We match identical items sold by authorised dealers within 14 days."),
    ("How long is the warranty on stoves?", "Two years, covering manufacturing defects."),
    ("Can I pay in instalments?", "Yes, at checkout choose 'Pay in 3' for orders above 100 euros."),
]


def _record(question: str, answer: str) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [
            {"role": "user", "content": [{"text": question}]},
            {"role": "assistant", "content": [{"text": answer}]},
        ],
    }


def good_dataset() -> bytes:
    """Ten valid Nova conversation records (the minimum for Nova Lite is 8)."""
    return "".join(json.dumps(_record(q, a)) + "\n" for q, a in _QA).encode()


def broken_dataset() -> bytes:
    """Line 2 is not JSON; line 4 starts with the assistant (role order). The rest is fine."""
    lines = [json.dumps(_record(q, a)) for q, a in _QA]
    lines[1] = '{"schemaVersion": "' + SCHEMA_VERSION + '", "messages": [{"role": "user", "content": ['
    wrong = _record(*_QA[3])
    wrong["messages"].reverse()
    lines[3] = json.dumps(wrong)
    return ("\n".join(lines) + "\n").encode()


#: Expected problems in ``broken_dataset()``: (line, code).
BROKEN_LINES = {2: "json_invalid", 4: "role_order"}


def job_spec() -> bytes:
    return json.dumps(
        {"specVersion": "1", "technique": "fine-tuning", "baseModel": "nova-lite", "training": "train.jsonl"},
        indent=2,
    ).encode()


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class DemoResult:
    checks: list[Check] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # report URI → report
    runs: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, bytes] = field(default_factory=dict)  # snapshot URI → its bytes
    jobs: list[dict[str, Any]] = field(default_factory=list)  # Bedrock's job summaries (moto)
    dead_letters: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(what, ok, detail))


# -- reading what happened ----------------------------------------------------------------------------


def _data(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    data = detail.get("data") if isinstance(detail, dict) else None
    return data if isinstance(data, dict) else {}


def _trigger(event: dict[str, Any]) -> str:
    return str((_data(event).get("dataset") or {}).get("triggerUri", ""))


def _run_id(event: dict[str, Any]) -> str:
    return str(
        _data(event).get("runId") or ((event.get("detail") or {}).get("metadata") or {}).get("runId", "")
    )


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _issues(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a code and a message: the report's errors (wherever the report keeps them)."""
    if isinstance(node, dict):
        if "code" in node and "message" in node:
            yield node
            return
        for value in node.values():
            yield from _issues(value)
    elif isinstance(node, list):
        for item in node:
            yield from _issues(item)


def _report_errors(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_issues(report.get("errors", report)))


def _scan_runs(stack: LocalStack) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    table = stack.env_value("RUNS_TABLE")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    ddb = stack.client("dynamodb")
    while True:
        page = ddb.scan(**kwargs)
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def play_story(stack: LocalStack, *, timeout: float = 60.0) -> DemoResult:
    """Upload both datasets, run until idle, collect and check what happened (no output)."""
    result = DemoResult()
    for name, data in ((GOOD_NAME, good_dataset()), (BROKEN_NAME, broken_dataset())):
        stack.upload(f"datasets/{name}/train.jsonl", data, content_type="application/jsonl")
        stack.upload(f"datasets/{name}/job.json", job_spec(), content_type="application/json")
    idle = stack.run_until_idle(timeout=timeout)
    # The same job.json again, as a retried upload or a second `tailor submit` would: it must join
    # the run it duplicates, not start a second (paid) job.
    stack.upload(f"datasets/{GOOD_NAME}/job.json", job_spec(), content_type="application/json")
    again = stack.run_until_idle(timeout=timeout)
    result.errors = list(idle.errors) + list(again.errors)
    result.dead_letters = {
        k: idle.dead_lettered.get(k, 0) + again.dead_lettered.get(k, 0)
        for k in {*idle.dead_lettered, *again.dead_lettered}
    }
    result.events = stack.published_events(history=True)
    s3 = stack.client("s3")
    for event in result.events:
        uri = str(_data(event).get("reportUri", ""))
        if uri.startswith("s3://") and uri not in result.reports:
            bucket, key = _split_s3(uri)
            try:
                result.reports[uri] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except Exception as error:
                result.reports[uri] = {"_error": f"cannot read {uri}: {error}"}
    result.runs = _scan_runs(stack)
    result.jobs = _list_jobs(stack)
    result.snapshots = _read_snapshots(stack, result.events)
    _check(result)
    return result


def _list_jobs(stack: LocalStack) -> list[dict[str, Any]]:
    """Every customization job the stack's Bedrock (moto) holds: locally they never train."""
    paginator = stack.client("bedrock").get_paginator("list_model_customization_jobs")
    return [job for page in paginator.paginate() for job in page.get("modelCustomizationJobSummaries", [])]


def _read_snapshots(stack: LocalStack, events: list[dict[str, Any]]) -> dict[str, bytes]:
    """Snapshot URI → its bytes, for every DatasetValidated (to check them against the upload)."""
    found: dict[str, bytes] = {}
    s3 = stack.client("s3")
    for event in events:
        snapshot = ((_data(event).get("dataset") or {}).get("snapshot") or {}).get("training") or {}
        uri = str(snapshot.get("uri", ""))
        if uri.startswith("s3://"):
            bucket, key = _split_s3(uri)
            found[uri] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return found


def _check(result: DemoResult) -> None:
    def of(detail_type: str, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in result.events
            if e.get("detail-type") == detail_type and f"/datasets/{name}/" in _trigger(e)
        ]

    validated = of("DatasetValidated", GOOD_NAME)
    rejected = of("DatasetRejected", BROKEN_NAME)
    result.check(
        f"exactly one DatasetValidated for datasets/{GOOD_NAME}/",
        len(validated) == 1,
        f"got {len(validated)}",
    )
    result.check(
        f"exactly one DatasetRejected for datasets/{BROKEN_NAME}/",
        len(rejected) == 1,
        f"got {len(rejected)}",
    )
    good_run_id = _run_id(validated[0]) if validated else ""
    submitted = [
        e for e in result.events if e.get("detail-type") == "JobSubmitted" and _run_id(e) == good_run_id
    ]
    result.check(
        f"exactly one JobSubmitted for datasets/{GOOD_NAME}/, naming its Bedrock job",
        len(submitted) == 1 and bool(_data(submitted[0]).get("jobArn")),
        f"got {len(submitted)}",
    )
    job_arns = [str(j.get("jobArn")) for j in result.jobs]
    result.check(
        "exactly one Bedrock customization job, the good run's (created in moto: it never trains)",
        len(submitted) == 1 and job_arns == [str(_data(submitted[0]).get("jobArn"))],
        f"{len(job_arns)} job(s)",
    )
    others = [e for e in result.events if e not in validated + rejected + submitted]
    result.check(
        "no other event on the Tailor bus", not others, ", ".join(e.get("detail-type", "?") for e in others)
    )
    for label, events in (("good", validated), ("broken", rejected)):
        uri = str(_data(events[0]).get("reportUri", "")) if events else ""
        report = result.reports.get(uri, {})
        result.check(
            f"the {label} dataset's validation report is in the artifacts bucket",
            bool(uri) and bool(report) and "_error" not in report,
            _key(uri) or "no reportUri in the event",
        )
    if rejected:
        report = result.reports.get(str(_data(rejected[0]).get("reportUri", "")), {})
        found = {(e.get("line"), e.get("code")) for e in _report_errors(report) if e.get("file")}
        missing = [f"line {line}: {code}" for line, code in BROKEN_LINES.items() if (line, code) not in found]
        result.check(
            "the rejection report names each broken line (file, line, code)",
            not missing,
            "missing " + ", ".join(missing) if missing else ", ".join(f"line {n}" for n in BROKEN_LINES),
        )
    good_run = next((r for r in result.runs if validated and r.get("runId") == _run_id(validated[0])), {})
    result.check(
        "the identical re-upload joined the good run (no second run, no second job)",
        len(validated) == 1 and int(good_run.get("joinedUploads") or 0) == 1,
        f"joined uploads: {good_run.get('joinedUploads', 0)}",
    )
    snapshot = ((_data(validated[0]).get("dataset") or {}).get("snapshot") or {}) if validated else {}
    training = snapshot.get("training") or {}
    body = result.snapshots.get(str(training.get("uri", "")))
    result.check(
        "Bedrock is given a snapshot holding exactly the validated bytes",
        body == good_dataset() and training.get("sha256") == hashlib.sha256(good_dataset()).hexdigest(),
        _key(str(training.get("uri", "no snapshot in the event")))[:40] + "…",
    )
    statuses = {str(r.get("runId")): str(r.get("status")) for r in result.runs}
    for label, events, status in (("good", validated, "SUBMITTED"), ("broken", rejected, "REJECTED")):
        run_id = _run_id(events[0]) if events else ""
        result.check(
            f"the {label} run is recorded as {status}",
            statuses.get(run_id) == status,
            f"{run_id or '?'}: {statuses.get(run_id, 'not in the runs table')}",
        )
    dead = {k: v for k, v in result.dead_letters.items() if v}
    result.check("nothing dead-lettered", not dead, ", ".join(f"{k}={v}" for k, v in dead.items()))
    result.check(
        "no handler error", not result.errors, result.errors[-1].splitlines()[0] if result.errors else ""
    )


# -- telling it ---------------------------------------------------------------------------------------
#
# Written for an 80-column terminal: S3 locations are shown as keys (the buckets are named once, at
# the top), run ids never wrap (they are what `tailor status` takes), and only prose folds.


def _key(uri: str) -> str:
    """``s3://bucket/key`` → ``key`` (the demo names its two buckets once)."""
    return _split_s3(uri)[1] if uri.startswith("s3://") else uri


def _render_summary(console: Console, stack: LocalStack) -> None:
    summary = stack.describe(echo=False)
    console.print("[bold]What runs where[/] (`tailor local up --verbose` says how):")
    console.print("  [green]EMULATED[/]   " + ", ".join(p.name for p in summary.emulated))
    simulated = ", ".join(p.name for p in summary.simulated)
    console.print(
        "  [yellow]SIMULATED[/]  "
        + (simulated or "nothing yet (the Bedrock simulator comes in a later issue)")
    )
    if summary.not_available:
        console.print("  [red]NOT AVAILABLE LOCALLY[/]")
        for part in summary.not_available:
            console.print(f"    {part.name}: {part.how}")
    if summary.not_emulated:
        console.print("  [dim]NOT EMULATED[/] " + ", ".join(p.name for p in summary.not_emulated))
    if summary.skipped:
        console.print("[dim]skipped: " + "; ".join(summary.skipped) + "[/]")
    console.print(f"[dim]moto server {stack.endpoint_url}, started in {stack.startup_seconds:.2f} s[/]")
    console.print(f"data bucket      {stack.env_value('DATA_BUCKET')}", soft_wrap=True)
    console.print(f"artifacts bucket {stack.env_value('ARTIFACTS_BUCKET')}", soft_wrap=True)


def _render_events(console: Console, result: DemoResult) -> None:
    console.print("[bold]Events on the Tailor bus[/] (captured by the local observer):")
    for event in result.events:
        data = _data(event)
        if event.get("detail-type") == "DatasetValidated":
            records = data.get("records") or {}
            info = f"{records.get('training', '?')} records, ~{data.get('tokenEstimate', '?')} tokens"
            style = "green"
        elif event.get("detail-type") == "JobSubmitted":
            estimate = data.get("estimate") or {}
            usd = estimate.get("estimatedUsd")
            cost = f"~${float(usd):.2f}" if isinstance(usd, int | float) else "cost unknown"
            info = f"{data.get('technique', '?')} of {data.get('baseModelId', '?')}, {cost}"
            style = "green"
            console.print(f"  [{style}]{event.get('detail-type')}[/] from {event.get('source')}: {info}")
            console.print(f"    run     {_run_id(event)}", soft_wrap=True)
            console.print(f"    job     {data.get('jobName', '?')}", soft_wrap=True)
            console.print(f"    model   {data.get('customModelName', '?')}", soft_wrap=True)
            continue
        else:
            counts = data.get("errorCounts") or {}
            info = ", ".join(f"{code} x{n}" for code, n in counts.items()) or "-"
            style = "red"
        console.print(f"  [{style}]{event.get('detail-type')}[/] from {event.get('source')}: {info}")
        console.print(f"    run     {_run_id(event)}", soft_wrap=True)
        console.print(f"    dataset {_key(_trigger(event))}", soft_wrap=True)
        training = ((data.get("dataset") or {}).get("snapshot") or {}).get("training") or {}
        if training:  # a 64-hex key does not fit 80 columns: the digest's head and the prefix
            digest = str(training.get("sha256", ""))
            console.print(
                f"    bedrock trains on snapshots/sha256/{digest[:16]}… ({training.get('bytes')} bytes)"
            )


def _render_reports(console: Console, result: DemoResult) -> None:
    from rich import box
    from rich.table import Table

    for uri, report in result.reports.items():
        if "_error" in report:
            console.print(f"[red]{report['_error']}[/]", soft_wrap=True)
            continue
        verdict = "[green]valid[/]" if report.get("valid") else "[red]invalid[/]"
        console.print(f"[bold]Report[/] {verdict}, {report.get('records', '?')} record(s):")
        console.print(f"  {_key(uri)}", soft_wrap=True)
        errors = _report_errors(report)
        if not errors:
            continue
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("file", "line", "code"):
            table.add_column(column, no_wrap=True)
        table.add_column("message")  # prose: wraps between words
        for issue in errors:
            table.add_row(
                Path(str(issue.get("file") or "-")).name,
                str(issue.get("line") or "-"),
                str(issue.get("code")),
                str(issue.get("message")),
            )
        console.print(table)


def _render_jobs(console: Console, result: DemoResult) -> None:
    console.print("[bold]Bedrock customization jobs[/] (moto: created, never trained locally):")
    for job in result.jobs:
        console.print(
            f"  {job.get('jobName')}  {job.get('status')}  {job.get('customizationType')}", soft_wrap=True
        )
    if not result.jobs:
        console.print("  none")


def _render_runs(console: Console, result: DemoResult) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="Run records (runs table)", box=box.SIMPLE_HEAD)
    table.add_column("run id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("history")
    for run in sorted(result.runs, key=lambda r: str(r.get("createdAt", ""))):
        history = " → ".join(str(h.get("status")) for h in run.get("history") or [] if isinstance(h, dict))
        table.add_row(str(run.get("runId")), str(run.get("status")), history)
    console.print(table)


def run_demo(
    console: Console | None = None,
    *,
    template: str | Path | None = None,
    time_scale: float = 0.001,
    timeout: float = 60.0,
) -> DemoResult:
    """Tell the story on ``console`` (default: stdout) and return what happened."""
    from rich.console import Console
    from rich.rule import Rule

    from tailor.local.stack import LocalStack

    console = console or Console()
    console.print(Rule("[bold]Tailor local demo[/]"))
    console.print("1. Starting the embedded local stack from template.yaml …")
    with LocalStack(template, time_scale=time_scale) as stack:
        _render_summary(console, stack)
        console.print()
        console.print(
            f"2. Uploading a good dataset (datasets/{GOOD_NAME}/: {len(_QA)} conversation records) and a "
            f"broken one (datasets/{BROKEN_NAME}/: line 2 is not JSON, line 4 starts with the assistant); "
            "job.json goes last in each, it starts the run."
        )
        console.print(
            "3. The dispatcher plays Lambda until nothing is left to do; then the good job.json is "
            "uploaded again, unchanged …"
        )
        result = play_story(stack, timeout=timeout)
        joined = sum(int(r.get("joinedUploads") or 0) for r in result.runs)
        console.print(
            f"   {len(result.events)} event(s) published, {len(result.runs)} run(s) recorded, "
            f"{joined} identical upload(s) joined a run, {len(result.jobs)} Bedrock job(s) created, "
            f"{len(result.errors)} handler error(s)."
        )
        console.print()
        console.print("4. What happened:")
        _render_events(console, result)
        _render_reports(console, result)
        _render_jobs(console, result)
        _render_runs(console, result)
        if result.errors:
            console.print("[red]Handler errors:[/]")
            for error in result.errors:
                console.print(f"  {error.splitlines()[0]}")
    console.print()
    console.print("5. Checks:")
    for check in result.checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        detail = f" [dim]({check.detail})[/]" if check.detail else ""
        console.print(f"  {mark} {check.what}{detail}")
    if result.ok:
        console.print(
            "[bold green]The story happened.[/] To follow a job to completion, deployment and an "
            "answer, run `tailor local up` (its Bedrock is SIMULATED) and `tailor submit`, `tailor watch`."
        )
    else:
        console.print("[bold red]The story did not happen as told: see the failed checks above.[/]")
    return result
