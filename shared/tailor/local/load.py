"""A load run on the embedded stack: N dataset uploads (mixed techniques and models) while the
SIMULATED Bedrock enforces a concurrent-job quota, followed until every job ended.

What it proves: exactly N runs and N Bedrock jobs (no duplicate, nothing lost), every DLQ empty,
every job ended, submission waited for the quota instead of failing. What it measures: throughput
and p50/p95 from upload to ``JobSubmitted`` and to ``JobCompleted``, split by stage. Used by
``benchmarks/load.py`` (1,000 runs) and by a reduced CI test.

Latencies are observed by polling the local observer from this thread while ``LocalStack.serve``
dispatches in another, so they carry up to one ``poll_seconds`` of sampling error.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

# (technique, model, teacher) mixed round-robin; every one runs on Bedrock.
MIX = (
    ("fine-tuning", "nova-lite", None),
    ("fine-tuning", "nova-micro", None),
    ("fine-tuning", "nova-pro", None),
    ("distillation", "nova-lite", "nova-premier"),
)
RECORDS = 8  # Nova's minimum for fine-tuning: the smallest valid dataset


@dataclass
class LoadResult:
    runs: int
    uploads: int
    jobs: int
    duplicate_jobs: int
    completed: int
    submission_failed: int
    dead_letters: dict[str, int]
    handler_errors: int
    held_for_quota: int
    seconds: float
    to_submitted: list[float] = field(default_factory=list)
    to_completed: list[float] = field(default_factory=list)
    to_validated: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.runs == self.uploads == self.jobs == self.completed
            and self.duplicate_jobs == 0
            and self.submission_failed == 0
            and not any(self.dead_letters.values())
            and self.handler_errors == 0
        )

    def report(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float | None:
            if not values:
                return None
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

        return {
            "ok": self.ok,
            "uploads": self.uploads,
            "runs": self.runs,
            "bedrockJobs": self.jobs,
            "duplicateJobs": self.duplicate_jobs,
            "completed": self.completed,
            "submissionFailed": self.submission_failed,
            "deadLetters": self.dead_letters,
            "handlerErrors": self.handler_errors,
            "heldForQuota": self.held_for_quota,
            "seconds": round(self.seconds, 1),
            "runsPerSecond": round(self.completed / self.seconds, 2) if self.seconds else None,
            "uploadToValidated": {"p50": pct(self.to_validated, 0.5), "p95": pct(self.to_validated, 0.95)},
            "uploadToSubmitted": {"p50": pct(self.to_submitted, 0.5), "p95": pct(self.to_submitted, 0.95)},
            "uploadToCompleted": {"p50": pct(self.to_completed, 0.5), "p95": pct(self.to_completed, 0.95)},
            "meanSecondsSubmittedToCompleted": round(
                statistics.fmean(c - s for c, s in zip(self.to_completed, self.to_submitted, strict=False)), 2
            )
            if self.to_completed and self.to_submitted
            else None,
        }


def dataset(index: int) -> tuple[str, bytes, bytes]:
    """(name, train.jsonl, job.json) for upload ``index``: distinct content, so no two runs join."""
    technique, model, teacher = MIX[index % len(MIX)]
    lines = []
    for i in range(RECORDS):
        turns = [
            {"role": "user", "content": [{"text": f"Ticket {index}-{i}: where is order {index * 31 + i}?"}]}
        ]
        if technique == "fine-tuning":
            turns.append({"role": "assistant", "content": [{"text": f"Order {index * 31 + i} ships today."}]})
        lines.append(orjson.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": turns}))
    spec: dict[str, Any] = {"technique": technique, "baseModel": model, "training": "train.jsonl"}
    if teacher:
        spec["teacherModel"] = teacher
    return f"load-{index:05d}", b"\n".join(lines) + b"\n", orjson.dumps(spec)


def _scan(stack: Any, table: str) -> Iterator[dict[str, Any]]:
    paginator = stack.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(
        TableName=table, ProjectionExpression="runId, #s", ExpressionAttributeNames={"#s": "status"}
    ):
        yield from page.get("Items", [])


def run_load(
    uploads: int,
    *,
    job_quota: int = 20,
    job_seconds: float = 0.5,
    timeout: float = 900.0,
    poll_seconds: float = 0.1,
    concurrent: bool = False,
) -> LoadResult:
    """``concurrent``: the dispatcher's concurrent mode (a poller per queue, handlers in worker
    processes) instead of one in-process batch at a time."""
    from tailor.local.bedrock_sim import SimulatorConfig
    from tailor.local.stack import LocalStack

    observed: dict[str, dict[str, float]] = {}  # dataset name → detail-type → first seen (monotonic)
    run_names: dict[str, str] = {}
    uploaded: dict[str, float] = {}
    with LocalStack(
        # The submission service counts against the same quota the simulator enforces.
        parameter_values={"CustomizationJobQuota": job_quota},
        time_scale=0.0001,
        simulate_bedrock=SimulatorConfig.exact(job_quota=job_quota, job_seconds=job_seconds),
        enforce_timeouts=False,
        concurrent=concurrent,
    ) as stack:
        stop = threading.Event()
        server = threading.Thread(target=stack.serve, args=(stop,), kwargs={"schedules": False}, daemon=True)
        started = time.monotonic()
        server.start()
        try:
            for index in range(uploads):
                name, data, spec = dataset(index)
                stack.upload(f"datasets/{name}/train.jsonl", data)
                stack.upload(f"datasets/{name}/job.json", spec)
                uploaded[name] = time.monotonic()
            deadline = started + timeout
            done = 0
            while done < uploads and time.monotonic() < deadline:
                now = time.monotonic()
                for event in stack.published_events():
                    data = event.get("detail", {}).get("data", {})
                    run_id = str(data.get("runId", ""))
                    trigger = str((data.get("dataset") or {}).get("triggerUri", ""))
                    if trigger:
                        run_names.setdefault(run_id, trigger.split("/datasets/", 1)[-1].split("/", 1)[0])
                    if run_id not in run_names:
                        continue
                    name = run_names[run_id]
                    kind = str(event.get("detail-type"))
                    observed.setdefault(name, {}).setdefault(kind, now)
                    if kind in {"JobCompleted", "JobSubmissionFailed", "DatasetRejected", "JobFailed"}:
                        done += 1
                time.sleep(poll_seconds)
            seconds = time.monotonic() - started
        finally:
            stop.set()
            server.join(timeout=60)
        statuses = [
            next(iter(item["status"].values())) for item in _scan(stack, stack.env_value("RUNS_TABLE"))
        ]
        paginator = stack.client("bedrock").get_paginator("list_model_customization_jobs")
        jobs = [j for page in paginator.paginate() for j in page.get("modelCustomizationJobSummaries", [])]
        names = [j["jobName"] for j in jobs]
        dead = {
            queue: len(stack.dlq_messages(queue))
            for queue in ("IngestQueue", "SubmitQueue", "StatusQueue", "DeployQueue", "ExportQueue")
        }
        errors = len(stack.dispatcher.errors)
        held = stack.dispatcher.holds_seen  # messages a handler kept on its queue (the job quota)
    to: dict[str, list[float]] = {kind: [] for kind in ("DatasetValidated", "JobSubmitted", "JobCompleted")}
    for dataset_name, kinds in observed.items():
        for kind in to:
            if kind in kinds:
                to[kind].append(kinds[kind] - uploaded[dataset_name])
    return LoadResult(
        runs=len(statuses),
        uploads=uploads,
        jobs=len(jobs),
        duplicate_jobs=len(names) - len(set(names)),
        completed=sum(1 for s in statuses if s == "COMPLETED"),
        submission_failed=sum(1 for s in statuses if s == "SUBMISSION_FAILED"),
        dead_letters=dead,
        handler_errors=int(errors),
        held_for_quota=held,
        seconds=seconds,
        to_validated=to["DatasetValidated"],
        to_submitted=to["JobSubmitted"],
        to_completed=to["JobCompleted"],
    )
