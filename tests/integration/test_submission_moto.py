"""The submission service against moto's Bedrock (boto3's real request validation): both request
shapes are accepted, and moto's own quirk (a repeated name raises) still ends in one job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from tailor.adapters.bedrock import BedrockClient
from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.events.models import DatasetValidated
from tailor.ingestion import IngestionDeps, ingest_object
from tailor.jobs.pricing import price_table
from tailor.submission.backends import BedrockBackend
from tailor.submission.quota import QuotaGate
from tailor.submission.request import SubmissionSettings
from tailor.submission.service import Delivery, SubmissionDeps, SubmitOutcome, submit_run

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/tailor-BedrockCustomizationRole"


def record(i: int, answer: bool = True) -> bytes:
    turns: list[dict[str, Any]] = [{"role": "user", "content": [{"text": f"Translate sentence {i}."}]}]
    if answer:
        turns.append({"role": "assistant", "content": [{"text": f"Sentence {i}, translated."}]})
    return orjson.dumps({"messages": turns})


@pytest.fixture
def bedrock() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("bedrock", region_name="us-east-1")


def validated(spec: dict[str, Any], n: int, answer: bool = True) -> tuple[DatasetValidated, InMemoryRunStore]:
    objects, runs, bus = InMemoryObjectStore(), InMemoryRunStore(), InMemoryPublisher()
    objects.put_bytes(
        "data", "datasets/d/train.jsonl", b"\n".join(record(i, answer) for i in range(n)) + b"\n"
    )
    info = objects.put_bytes("data", "datasets/d/job.json", orjson.dumps(spec))
    event = S3ObjectCreatedDetail(
        bucket=S3Bucket(name="data"),
        object=S3Object(key=info.key, etag=info.etag, **{"version-id": info.version_id}),
    )
    ingest_object(event, IngestionDeps(objects, runs, bus, "artifacts"))
    return DatasetValidated.model_validate(bus.details("DatasetValidated")[0]["data"]), runs


def deps(runs: InMemoryRunStore, client: Any) -> tuple[SubmissionDeps, InMemoryPublisher]:
    backend = BedrockBackend(BedrockClient(client))
    bus = InMemoryPublisher()
    settings = SubmissionSettings(role_arn=ROLE, artifacts_bucket="artifacts", job_quota=5)
    return (
        SubmissionDeps(
            runs=runs,
            bus=bus,
            backends=(backend,),
            settings=settings,
            prices=price_table(),
            quota=QuotaGate(5, backend.in_progress),
        ),
        bus,
    )


@pytest.mark.parametrize(
    ("spec", "answer", "kind"),
    [
        ({"technique": "fine-tuning", "baseModel": "nova-micro"}, True, "FINE_TUNING"),
        (
            {"technique": "distillation", "baseModel": "nova-lite", "teacherModel": "nova-pro"},
            False,
            "DISTILLATION",
        ),
    ],
)
def test_moto_accepts_both_request_shapes(
    bedrock: Any, spec: dict[str, Any], answer: bool, kind: str
) -> None:
    data, runs = validated(spec, 120, answer)
    submission, bus = deps(runs, bedrock)
    result = submit_run(data, Delivery(), submission)
    assert result.outcome is SubmitOutcome.SUBMITTED
    run = runs.get(data.run_id)
    assert run is not None and run.facts.job_name
    job = bedrock.get_model_customization_job(jobIdentifier=run.facts.job_name)
    assert job["customizationType"] == kind and job["status"] == "InProgress"
    assert job["trainingDataConfig"]["s3Uri"].startswith("s3://data/snapshots/sha256/")
    assert job["outputDataConfig"]["s3Uri"] == f"s3://artifacts/jobs/{data.run_id}/"
    assert all(isinstance(v, str) for v in job["hyperParameters"].values())
    tags = bedrock.list_tags_for_resource(resourceARN=result.job_arn)["tags"]
    assert {"key": "tailor-run-id", "value": data.run_id} in tags
    assert [e["DetailType"] for e in bus.entries] == ["JobSubmitted"]


def test_a_retry_after_a_crash_adopts_moto_s_job(bedrock: Any) -> None:
    data, runs = validated({"technique": "fine-tuning", "baseModel": "nova-lite"}, 12)
    submission, _ = deps(runs, bedrock)
    real = runs.transition
    runs.transition = lambda *a, **k: (_ for _ in ()).throw(TimeoutError("Lambda timed out"))  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        submit_run(data, Delivery(), submission)
    runs.transition = real  # type: ignore[method-assign]
    again, _ = deps(runs, bedrock)
    assert submit_run(data, Delivery(receive_count=2), again).outcome is SubmitOutcome.ADOPTED
    jobs = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert len(jobs) == 1
