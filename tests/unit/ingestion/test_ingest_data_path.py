"""The data path's guarantees (issue "Harden the data path"), with in-memory adapters that keep
object versions: exact versions, validated snapshots, content identity, transient faults retried,
outcomes for vanished uploads, runs that no backend advances, deadlines."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import orjson
import pytest
from faulty_store import FaultyObjectStore, access_denied, internal_error, read_timeout, slow_down

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.ingestion import IngestionDeps, IngestOutcome, ingest_object
from tailor.jobs.state import RunStatus
from tailor.runtime import Deadline, DeadlineReachedError

DATA = "data-bucket"
ARTIFACTS = "artifacts-bucket"


def record(i: int, word: str = "reset") -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": f"How do I {word} password number {i}?"}]},
                {"role": "assistant", "content": [{"text": f"Open settings and choose {word} ({i})."}]},
            ]
        }
    )


GOOD = b"\n".join(record(i) for i in range(10)) + b"\n"
OTHER = b"\n".join(record(i, "change") for i in range(10)) + b"\n"


def spec(**extra: object) -> bytes:
    return orjson.dumps({"specVersion": "1", "technique": "fine-tuning", "baseModel": "nova-lite", **extra})


@pytest.fixture
def store() -> FaultyObjectStore:
    return FaultyObjectStore()


@pytest.fixture
def deps(store: FaultyObjectStore) -> IngestionDeps:
    return IngestionDeps(
        objects=store, runs=InMemoryRunStore(), bus=InMemoryPublisher(), artifacts_bucket=ARTIFACTS
    )


def event(key: str, version: str | None, etag: str | None = None) -> S3ObjectCreatedDetail:
    return S3ObjectCreatedDetail(
        bucket=S3Bucket(name=DATA), object=S3Object(key=key, etag=etag, **{"version-id": version})
    )


def upload(deps: IngestionDeps, key: str, body: bytes) -> S3ObjectCreatedDetail:
    info = deps.objects.put_bytes(DATA, key, body)
    return event(key, info.version_id, info.etag)


def details(deps: IngestionDeps, detail_type: str) -> list[dict[str, object]]:
    assert isinstance(deps.bus, InMemoryPublisher)
    return [d["data"] for d in deps.bus.details(detail_type)]  # type: ignore[index]


def runs(deps: IngestionDeps) -> InMemoryRunStore:
    assert isinstance(deps.runs, InMemoryRunStore)
    return deps.runs


# --- 1. exact versions ------------------------------------------------------------------------


def test_a_redelivered_event_reads_its_own_version_of_job_json(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    v1 = upload(deps, "datasets/x/job.json", spec(hyperParameters={"epochCount": 1}))
    first = ingest_object(v1, deps)
    second = ingest_object(upload(deps, "datasets/x/job.json", spec(hyperParameters={"epochCount": 3})), deps)
    again = ingest_object(v1, deps)  # v1's event delivered again after v2 exists
    assert again.outcome is IngestOutcome.ALREADY_DONE and again.run_id == first.run_id
    assert len(runs(deps).records) == 2
    epochs = [d["spec"]["hyperParameters"]["epochCount"] for d in details(deps, "DatasetValidated")]  # type: ignore[index]
    assert epochs == [1, 3]
    assert first.run_id != second.run_id


def test_the_data_files_are_read_at_the_version_pinned_when_the_run_started(deps: IngestionDeps) -> None:
    train = deps.objects.put_bytes(DATA, "datasets/x/train.jsonl", GOOD)
    ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    dataset = details(deps, "DatasetValidated")[0]["dataset"]
    assert dataset["trainingVersion"] == train.version_id  # type: ignore[index]


# --- 2. snapshots -----------------------------------------------------------------------------


def test_bedrock_gets_an_immutable_snapshot_of_the_validated_bytes(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    upload(deps, "datasets/x/validation.jsonl", OTHER)
    result = ingest_object(upload(deps, "datasets/x/job.json", spec(validation="validation.jsonl")), deps)
    snapshot = details(deps, "DatasetValidated")[0]["dataset"]["snapshot"]  # type: ignore[index]
    sha = hashlib.sha256(GOOD).hexdigest()
    assert snapshot["training"] == {
        "uri": f"s3://{DATA}/snapshots/sha256/{sha}.jsonl",
        "sha256": sha,
        "bytes": len(GOOD),
    }
    assert snapshot["validation"]["sha256"] == hashlib.sha256(OTHER).hexdigest()
    # train.jsonl re-uploaded after validation: the snapshot still holds what was validated.
    deps.objects.put_bytes(DATA, "datasets/x/train.jsonl", b"not what was validated\n")
    assert deps.objects.get_bytes(DATA, f"snapshots/sha256/{sha}.jsonl") == GOOD
    run = runs(deps).get(result.run_id or "")
    assert run is not None and run.facts.snapshot is not None
    assert run.facts.snapshot.training.sha256 == sha


def test_a_snapshot_that_exists_is_not_copied_again(deps: IngestionDeps, store: FaultyObjectStore) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    store.inject("copy", "train.jsonl", internal_error, times=5)  # would fail if called
    upload(deps, "datasets/y/train.jsonl", GOOD)  # same bytes, another dataset
    assert ingest_object(upload(deps, "datasets/y/job.json", spec()), deps).outcome is IngestOutcome.VALIDATED


# --- 3. content identity ----------------------------------------------------------------------


def test_identical_uploads_join_one_run(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    results = [ingest_object(upload(deps, "datasets/x/job.json", spec()), deps) for _ in range(3)]
    assert [r.outcome for r in results] == [
        IngestOutcome.VALIDATED,
        IngestOutcome.JOINED,
        IngestOutcome.JOINED,
    ]
    assert len({r.run_id for r in results}) == 1
    assert len(details(deps, "DatasetValidated")) == 1
    run = runs(deps).get(results[0].run_id or "")
    assert run is not None and run.joined_uploads == 2
    receipt = orjson.loads(deps.objects.get_bytes(ARTIFACTS, (results[1].report_uri or "").split("/", 3)[3]))
    assert receipt["joinedRun"] == results[0].run_id and "rerun" in receipt


def test_re_uploading_the_same_data_bytes_is_still_the_same_content(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    first = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    upload(deps, "datasets/x/train.jsonl", GOOD)  # a new version, the same bytes
    assert ingest_object(upload(deps, "datasets/x/job.json", spec()), deps).run_id == first.run_id


def test_after_a_failed_run_the_same_content_starts_a_new_attempt(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    first = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    store = runs(deps)
    for status in (RunStatus.SUBMITTED, RunStatus.FAILED):
        store.transition(first.run_id or "", status)
    retry = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    assert retry.outcome is IngestOutcome.VALIDATED
    assert retry.run_id == f"{first.run_id}-a2"
    previous = store.get(first.run_id or "")
    assert previous is not None and previous.facts.next_attempt == retry.run_id
    assert len(details(deps, "DatasetValidated")) == 2


def test_a_changed_spec_is_a_deliberate_re_run(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    first = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    rerun = ingest_object(upload(deps, "datasets/x/job.json", spec(tags={"rerun": "2"})), deps)
    assert rerun.outcome is IngestOutcome.VALIDATED and rerun.run_id != first.run_id


# --- 4. transient vs permanent ----------------------------------------------------------------


@pytest.mark.parametrize("fault", [slow_down, internal_error, read_timeout])
def test_a_transient_s3_error_while_reading_data_fails_the_message(
    deps: IngestionDeps, store: FaultyObjectStore, fault: object
) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    job = upload(deps, "datasets/x/job.json", spec())
    store.inject("iter_chunks", "train.jsonl", fault)  # type: ignore[arg-type]
    with pytest.raises(Exception) as raised:
        ingest_object(job, deps)
    assert type(raised.value).__module__.startswith("botocore")
    assert details(deps, "DatasetRejected") == []
    assert all(r.status is not RunStatus.REJECTED for r in runs(deps).records.values())
    assert ingest_object(job, deps).outcome is IngestOutcome.VALIDATED  # the retry succeeds


def test_a_transient_error_while_checking_media_fails_the_message(
    deps: IngestionDeps, store: FaultyObjectStore
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") * 2 + b"\x00" * 64
    deps.objects.put_bytes(DATA, "datasets/x/img.png", png)
    lines = []
    for i in range(10):
        lines.append(
            orjson.dumps(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"text": f"What is in picture {i}?"},
                                {
                                    "image": {
                                        "format": "png",
                                        "source": {"s3Location": {"uri": f"s3://{DATA}/datasets/x/img.png"}},
                                    }
                                },
                            ],
                        },
                        {"role": "assistant", "content": [{"text": f"A square, number {i}."}]},
                    ]
                }
            )
        )
    upload(deps, "datasets/x/train.jsonl", b"\n".join(lines) + b"\n")
    job = upload(deps, "datasets/x/job.json", spec())
    store.inject("get_range", "img.png", slow_down)
    with pytest.raises(Exception, match="SlowDown"):
        ingest_object(job, deps)
    assert details(deps, "DatasetRejected") == []
    assert ingest_object(job, deps).outcome is IngestOutcome.VALIDATED


def test_access_denied_is_a_finding_with_a_report(deps: IngestionDeps, store: FaultyObjectStore) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    store.inject("iter_chunks", "train.jsonl", access_denied)
    result = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    assert result.outcome is IngestOutcome.REJECTED
    assert details(deps, "DatasetRejected")[0]["errorCounts"] == {"file_unreadable": 1}


# --- 5. vanished uploads ----------------------------------------------------------------------


def test_an_upload_deleted_right_after_it_was_made_still_gets_its_outcome(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    job = upload(deps, "datasets/x/job.json", spec())
    deps.objects.delete(DATA, "datasets/x/job.json")  # type: ignore[attr-defined]  # a delete marker
    assert ingest_object(job, deps).outcome is IngestOutcome.VALIDATED


def test_an_event_for_a_key_that_never_existed_is_rejected_with_a_report(deps: IngestionDeps) -> None:
    result = ingest_object(event("datasets/ghost/job.json", "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"), deps)
    assert result.outcome is IngestOutcome.OBJECT_GONE
    rejected = details(deps, "DatasetRejected")
    assert len(rejected) == 1 and rejected[0]["errorCounts"] == {"file_missing": 1}
    assert "deleted (or never written)" in rejected[0]["errors"][0]["message"]  # type: ignore[index]
    assert ingest_object(
        event("datasets/ghost/job.json", "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"), deps
    ).outcome in (IngestOutcome.OBJECT_GONE,)
    assert len(details(deps, "DatasetRejected")) == 1  # the replay publishes nothing new


# --- 8. runs that nothing advances, deadlines -------------------------------------------------


def test_a_nova_cpt_corpus_is_validated_and_left_to_submission_to_refuse(deps: IngestionDeps) -> None:
    # Submission ends it SUBMISSION_FAILED with the HyperPod reason, outside the active index
    # (tests/unit/submission: test_nova_cpt_is_refused_before_any_aws_call).
    corpus = b"\n".join(orjson.dumps({"text": f"Paragraph {i} of domain text."}) for i in range(50)) + b"\n"
    result = ingest_object(upload(deps, "inbox/continued-pre-training/nova-lite/corpus.jsonl", corpus), deps)
    assert result.outcome is IngestOutcome.VALIDATED
    run = runs(deps).get(result.run_id or "")
    assert run is not None and run.status is RunStatus.VALIDATED


def test_ingestion_does_not_start_what_it_cannot_finish_before_the_deadline(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    job = upload(deps, "datasets/x/job.json", spec())
    with pytest.raises(DeadlineReachedError):
        ingest_object(job, replace(deps, deadline=Deadline(lambda: 5.0)))
    assert runs(deps).records == {} and details(deps, "DatasetRejected") == []
    assert ingest_object(job, deps).outcome is IngestOutcome.VALIDATED


def test_a_dataset_no_invocation_could_read_is_rejected_not_retried_forever(
    deps: IngestionDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tailor.ingestion import service

    monkeypatch.setattr(service, "MAX_DATASET_BYTES", len(GOOD) - 1)
    upload(deps, "datasets/x/train.jsonl", GOOD)
    result = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    assert result.outcome is IngestOutcome.REJECTED
    assert details(deps, "DatasetRejected")[0]["errorCounts"] == {"dataset_too_large": 1}


def test_a_crash_between_a_new_attempt_and_its_link_is_repaired_by_the_retry(deps: IngestionDeps) -> None:
    upload(deps, "datasets/x/train.jsonl", GOOD)
    first = ingest_object(upload(deps, "datasets/x/job.json", spec()), deps)
    store = runs(deps)
    store.transition(first.run_id or "", RunStatus.SUBMITTED)
    store.transition(first.run_id or "", RunStatus.STOPPED)
    job = upload(deps, "datasets/x/job.json", spec())
    real_add_facts = store.add_facts
    calls = {"n": 0}

    def crash_once(run_id: str, facts: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the Lambda died here")
        real_add_facts(run_id, facts)  # type: ignore[arg-type]

    store.add_facts = crash_once  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        ingest_object(job, deps)
    retried = ingest_object(job, deps)  # the message comes back
    assert retried.run_id == f"{first.run_id}-a2" and retried.outcome is IngestOutcome.VALIDATED
    previous = store.get(first.run_id or "")
    assert previous is not None and previous.facts.next_attempt == retried.run_id
    assert len(details(deps, "DatasetValidated")) == 2
