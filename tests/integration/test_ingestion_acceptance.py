"""Acceptance of the ingestion slice, through the embedded local stack built from template.yaml:
S3 upload → EventBridge rule → IngestQueue → ingestion handler → report, run, Tailor bus event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest

from tailor.events.parse import parse_event
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "You answer billing questions."}],
            "messages": [
                {"role": "user", "content": [{"text": f"Why was I charged twice in month {i}?"}]},
                {"role": "assistant", "content": [{"text": f"The second charge in month {i} is a hold."}]},
            ],
        }
    )


GOOD = b"\n".join(record(i) for i in range(12)) + b"\n"
SPEC = orjson.dumps({"specVersion": "1", "technique": "fine-tuning", "baseModel": "nova-lite"})


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Visibility timeouts x 0.0001 (5400 s → 0.54 s, rounded up to SQS's whole second): a redrive
    # after 5 receives takes ~5 s.
    # Ingestion alone: these tests count what ingestion publishes (submission has its own tests).
    with LocalStack(time_scale=0.0001, functions=["IngestionFunction"]) as local:
        yield local


@pytest.fixture(autouse=True)
def _drain(stack: LocalStack) -> None:
    stack.run_until_idle(timeout=30)
    stack.published_events()  # forget what earlier tests published


def events_of(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=30)
    return stack.published_events()


def run_item(stack: LocalStack, run_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        stack.client("dynamodb")
        .get_item(TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": run_id}})
        .get("Item")
    )
    return item


def send_s3_event(stack: LocalStack, **s3_object: Any) -> None:
    """Put an S3 "Object Created" event straight on IngestQueue, as EventBridge would deliver it."""
    event = {
        "version": "0",
        "id": "b7c0c6c4-0000-4000-8000-000000000001",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-29T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"bucket": {"name": stack.env_value("DATA_BUCKET")}, "object": s3_object},
    }
    stack.client("sqs").send_message(
        QueueUrl=stack.queue("IngestQueue").url, MessageBody=orjson.dumps(event).decode()
    )


def report_of(stack: LocalStack, uri: str) -> dict[str, Any]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    loaded: dict[str, Any] = orjson.loads(
        stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    )
    return loaded


def test_valid_upload_yields_exactly_one_dataset_validated(stack: LocalStack) -> None:
    stack.upload("datasets/billing/train.jsonl", GOOD)
    stack.upload("datasets/billing/job.json", SPEC)
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]
    event = parse_event(events[0])
    assert event.source == "tailor.ingestion"
    data = event.detail.data
    assert data.records.training == 12
    assert data.base_model_id == "amazon.nova-lite-v1:0:300k"
    assert report_of(stack, data.report_uri)["valid"] is True
    item = run_item(stack, data.run_id)
    assert item is not None and item["status"]["S"] == "VALIDATED"
    assert item["activeFlag"]["S"] == "1"  # waiting for submission: still in the reconciler's index


def test_broken_dataset_yields_rejected_with_file_and_line(stack: LocalStack) -> None:
    lines = GOOD.splitlines()
    lines[4] = b'{"schemaVersion": "bedrock-conversation-2024", "messages": [}'
    lines[7] = orjson.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "messages": [
                {"role": "assistant", "content": [{"text": "I speak first"}]},
                {"role": "user", "content": [{"text": "that is wrong"}]},
            ],
        }
    )
    stack.upload("datasets/broken/train.jsonl", b"\n".join(lines) + b"\n")
    stack.upload("datasets/broken/job.json", SPEC)
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetRejected"]
    data = parse_event(events[0]).detail.data
    located = {(e.file, e.line, e.code) for e in data.errors}
    train_uri = f"s3://{stack.env_value('DATA_BUCKET')}/datasets/broken/train.jsonl"
    assert (train_uri, 5, "json_invalid") in located
    assert (train_uri, 8, "role_order") in located
    report = report_of(stack, data.report_uri)
    assert report["valid"] is False and report["error_counts"]["json_invalid"] == 1
    item = run_item(stack, data.run_id)
    assert item is not None and item["status"]["S"] == "REJECTED" and "activeFlag" not in item


def test_same_s3_event_three_times_yields_one_run_and_one_event(stack: LocalStack) -> None:
    stack.upload("datasets/replay/train.jsonl", GOOD)
    stack.upload("datasets/replay/job.json", SPEC)
    first = events_of(stack)
    assert [e["detail-type"] for e in first] == ["DatasetValidated"]
    run_id = first[0]["detail"]["data"]["runId"]

    # Redeliver the very same S3 event twice more, as EventBridge at-least-once delivery may.
    head = stack.client("s3").head_object(
        Bucket=stack.env_value("DATA_BUCKET"), Key="datasets/replay/job.json"
    )
    for _ in range(2):
        send_s3_event(
            stack,
            key="datasets/replay/job.json",
            etag=head["ETag"].strip('"'),
            size=head["ContentLength"],
            **{"version-id": head.get("VersionId")},
        )
    assert events_of(stack) == []
    runs = stack.client("dynamodb").scan(TableName=stack.env_value("RUNS_TABLE"))["Items"]
    assert sum(1 for r in runs if r["runId"]["S"] == run_id) == 1
    assert sum(1 for r in runs if r["runId"]["S"].startswith("replay-")) == 1


def test_bad_job_json_is_a_clear_rejection(stack: LocalStack) -> None:
    stack.upload("datasets/notjson/train.jsonl", GOOD)
    stack.upload("datasets/notjson/job.json", b'{"technique": "fine-tuning",\n "baseModel": nova-lite}')
    stack.upload("datasets/unknown/train.jsonl", GOOD)
    stack.upload("datasets/unknown/job.json", b'{"technique": "fine-tuning", "baseModel": "nova-ultra"}')
    events = {e["detail"]["data"]["dataset"]["triggerUri"].split("/")[-2]: e for e in events_of(stack)}
    assert set(events) == {"notjson", "unknown"}
    not_json = events["notjson"]["detail"]["data"]["errors"][0]
    assert (not_json["code"], not_json["line"]) == ("spec_invalid", 2)
    unknown = events["unknown"]["detail"]["data"]["errors"][0]
    assert unknown["code"] == "unsupported_model" and "nova-lite" in unknown["message"]


def test_malformed_message_is_a_failed_item_not_a_crashed_batch(stack: LocalStack) -> None:
    queue_url = stack.queue("IngestQueue").url
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=queue_url, MessageBody="this is not an event")
    stack.upload("datasets/alongside/train.jsonl", GOOD)
    stack.upload("datasets/alongside/job.json", SPEC)
    events = events_of(stack)
    # The good upload in the same batch went through; the poison message went to the DLQ.
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]
    dead = [m["body"] for m in stack.dlq_messages("IngestQueue")]
    assert "this is not an event" in dead


def test_upload_under_an_unrelated_prefix_is_not_routed(stack: LocalStack) -> None:
    before = len(stack.dlq_messages("IngestQueue"))
    stack.upload("exports/data.jsonl", GOOD)
    stack.upload("datasets/x/notes.txt", b"hello")
    assert events_of(stack) == []
    assert len(stack.dlq_messages("IngestQueue")) == before


def test_unrelated_key_that_reaches_the_queue_goes_to_the_dlq(stack: LocalStack) -> None:
    """A mis-wired rule must not make uploads vanish silently: the item fails and is redriven."""
    stack.upload("exports/x.csv", b"a,b")
    send_s3_event(stack, key="exports/x.csv")
    assert events_of(stack) == []
    assert any("exports/x.csv" in m["body"] for m in stack.dlq_messages("IngestQueue"))


def test_misplaced_upload_is_rejected_with_a_report(stack: LocalStack) -> None:
    stack.upload("datasets/team/sub/job.json", SPEC)
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetRejected"]
    assert events[0]["detail"]["data"]["errors"][0]["code"] == "not_a_trigger"


def test_inbox_drop(stack: LocalStack) -> None:
    stack.upload("inbox/fine-tuning/nova-micro/faq.jsonl", GOOD)
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]
    assert events[0]["detail"]["data"]["baseModelId"] == "amazon.nova-micro-v1:0:128k"


def test_boto3_default_client_reaches_the_stack(stack: LocalStack) -> None:
    # The handler's adapters build clients from the environment the stack sets: same moto server.
    assert boto3.client("s3").list_buckets()["Buckets"]
