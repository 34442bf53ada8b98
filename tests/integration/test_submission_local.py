"""The whole path through the embedded local stack, wired from template.yaml: upload → ingestion
→ DatasetValidated on the Tailor bus → SubmitRule → SubmitQueue → submission → one Bedrock job
(moto's Bedrock, with the local stack's AWS-like fixes) → JobSubmitted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def record(i: int, answer: bool = True) -> bytes:
    turns: list[dict[str, Any]] = [{"role": "user", "content": [{"text": f"Where is order {i}?"}]}]
    if answer:
        turns.append({"role": "assistant", "content": [{"text": f"Order {i} ships on Monday."}]})
    return orjson.dumps({"messages": turns})


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(time_scale=0.0001) as local:
        yield local


def events_of(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=60)
    return stack.published_events()


def upload(stack: LocalStack, name: str, spec: dict[str, Any], body: bytes) -> None:
    stack.upload(f"datasets/{name}/train.jsonl", body)
    stack.upload(f"datasets/{name}/job.json", orjson.dumps(spec))


def jobs(stack: LocalStack) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = stack.client("bedrock").list_model_customization_jobs()[
        "modelCustomizationJobSummaries"
    ]
    return listed


def test_an_upload_becomes_one_bedrock_job(stack: LocalStack) -> None:
    upload(
        stack,
        "orders",
        {"technique": "fine-tuning", "baseModel": "nova-lite"},
        b"\n".join(record(i) for i in range(12)) + b"\n",
    )
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated", "JobSubmitted"]
    validated, submitted = (e["detail"]["data"] for e in events)
    assert submitted["runId"] == validated["runId"] and submitted["estimate"]["trainingTokens"] > 0
    job = stack.client("bedrock").get_model_customization_job(jobIdentifier=submitted["jobName"])
    assert job["trainingDataConfig"]["s3Uri"] == validated["dataset"]["snapshot"]["training"]["uri"]
    item = stack.client("dynamodb").get_item(
        TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": validated["runId"]}}
    )["Item"]
    assert item["status"]["S"] == "SUBMITTED"
    assert item["facts"]["M"]["jobArn"]["S"] == submitted["jobArn"]

    # The same DatasetValidated delivered three more times (EventBridge at-least-once): one job.
    body = orjson.dumps(events[0]).decode()
    for _ in range(3):
        stack.client("sqs").send_message(QueueUrl=stack.queue("SubmitQueue").url, MessageBody=body)
    assert events_of(stack) == []
    assert sum(1 for j in jobs(stack) if j["jobName"] == submitted["jobName"]) == 1
    assert stack.dlq_messages("SubmitQueue") == []


def test_nova_cpt_is_refused_honestly_and_never_reaches_bedrock(stack: LocalStack) -> None:
    before = len(jobs(stack))
    corpus = b"\n".join(orjson.dumps({"text": f"Paragraph {i} on pumps."}) for i in range(40)) + b"\n"
    upload(stack, "pumps", {"technique": "continued-pre-training", "baseModel": "nova-lite"}, corpus)
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated", "JobSubmissionFailed"]
    failed = events[1]["detail"]["data"]
    assert failed["retryable"] is False and "SageMaker HyperPod" in failed["message"]
    assert len(jobs(stack)) == before
