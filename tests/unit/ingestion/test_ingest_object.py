"""ingest_object with in-memory adapters: outcomes, replay safety, clear rejections."""

from __future__ import annotations

import orjson
import pytest

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.ingestion import IngestionDeps, IngestOutcome, UnrelatedObjectError, classify_key, ingest_object
from tailor.ingestion.triggers import InboxTrigger, MisplacedTrigger, SpecTrigger
from tailor.jobs.state import RunStatus

DATA = "data-bucket"
ARTIFACTS = "artifacts-bucket"


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "You are a support assistant."}],
            "messages": [
                {"role": "user", "content": [{"text": f"How do I reset password number {i}?"}]},
                {"role": "assistant", "content": [{"text": f"Open settings and choose reset ({i})."}]},
            ],
        }
    )


GOOD = b"\n".join(record(i) for i in range(10)) + b"\n"
SPEC = orjson.dumps({"specVersion": "1", "technique": "fine-tuning", "baseModel": "nova-lite"})


@pytest.fixture
def deps() -> IngestionDeps:
    return IngestionDeps(
        objects=InMemoryObjectStore(),
        runs=InMemoryRunStore(),
        bus=InMemoryPublisher(),
        artifacts_bucket=ARTIFACTS,
    )


def upload(deps: IngestionDeps, key: str, body: bytes) -> S3ObjectCreatedDetail:
    info = deps.objects.put_bytes(DATA, key, body)
    return S3ObjectCreatedDetail(
        bucket=S3Bucket(name=DATA),
        object=S3Object(key=key, size=info.size, etag=info.etag, **{"version-id": info.version_id}),
    )


def published(deps: IngestionDeps) -> list[str]:
    assert isinstance(deps.bus, InMemoryPublisher)
    return [e["DetailType"] for e in deps.bus.entries]


def report(deps: IngestionDeps, run_id: str) -> dict[str, object]:
    loaded: dict[str, object] = orjson.loads(
        deps.objects.get_bytes(ARTIFACTS, f"reports/{run_id}/validation.json")
    )
    return loaded


def test_classify_keys() -> None:
    assert classify_key("datasets/x/job.json") == SpecTrigger("x")
    assert classify_key("inbox/fine-tuning/nova-lite/a.jsonl") == InboxTrigger(
        "fine-tuning", "nova-lite", "a.jsonl"
    )
    assert isinstance(classify_key("datasets/a/b/job.json"), MisplacedTrigger)
    assert isinstance(classify_key("inbox/a.jsonl"), MisplacedTrigger)
    with pytest.raises(UnrelatedObjectError, match="not under datasets/ or inbox/"):
        classify_key("other/file.csv")


def test_valid_dataset_is_validated_once(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    event = upload(deps, "datasets/x/job.json", SPEC)
    result = ingest_object(event, deps)
    assert result.outcome is IngestOutcome.VALIDATED
    assert published(deps) == ["DatasetValidated"]
    assert report(deps, result.run_id or "")["valid"] is True
    run = deps.runs.get(result.run_id or "")
    assert run is not None and run.status is RunStatus.VALIDATED
    assert run.attributes["reportUri"] == result.report_uri

    # The same event twice more: same run, no second event.
    for _ in range(2):
        again = ingest_object(event, deps)
        assert again.run_id == result.run_id and again.outcome is IngestOutcome.ALREADY_DONE
    assert published(deps) == ["DatasetValidated"]
    data = deps.bus.details("DatasetValidated")[0]["data"]  # type: ignore[attr-defined]
    assert data["records"] == {"training": 10, "validation": 0}
    assert data["baseModelId"] == "amazon.nova-lite-v1:0:300k"


def test_publish_failure_then_replay_publishes_exactly_once(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    event = upload(deps, "datasets/x/job.json", SPEC)
    assert isinstance(deps.bus, InMemoryPublisher)
    deps.bus.fail_next = 1
    with pytest.raises(RuntimeError, match="not published"):
        ingest_object(event, deps)
    assert published(deps) == []
    result = ingest_object(event, deps)  # the redelivery finishes the half-done run
    assert result.outcome is IngestOutcome.VALIDATED
    assert published(deps) == ["DatasetValidated"]


def test_broken_dataset_rejected_with_file_and_line(deps: IngestionDeps) -> None:
    lines = GOOD.splitlines()
    lines[2] = b'{"schemaVersion": "bedrock-conversation-2024", "messages": ['
    upload(deps, "datasets/bad/train.jsonl", b"\n".join(lines) + b"\n")
    result = ingest_object(upload(deps, "datasets/bad/job.json", SPEC), deps)
    assert result.outcome is IngestOutcome.REJECTED
    assert published(deps) == ["DatasetRejected"]
    data = deps.bus.details("DatasetRejected")[0]["data"]  # type: ignore[attr-defined]
    first = data["errors"][0]
    assert first["code"] == "json_invalid"
    assert first["line"] == 3
    assert first["file"] == f"s3://{DATA}/datasets/bad/train.jsonl"
    assert data["reportUri"].endswith("/validation.json")
    run = deps.runs.get(result.run_id or "")
    assert run is not None and run.status is RunStatus.REJECTED


@pytest.mark.parametrize(
    ("spec", "code", "needle"),
    [
        (b"{not json", "spec_invalid", "not valid JSON"),
        (b"[1, 2]", "spec_invalid", "JSON object"),
        (b'{"technique": "fine-tuning", "baseModel": "nova-lyte"}', "unsupported_model", "nova-lyte"),
        (
            b'{"technique": "fine-tuning", "baseModel": "nova-lite", "epochs": 3}',
            "spec_invalid",
            "unknown field",
        ),
        (
            b'{"technique": "fine-tuning", "baseModel": "nova-lite", "hyperParameters": {"epochCount": 9}}',
            "spec_invalid",
            "out of range",
        ),
    ],
)
def test_bad_spec_is_a_clear_rejection(deps: IngestionDeps, spec: bytes, code: str, needle: str) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    result = ingest_object(upload(deps, "datasets/x/job.json", spec), deps)
    assert result.outcome is IngestOutcome.REJECTED
    error = deps.bus.details("DatasetRejected")[0]["data"]["errors"][0]  # type: ignore[attr-defined]
    assert error["code"] == code
    assert needle in error["message"]
    assert error["file"] == f"s3://{DATA}/datasets/x/job.json"
    assert error["hint"]


def test_missing_training_file(deps: IngestionDeps) -> None:
    result = ingest_object(upload(deps, "datasets/x/job.json", SPEC), deps)
    assert result.outcome is IngestOutcome.REJECTED
    error = deps.bus.details("DatasetRejected")[0]["data"]["errors"][0]  # type: ignore[attr-defined]
    assert error["code"] == "file_missing"
    assert "before job.json" in error["hint"]


def test_inbox_drop_uses_catalog_defaults(deps: IngestionDeps) -> None:
    result = ingest_object(upload(deps, "inbox/fine-tuning/nova-micro/support.jsonl", GOOD), deps)
    assert result.outcome is IngestOutcome.VALIDATED
    data = deps.bus.details("DatasetValidated")[0]["data"]  # type: ignore[attr-defined]
    assert data["baseModelId"] == "amazon.nova-micro-v1:0:128k"
    assert data["spec"]["technique"] == "fine-tuning"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("inbox/fine-tunning/nova-lite/a.jsonl", "unsupported_technique"),
        ("inbox/fine-tuning/gpt-9/a.jsonl", "unsupported_model"),
        ("datasets/a/b/job.json", "not_a_trigger"),
        ("datasets/my data/job.json", "key_invalid"),
        ("datasets/q=1/job.json", "key_invalid"),
        ("inbox/fine-tuning/nova-lite/my file.jsonl", "key_invalid"),  # was spec_invalid (defect 9)
    ],
)
def test_misplaced_uploads_are_rejected_with_a_report(deps: IngestionDeps, key: str, code: str) -> None:
    result = ingest_object(upload(deps, key, GOOD), deps)
    assert result.outcome is IngestOutcome.REJECTED
    error = deps.bus.details("DatasetRejected")[0]["data"]["errors"][0]  # type: ignore[attr-defined]
    assert error["code"] == code


def test_unrelated_prefix_raises_for_the_dlq(deps: IngestionDeps) -> None:
    with pytest.raises(UnrelatedObjectError):
        ingest_object(upload(deps, "logs/x.jsonl", GOOD), deps)
    assert published(deps) == []


def test_an_event_for_a_missing_object_still_gets_an_outcome(deps: IngestionDeps) -> None:
    event = S3ObjectCreatedDetail(bucket=S3Bucket(name=DATA), object=S3Object(key="datasets/x/job.json"))
    assert ingest_object(event, deps).outcome is IngestOutcome.OBJECT_GONE
    assert published(deps) == ["DatasetRejected"]  # was: dropped with a log line (defect 5)


def test_an_identical_new_object_version_joins_the_run(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    first = ingest_object(upload(deps, "datasets/x/job.json", SPEC), deps)
    second = ingest_object(upload(deps, "datasets/x/job.json", SPEC), deps)
    assert second.outcome is IngestOutcome.JOINED and first.run_id == second.run_id
    assert published(deps) == ["DatasetValidated"]  # was: two runs, two jobs (defect 3)


def test_unversioned_bucket_reads_by_etag(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    runs = set()
    for epochs in (1, 2):  # different specs, same "null" version id
        body = orjson.dumps({**orjson.loads(SPEC), "hyperParameters": {"epochCount": epochs}})
        info = deps.objects.put_bytes(DATA, "datasets/x/job.json", body)
        event = S3ObjectCreatedDetail(
            bucket=S3Bucket(name=DATA),
            object=S3Object(key="datasets/x/job.json", etag=info.etag, **{"version-id": "null"}),
        )
        runs.add(ingest_object(event, deps).run_id)
    assert len(runs) == 2


def test_nova_cpt_corpus_is_validated_and_the_report_says_where_it_runs(deps: IngestionDeps) -> None:
    corpus = b"\n".join(orjson.dumps({"text": f"Paragraph {i} of domain text."}) for i in range(50)) + b"\n"
    result = ingest_object(upload(deps, "inbox/continued-pre-training/nova-lite/corpus.jsonl", corpus), deps)
    assert result.outcome is IngestOutcome.VALIDATED
    notes = report(deps, result.run_id or "")["notes"]
    assert isinstance(notes, list) and "SageMaker HyperPod" in notes[0]
