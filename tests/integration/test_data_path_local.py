"""The data path's guarantees through the embedded local stack (real S3 versions in moto, the
template's wiring): exact versions, snapshots, content identity, deleted and phantom uploads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": f"Where is parcel {i}?"}]},
                {"role": "assistant", "content": [{"text": f"Parcel {i} is at the depot."}]},
            ]
        }
    )


GOOD = b"\n".join(record(i) for i in range(12)) + b"\n"


def spec(**extra: object) -> bytes:
    return orjson.dumps({"specVersion": "1", "technique": "fine-tuning", "baseModel": "nova-lite", **extra})


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Ingestion alone: these tests count what ingestion publishes (submission has its own tests).
    with LocalStack(time_scale=0.0001, functions=["IngestionFunction"]) as local:
        yield local


@pytest.fixture(autouse=True)
def _drain(stack: LocalStack) -> None:
    stack.run_until_idle(timeout=30)
    stack.published_events()


def events_of(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=30)
    return stack.published_events()


def put(stack: LocalStack, key: str, body: bytes) -> dict[str, Any]:
    response: dict[str, Any] = stack.client("s3").put_object(
        Bucket=stack.env_value("DATA_BUCKET"), Key=key, Body=body
    )
    return response


def redeliver(stack: LocalStack, key: str, version_id: str, etag: str = "") -> None:
    event = {
        "version": "0",
        "id": "b7c0c6c4-0000-4000-8000-000000000002",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-12-01T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "bucket": {"name": stack.env_value("DATA_BUCKET")},
            "object": {"key": key, "version-id": version_id, "etag": etag},
        },
    }
    stack.client("sqs").send_message(
        QueueUrl=stack.queue("IngestQueue").url, MessageBody=orjson.dumps(event).decode()
    )


def runs_with_prefix(stack: LocalStack, prefix: str) -> list[dict[str, Any]]:
    items = stack.client("dynamodb").scan(TableName=stack.env_value("RUNS_TABLE"))["Items"]
    return [i for i in items if i["runId"]["S"].startswith(prefix)]


def test_a_redelivered_v1_event_validates_v1_not_the_newest(stack: LocalStack) -> None:
    put(stack, "datasets/mixed/train.jsonl", GOOD)
    v1 = put(stack, "datasets/mixed/job.json", spec(hyperParameters={"epochCount": 1}))
    put(stack, "datasets/mixed/job.json", spec(hyperParameters={"epochCount": 3}))
    first = events_of(stack)
    assert sorted(e["detail"]["data"]["spec"]["hyperParameters"]["epochCount"] for e in first) == [1, 3]
    redeliver(stack, "datasets/mixed/job.json", v1["VersionId"], v1["ETag"].strip('"'))
    assert events_of(stack) == []  # v1's run exists: a replay, no third run
    assert len(runs_with_prefix(stack, "mixed-")) == 2


def test_bedrock_is_given_a_snapshot_of_the_bytes_that_were_validated(stack: LocalStack) -> None:
    bucket = stack.env_value("DATA_BUCKET")
    put(stack, "datasets/snap/train.jsonl", GOOD)
    put(stack, "datasets/snap/job.json", spec())
    (validated,) = events_of(stack)
    snapshot = validated["detail"]["data"]["dataset"]["snapshot"]["training"]
    sha = hashlib.sha256(GOOD).hexdigest()
    assert snapshot == {
        "uri": f"s3://{bucket}/snapshots/sha256/{sha}.jsonl",
        "sha256": sha,
        "bytes": len(GOOD),
    }
    put(stack, "datasets/snap/train.jsonl", b'{"text": "re-uploaded after validation"}\n')
    body = stack.client("s3").get_object(Bucket=bucket, Key=f"snapshots/sha256/{sha}.jsonl")["Body"].read()
    assert body == GOOD


def test_the_same_bytes_uploaded_three_times_are_one_run(stack: LocalStack) -> None:
    put(stack, "datasets/thrice/train.jsonl", GOOD)
    for _ in range(3):
        put(stack, "datasets/thrice/job.json", spec())
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]
    (run,) = runs_with_prefix(stack, "thrice-")
    assert run["joinedUploads"]["N"] == "2"


def test_an_upload_deleted_right_after_it_was_made_gets_its_outcome(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    bucket = stack.env_value("DATA_BUCKET")
    put(stack, "datasets/gone/train.jsonl", GOOD)
    # Deleted before the dispatcher runs: the version still exists behind the delete marker.
    put(stack, "datasets/gone/job.json", spec())
    s3.delete_object(Bucket=bucket, Key="datasets/gone/job.json")
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]


def test_an_event_for_an_object_that_never_existed_is_rejected_with_a_report(stack: LocalStack) -> None:
    redeliver(stack, "datasets/phantom/job.json", "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
    events = events_of(stack)
    assert [e["detail-type"] for e in events] == ["DatasetRejected"]
    assert events[0]["detail"]["data"]["errorCounts"] == {"file_missing": 1}
    assert stack.dlq_messages("IngestQueue") == [] or all(
        "phantom" not in m["body"] for m in stack.dlq_messages("IngestQueue")
    )


def test_a_transient_s3_error_is_retried_through_the_queue_not_a_rejection(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from tailor.adapters.object_store import S3ObjectStore

    real = S3ObjectStore.iter_chunks
    faults = {"left": 2}

    def flaky(self: S3ObjectStore, bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith("slow/train.jsonl") and faults["left"]:
            faults["left"] -= 1
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce"}}, "GetObject")
        return real(self, bucket, key, *args, **kwargs)

    monkeypatch.setattr(S3ObjectStore, "iter_chunks", flaky)
    put(stack, "datasets/slow/train.jsonl", GOOD)
    put(stack, "datasets/slow/job.json", spec())
    events = events_of(stack)  # two failed receives, then the third one succeeds
    assert faults["left"] == 0
    assert [e["detail-type"] for e in events] == ["DatasetValidated"]
    assert all("slow" not in m["body"] for m in stack.dlq_messages("IngestQueue"))
