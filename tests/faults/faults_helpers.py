"""Helpers for the fault tests (tests/faults): datasets, settling the stack, reading what it did, and
the two ways a fault test steers delivery — holding a queue back from its function and putting the
same message on a queue several times at once (a duplicate storm)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from tailor.local.stack import LocalStack

#: Every queue a Tailor function consumes, and EventBridge's shared target DLQ.
FUNCTION_QUEUES = ("IngestQueue", "SubmitQueue", "StatusQueue", "DeployQueue", "ExportQueue")
DEAD_LETTER_QUEUES = ("IngestDLQ", "SubmitDLQ", "StatusDLQ", "DeployDLQ", "ExportDLQ", "EventsTargetDLQ")


def data(n: int, topic: str = "order") -> bytes:
    def record(i: int) -> bytes:
        return orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": [{"text": f"Where is {topic} {i}?"}]},
                    {"role": "assistant", "content": [{"text": f"{topic.title()} {i} ships on Monday."}]},
                ]
            }
        )

    return b"\n".join(record(i) for i in range(n)) + b"\n"


def spec(**extra: Any) -> bytes:
    return orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite", **extra})


def upload_dataset(stack: LocalStack, name: str, **extra: Any) -> None:
    """``datasets/<name>/train.jsonl`` then ``job.json`` (the trigger, uploaded last)."""
    stack.upload(f"datasets/{name}/train.jsonl", data(12, name))
    stack.upload(f"datasets/{name}/job.json", spec(**extra))


def settle(stack: LocalStack, timeout: float = 90) -> list[dict[str, Any]]:
    """Dispatch until idle; the Tailor bus events published meanwhile."""
    stack.run_until_idle(timeout=timeout)
    return stack.published_events()


def of(events: list[dict[str, Any]], detail_type: str, run_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e["detail"]["data"]
        for e in events
        if e["detail-type"] == detail_type and run_id in (None, e["detail"]["data"].get("runId"))
    ]


def run_ids_of(stack: LocalStack, label: str) -> list[str]:
    """The runs whose id starts with ``<label>-`` (a run id is ``<slug(label)>-<hash>``)."""
    items = stack.client("dynamodb").scan(TableName=stack.env_value("RUNS_TABLE"))["Items"]
    return sorted(i["runId"]["S"] for i in items if i["runId"]["S"].startswith(f"{label}-"))


def run_item(stack: LocalStack, run_id: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.client("dynamodb").get_item(
        TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": run_id}}, ConsistentRead=True
    )["Item"]
    return item


def status_of(stack: LocalStack, run_id: str) -> str:
    return str(run_item(stack, run_id)["status"]["S"])


def history_of(stack: LocalStack, run_id: str) -> list[str]:
    """The statuses the run went through, in order (its recorded transition history)."""
    from tailor.adapters.runs import DynamoRunStore

    record = DynamoRunStore(stack.env_value("RUNS_TABLE")).get(run_id)
    assert record is not None
    return [str(entry.status.value) for entry in record.history]


def job_arn_of(stack: LocalStack, run_id: str) -> str:
    """The Bedrock job the run recorded (the simulator is steered job by job with it)."""
    return str(run_item(stack, run_id)["facts"]["M"]["jobArn"]["S"])


def jobs_of(stack: LocalStack, run_id: str) -> list[str]:
    """Every Bedrock customization job (any status) tagged with this run: what was paid for."""
    bedrock = stack.client("bedrock")
    arns: list[str] = []
    for page in bedrock.get_paginator("list_model_customization_jobs").paginate():
        for job in page.get("modelCustomizationJobSummaries", []):
            tags = bedrock.list_tags_for_resource(resourceARN=job["jobArn"]).get("tags", [])
            if {"key": "tailor-run-id", "value": run_id} in tags:
                arns.append(job["jobArn"])
    return arns


def deployments_of(stack: LocalStack, model_arn: str) -> list[str]:
    """Every SIMULATED on-demand deployment ever created for ``model_arn`` (deleted ones too)."""
    return [d.arn for d in stack.deployment_simulator.deployments.values() if d.model_arn == model_arn]


def exports_of(stack: LocalStack, **match: str) -> list[dict[str, Any]]:
    """Export records (not the per-name sequence counters) whose fields equal ``match``."""
    items = stack.client("dynamodb").scan(TableName=stack.env_value("EXPORTS_TABLE"))["Items"]
    plain = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
    return [
        p
        for p in plain
        if not str(p["exportId"]).startswith("#") and all(p.get(k) == v for k, v in match.items())
    ]


def iot_jobs(stack: LocalStack) -> list[str]:
    iot = stack.client("iot")
    return [j["jobId"] for j in iot.list_jobs(maxResults=250).get("jobs", [])]


def dead_letters(stack: LocalStack) -> dict[str, int]:
    """How many messages sit in each of the stack's dead-letter queues (all zero is the goal)."""
    return {dlq: len(stack.dlq_messages(dlq)) for dlq in DEAD_LETTER_QUEUES}


NO_DEAD_LETTERS = dict.fromkeys(DEAD_LETTER_QUEUES, 0)


@contextlib.contextmanager
def held_back(stack: LocalStack, *queue_ids: str) -> Iterator[None]:
    """While inside, the dispatcher does not consume ``queue_ids`` (their messages stay queued and
    do not keep ``run_until_idle`` busy): a test takes them, then delivers them its own way."""
    dispatcher = stack.dispatcher
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dispatcher, "sources", [s for s in dispatcher.sources if s.queue_id not in queue_ids])
        yield


def take(stack: LocalStack, queue_id: str) -> list[str]:
    """Receive and delete every message on ``queue_id`` (held back first): their bodies."""
    sqs = stack.client("sqs")
    url = stack.queue(queue_id).url
    bodies: list[str] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
        if not batch:
            return bodies
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def storm(stack: LocalStack, queue_id: str, bodies: list[str], copies: int = 3) -> None:
    """Every body put on ``queue_id`` ``copies`` times at once: ``copies`` threads released together
    by a barrier, each sending the same messages (as EventBridge's at-least-once delivery may)."""
    sqs = stack.client("sqs")
    url = stack.queue(queue_id).url
    start = threading.Barrier(copies)

    def send(_: int) -> None:
        start.wait(timeout=10)
        for body in bodies:
            sqs.send_message(QueueUrl=url, MessageBody=body)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        list(pool.map(send, range(copies)))


def records_handled(stack: LocalStack, function_id: str) -> int:
    """How many records the dispatcher has handed ``function_id`` so far (failed ones included)."""
    return stack.dispatcher.stats[function_id].records


def body_of(detail_type: str, bodies: list[str]) -> list[str]:
    return [b for b in bodies if orjson.loads(b).get("detail-type") == detail_type]
