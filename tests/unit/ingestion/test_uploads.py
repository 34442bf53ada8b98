"""Client-side upload of a dataset folder: order, errors, and the run id ingestion will use."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from test_ingest_object import GOOD  # the same ten valid records

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.ingestion import IngestionDeps, ingest_object
from tailor.ingestion.uploads import UploadError, read_folder, upload_folder
from tailor.jobs.spec import SpecError


def make_folder(tmp_path: Path, spec: dict[str, object], files: dict[str, bytes]) -> Path:
    folder = tmp_path / "support-bot"
    folder.mkdir()
    (folder / "job.json").write_bytes(orjson.dumps(spec))
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


SPEC = {"technique": "fine-tuning", "baseModel": "nova-lite", "validation": "val.jsonl"}


def test_uploads_data_first_and_predicts_the_run_id(tmp_path: Path) -> None:
    folder = read_folder(make_folder(tmp_path, SPEC, {"train.jsonl": GOOD, "val.jsonl": GOOD}))
    objects = InMemoryObjectStore()
    order: list[str] = []
    result = upload_folder(
        folder, objects=objects, data_bucket="data", artifacts_bucket="art", on_upload=order.append
    )
    assert order == [
        "s3://data/datasets/support-bot/train.jsonl",
        "s3://data/datasets/support-bot/val.jsonl",
        "s3://data/datasets/support-bot/job.json",
    ]
    # Ingestion, given the S3 event of that upload, lands on the same run and report.
    info = objects.head("data", "datasets/support-bot/job.json")
    assert info is not None
    event = S3ObjectCreatedDetail(
        bucket=S3Bucket(name="data"),
        object=S3Object(key=info.key, etag=info.etag, **{"version-id": info.version_id}),
    )
    deps = IngestionDeps(
        objects=objects, runs=InMemoryRunStore(), bus=InMemoryPublisher(), artifacts_bucket="art"
    )
    ingested = ingest_object(event, deps)
    assert ingested.run_id == result.run_id
    assert ingested.report_uri == result.report_uri


def test_missing_job_json(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"job\.json not found"):
        read_folder(tmp_path)


def test_missing_data_file(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"names 'val\.jsonl'"):
        read_folder(make_folder(tmp_path, SPEC, {"train.jsonl": GOOD}))


def test_bad_spec_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nova-ultra"):
        read_folder(make_folder(tmp_path, {"technique": "fine-tuning", "baseModel": "nova-ultra"}, {}))


def test_name_must_be_bedrock_safe(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path, {"technique": "fine-tuning", "baseModel": "nova-lite"}, {"train.jsonl": GOOD}
    )
    with pytest.raises(UploadError, match="--name"):
        read_folder(folder, "my dataset")


def test_the_plan_knows_a_join_and_a_new_attempt_before_uploading(tmp_path: Path) -> None:
    from tailor.ingestion.uploads import plan_upload
    from tailor.jobs.state import RunStatus

    folder = read_folder(make_folder(tmp_path, SPEC, {"train.jsonl": GOOD, "val.jsonl": GOOD}))
    objects, runs = InMemoryObjectStore(), InMemoryRunStore()
    deps = IngestionDeps(objects=objects, runs=runs, bus=InMemoryPublisher(), artifacts_bucket="art")

    def submit() -> str | None:
        upload_folder(folder, objects=objects, data_bucket="data", artifacts_bucket="art")
        info = objects.head("data", "datasets/support-bot/job.json")
        assert info is not None
        event = S3ObjectCreatedDetail(
            bucket=S3Bucket(name="data"),
            object=S3Object(key=info.key, etag=info.etag, **{"version-id": info.version_id}),
        )
        return ingest_object(event, deps).run_id

    fresh = plan_upload(folder, data_bucket="data", runs=runs)
    assert fresh.existing is None and not fresh.joins
    assert submit() == fresh.run_id
    again = plan_upload(folder, data_bucket="data", runs=runs)
    assert again.joins and again.run_id == fresh.run_id
    for status in (RunStatus.SUBMITTED, RunStatus.FAILED):
        runs.transition(fresh.run_id, status)
    retry = plan_upload(folder, data_bucket="data", runs=runs)
    assert not retry.joins and retry.run_id == f"{fresh.run_id}-a2"
    assert submit() == retry.run_id  # ingestion lands on the attempt the client predicted
