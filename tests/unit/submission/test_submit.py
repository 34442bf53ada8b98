"""submit_run with in-memory adapters (AWS semantics, fault injection): the request Bedrock gets,
exactly once, quota waits, refusals, budget. Runs and events come from real ingestion."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tailor.adapters.bedrock import BedrockError, ErrorKind, InMemoryBedrock
from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.events.models import DatasetValidated
from tailor.ingestion import IngestionDeps, ingest_object
from tailor.jobs.pricing import price_table
from tailor.jobs.state import RunStatus
from tailor.submission.backends import BedrockBackend
from tailor.submission.quota import QuotaGate
from tailor.submission.request import SubmissionSettings
from tailor.submission.service import Delivery, HoldMessage, SubmissionDeps, SubmitOutcome, submit_run

DATA, ARTIFACTS = "tailor-data", "tailor-artifacts"
ROLE = "arn:aws:iam::123456789012:role/tailor-BedrockCustomizationRole"


def conversation(i: int, *, with_answer: bool = True) -> bytes:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"text": f"Summarise ticket {i} please."}]}
    ]
    if with_answer:
        messages.append(
            {"role": "assistant", "content": [{"text": f"Ticket {i}: the printer is out of toner."}]}
        )
    return orjson.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": messages})


def lines(n: int, **kwargs: bool) -> bytes:
    return b"\n".join(conversation(i, **kwargs) for i in range(n)) + b"\n"


class World:
    """Ingestion and submission over the same in-memory AWS."""

    def __init__(self, quota: int = 2) -> None:
        self.objects = InMemoryObjectStore()
        self.runs = InMemoryRunStore()
        self.bus = InMemoryPublisher()
        self.bedrock = InMemoryBedrock()
        self.settings = SubmissionSettings(role_arn=ROLE, artifacts_bucket=ARTIFACTS, job_quota=quota)
        self.ingestion = IngestionDeps(self.objects, self.runs, self.bus, ARTIFACTS)

    def deps(self, **overrides: Any) -> SubmissionDeps:
        backend = BedrockBackend(self.bedrock)
        deps = SubmissionDeps(
            runs=self.runs,
            bus=self.bus,
            backends=(backend,),
            settings=self.settings,
            prices=price_table('{"nova-lite": 0.002, "nova-micro": 0.001}'),
            quota=QuotaGate(self.settings.job_quota, backend.in_progress),
        )
        return replace(deps, **overrides)

    def validated(self, name: str, spec: dict[str, Any], files: dict[str, bytes]) -> DatasetValidated:
        for file, body in files.items():
            self.objects.put_bytes(DATA, f"datasets/{name}/{file}", body)
        info = self.objects.put_bytes(DATA, f"datasets/{name}/job.json", orjson.dumps(spec))
        event = S3ObjectCreatedDetail(
            bucket=S3Bucket(name=DATA),
            object=S3Object(key=info.key, etag=info.etag, **{"version-id": info.version_id}),
        )
        result = ingest_object(event, self.ingestion)
        found = [d for d in self.bus.details("DatasetValidated") if d["data"]["runId"] == result.run_id]
        assert found, f"not validated: {result}"
        return DatasetValidated.model_validate(found[-1]["data"])

    def events(self, detail_type: str) -> list[dict[str, Any]]:
        return [d["data"] for d in self.bus.details(detail_type)]


FT = {
    "specVersion": "1",
    "technique": "fine-tuning",
    "baseModel": "nova-lite",
    "validation": "validation.jsonl",
    "hyperParameters": {"epochCount": 3, "learningRate": 0.00002},
    "customModelName": "support-bot",
    "tags": {"team": "support"},
}
DISTIL = {
    "specVersion": "1",
    "technique": "distillation",
    "baseModel": "nova-lite",
    "teacherModel": "nova-premier",
}


PREMIER_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0"


@pytest.fixture
def world() -> World:
    return World()


def test_fine_tuning_request_is_exactly_what_bedrock_expects(world: World) -> None:
    data = world.validated("support-bot", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    result = submit_run(data, Delivery(), world.deps())
    assert result.outcome is SubmitOutcome.SUBMITTED
    (name,) = world.bedrock.jobs
    request = world.bedrock.request_of(name)
    snapshot = data.dataset.snapshot
    assert snapshot is not None and snapshot.validation is not None
    assert request == {
        "jobName": name,
        "customModelName": request["customModelName"],
        "roleArn": ROLE,
        "clientRequestToken": request["clientRequestToken"],
        "baseModelIdentifier": "amazon.nova-lite-v1:0:300k",
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": snapshot.training.uri},
        "validationDataConfig": {"validators": [{"s3Uri": snapshot.validation.uri}]},
        "outputDataConfig": {"s3Uri": f"s3://{ARTIFACTS}/jobs/{data.run_id}/"},
        "hyperParameters": {"epochCount": "3", "learningRate": "0.00002", "learningRateWarmupSteps": "10"},
        "jobTags": [{"key": "tailor-run-id", "value": data.run_id}, {"key": "team", "value": "support"}],
        "customModelTags": [
            {"key": "tailor-run-id", "value": data.run_id},
            {"key": "team", "value": "support"},
        ],
    }
    assert request["trainingDataConfig"]["s3Uri"].startswith(f"s3://{DATA}/snapshots/sha256/")
    assert request["customModelName"].startswith("support-bot-")
    run = world.runs.get(data.run_id)
    assert run is not None and run.status is RunStatus.SUBMITTED and run.facts.job_arn == result.job_arn
    (submitted,) = world.events("JobSubmitted")
    assert submitted["jobArn"] == result.job_arn and submitted["estimate"]["epochs"] == 3
    assert submitted["outputUri"] == f"s3://{ARTIFACTS}/jobs/{data.run_id}/"


def test_distillation_names_the_teacher_by_its_inference_profile(world: World) -> None:
    data = world.validated("distil", DISTIL, {"train.jsonl": lines(120, with_answer=False)})
    submit_run(data, Delivery(), world.deps())
    (name,) = world.bedrock.jobs
    request = world.bedrock.request_of(name)
    assert request["customizationType"] == "DISTILLATION"
    assert request["customizationConfig"] == {
        "distillationConfig": {
            "teacherModelConfig": {
                "teacherModelIdentifier": PREMIER_PROFILE,
                "maxResponseLengthForInference": 1000,
            }
        }
    }
    (submitted,) = world.events("JobSubmitted")
    assert submitted["teacherModelId"] and submitted["estimate"].get("teacherUsd") is None


def test_duplicate_deliveries_create_one_job(world: World) -> None:
    data = world.validated("dup", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    outcomes = [submit_run(data, Delivery(receive_count=n), world.deps()).outcome for n in (1, 2, 3)]
    assert outcomes == [SubmitOutcome.SUBMITTED, SubmitOutcome.ALREADY_DONE, SubmitOutcome.ALREADY_DONE]
    assert len(world.bedrock.jobs) == 1 and len(world.events("JobSubmitted")) == 1


def test_a_crash_between_create_and_record_adopts_the_job(world: World) -> None:
    data = world.validated("crash", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    deps = world.deps()
    real_transition = world.runs.transition

    def die(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the Lambda died after Bedrock accepted the job")

    world.runs.transition = die  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        submit_run(data, Delivery(), deps)
    assert len(world.bedrock.jobs) == 1
    world.runs.transition = real_transition  # type: ignore[method-assign]
    # moto (unlike Bedrock) refuses the same name + token: the conflict path must adopt it too.
    world.bedrock.fail_next = [BedrockError.classify("ResourceInUseException", "job already exists")]
    retried = submit_run(data, Delivery(receive_count=2), world.deps())
    assert retried.outcome is SubmitOutcome.ADOPTED
    assert len(world.bedrock.jobs) == 1 and len(world.events("JobSubmitted")) == 1


def test_a_name_taken_by_someone_else_gets_a_new_name(world: World) -> None:
    data = world.validated("taken", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    from tailor.jobs.naming import job_name

    world.bedrock.create_job(
        {"jobName": job_name(data.run_id), "baseModelIdentifier": "x", "clientRequestToken": "other"}
    )
    result = submit_run(data, Delivery(), world.deps())
    assert result.outcome is SubmitOutcome.SUBMITTED
    assert job_name(data.run_id, 1) in world.bedrock.jobs


def test_a_full_quota_holds_the_message_with_a_growing_delay(world: World) -> None:
    world = World(quota=1)
    first = world.validated("one", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    second = world.validated("two", FT, {"train.jsonl": lines(13), "validation.jsonl": lines(8)})
    assert submit_run(first, Delivery(), world.deps()).outcome is SubmitOutcome.SUBMITTED
    delays = []
    for receive in (1, 2, 3):
        with pytest.raises(HoldMessage) as held:
            submit_run(second, Delivery(receive_count=receive), world.deps())
        delays.append(held.value.seconds)
    assert delays == [60, 120, 240]
    run = world.runs.get(second.run_id)
    assert run is not None and run.status is RunStatus.VALIDATED and run.facts.waiting_for_quota_since
    world.bedrock.set_status(next(iter(world.bedrock.jobs)), "Completed")  # a slot frees up
    assert submit_run(second, Delivery(receive_count=4), world.deps()).outcome is SubmitOutcome.SUBMITTED
    assert len(world.bedrock.jobs) == 2


def test_a_quota_wait_past_the_maximum_gives_up_retryably(world: World) -> None:
    world = World(quota=0)
    data = world.validated("late", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    sent = datetime.now(UTC) - timedelta(hours=25)
    result = submit_run(data, Delivery(receive_count=30, sent_at=sent), world.deps())
    assert result.outcome is SubmitOutcome.GAVE_UP
    (failed,) = world.events("JobSubmissionFailed")
    assert failed["errorCode"] == "quota_wait_exceeded" and failed["retryable"] is True
    assert world.bedrock.create_calls == 0


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "InternalServerException", "ServiceQuotaExceededException"]
)
def test_throttling_5xx_and_bedrock_quota_are_retried_then_submitted_once(world: World, code: str) -> None:
    data = world.validated("busy", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    world.bedrock.fail_next = [BedrockError.classify(code, "slow down")]
    with pytest.raises(HoldMessage) as held:
        submit_run(data, Delivery(receive_count=1), world.deps())
    assert held.value.seconds == (300 if code == "ServiceQuotaExceededException" else 60)
    assert world.events("JobSubmissionFailed") == []
    assert submit_run(data, Delivery(receive_count=2), world.deps()).outcome is SubmitOutcome.SUBMITTED
    assert len(world.bedrock.jobs) == 1


@pytest.mark.parametrize(
    "code", ["ValidationException", "AccessDeniedException", "ResourceNotFoundException"]
)
def test_non_retryable_errors_end_the_run_with_a_hint(world: World, code: str) -> None:
    data = world.validated("bad", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    world.bedrock.fail_next = [BedrockError.classify(code, "no")]
    assert submit_run(data, Delivery(), world.deps()).outcome is SubmitOutcome.REFUSED
    (failed,) = world.events("JobSubmissionFailed")
    assert failed["errorCode"] == code and failed["retryable"] is False and failed["hint"]
    run = world.runs.get(data.run_id)
    assert run is not None and run.status is RunStatus.SUBMISSION_FAILED
    assert submit_run(data, Delivery(receive_count=2), world.deps()).outcome is SubmitOutcome.ALREADY_DONE
    assert len(world.events("JobSubmissionFailed")) == 1


def test_nova_cpt_is_refused_before_any_aws_call(world: World) -> None:
    corpus = b"\n".join(orjson.dumps({"text": f"Paragraph {i} about turbines."}) for i in range(30)) + b"\n"
    data = world.validated(
        "cpt", {"technique": "continued-pre-training", "baseModel": "nova-lite"}, {"train.jsonl": corpus}
    )
    assert submit_run(data, Delivery(), world.deps()).outcome is SubmitOutcome.REFUSED
    (failed,) = world.events("JobSubmissionFailed")
    assert failed["retryable"] is False and "SageMaker HyperPod" in failed["message"]
    assert world.bedrock.create_calls == 0
    run = world.runs.get(data.run_id)
    assert run is not None and run.status is RunStatus.SUBMISSION_FAILED
    assert list(world.runs.list_active()) == []


def test_a_budget_below_the_estimate_starts_no_job(world: World) -> None:
    spec = {**FT, "budget": {"maxTrainingCostUsd": 0.0001}}
    data = world.validated("pricey", spec, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    deps = world.deps(prices=price_table('{"nova-lite": 50}'))  # $50 per 1K tokens: far over budget
    assert submit_run(data, Delivery(), deps).outcome is SubmitOutcome.REFUSED
    (failed,) = world.events("JobSubmissionFailed")
    assert failed["errorCode"] == "budget_exceeded" and failed["retryable"] is False
    estimated = failed["estimate"]["estimatedUsd"]
    assert estimated > 1 and f"{estimated:,.2f}" in failed["message"] and "budget" in failed["message"]
    assert world.bedrock.create_calls == 0


def test_a_run_without_a_snapshot_is_refused_not_trained_unvalidated(world: World) -> None:
    data = world.validated("nosnap", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    unsafe = data.model_copy(update={"dataset": data.dataset.model_copy(update={"snapshot": None})})
    assert submit_run(unsafe, Delivery(), world.deps()).outcome is SubmitOutcome.REFUSED
    assert world.events("JobSubmissionFailed")[0]["errorCode"] == "snapshot_missing"
    assert world.bedrock.create_calls == 0


def test_error_kinds() -> None:
    assert (
        BedrockError.classify("ValidationException", "The provided job name is currently in use.").kind
        is ErrorKind.CONFLICT
    )
    assert BedrockError.classify("ValidationException", "bad s3 uri").kind is ErrorKind.FATAL


def test_the_crash_window_with_a_full_quota_adopts_instead_of_waiting_on_its_own_job() -> None:
    world = World(quota=1)
    data = world.validated("crash-full", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    real_transition = world.runs.transition
    world.runs.transition = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("died"))  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        submit_run(data, Delivery(), world.deps())
    world.runs.transition = real_transition  # type: ignore[method-assign]
    # The quota is full with this run's own job: the retry must record it, not wait for it.
    assert submit_run(data, Delivery(receive_count=2), world.deps()).outcome is SubmitOutcome.ADOPTED
    assert len(world.bedrock.jobs) == 1


def test_two_concurrent_consumers_create_one_job_and_one_event(world: World) -> None:
    data = world.validated("race", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    real_create = world.bedrock.create_job
    interleaved: list[SubmitOutcome] = []
    calls = {"n": 0}

    def create_after_the_other_consumer(request: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:  # consumer B runs from start to end between A's checks and A's create
            interleaved.append(submit_run(data, Delivery(), world.deps()).outcome)
        return real_create(request)

    world.bedrock.create_job = create_after_the_other_consumer  # type: ignore[method-assign]
    first = submit_run(data, Delivery(), world.deps())
    assert interleaved == [SubmitOutcome.SUBMITTED] and first.outcome is SubmitOutcome.ALREADY_DONE
    assert len(world.bedrock.jobs) == 1 and len(world.events("JobSubmitted")) == 1
