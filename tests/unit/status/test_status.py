"""The status service with fakes: event- and poll-driven transitions, lost/duplicated/out-of-order
events, failure and stop, metrics for both CSV layouts, the poll-cost bound, orphan adoption and
the crash between a transition and its event."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "submission"))
from test_submit import FT, World, lines

from tailor.events.aws import BedrockJobStateChangeDetail
from tailor.jobs.naming import job_name, request_token
from tailor.jobs.state import RunStatus
from tailor.status.observation import JobObservation
from tailor.status.reconcile import reconcile
from tailor.status.service import REPAIR_AFTER, StatusDeps, StatusOutcome, apply_observation
from tailor.submission.service import Delivery, submit_run

INTERVAL = timedelta(minutes=5)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TRAINING_CSV = "step_number,epoch_number,training_loss,perplexity\n" + "".join(
    f"{s},{1 + s // 5},{2.5 - s * 0.1:.3f},{10 - s * 0.2:.2f}\n" for s in range(1, 11)
)
VALIDATION_CSV = "step_number, epoch_number, validation_loss, perplexity\n1, 1, 2.0, 7.3\n10, 2, 1.6, 5.0\n"


class StatusWorld(World):
    def status(self, now: datetime | None = None) -> StatusDeps:
        return StatusDeps(
            runs=self.runs,
            bus=self.bus,
            bedrock=self.bedrock,
            objects=self.objects,
            now=now or datetime.now(UTC),
        )

    def submitted(self, name: str, *, validation: bool = True) -> tuple[str, str]:
        files = {"train.jsonl": lines(12)}
        spec = dict(FT)
        if validation:
            files["validation.jsonl"] = lines(8)
        else:
            spec.pop("validation")
        data = self.validated(name, spec, files)
        result = submit_run(data, Delivery(), self.deps())
        assert result.job_arn is not None
        return data.run_id, next(n for n, (j, _) in self.bedrock.jobs.items() if j.arn == result.job_arn)

    def event(self, job: str, status: str, at: datetime, **extra: Any) -> JobObservation:
        info, _ = self.bedrock.jobs[job]
        detail = BedrockJobStateChangeDetail.model_validate(
            {
                "jobArn": info.arn,
                "jobName": job,
                "jobStatus": status,
                "lastModifiedTime": at.isoformat(),
                **extra,
            }
        )
        return JobObservation.from_event(detail)

    def write_metrics(self, run_id: str, *, nested: bool, validation: bool = True) -> None:
        base = f"jobs/{run_id}/model-customization-job-abc123def456/"
        self.objects.put_bytes(
            "tailor-artifacts",
            base + "training_artifacts/step_wise_training_metrics.csv",
            TRAINING_CSV.encode(),
        )
        if validation:
            folder = (
                "validation_artifacts/post_fine_tuning_validation/validation/"
                if nested
                else "validation_artifacts/"
            )
            self.objects.put_bytes(
                "tailor-artifacts", base + folder + "validation_metrics.csv", VALIDATION_CSV.encode()
            )

    def published(self, detail_type: str) -> list[dict[str, Any]]:
        return self.events(detail_type)


@pytest.fixture
def world() -> StatusWorld:
    return StatusWorld(quota=50)


def test_event_driven_path_to_completed_with_metrics(world: StatusWorld) -> None:
    run_id, job = world.submitted("events")
    assert apply_observation(world.event(job, "InProgress", T0), world.status()) is StatusOutcome.CHANGED
    world.write_metrics(run_id, nested=True)
    completed = world.event(
        job,
        "Completed",
        T0 + timedelta(hours=1),
        outputModelArn="arn:aws:bedrock:us-east-1:1:custom-model/x/y",
    )
    assert apply_observation(completed, world.status()) is StatusOutcome.CHANGED
    changes = world.published("JobStatusChanged")
    assert [(c.get("previousStatus"), c["status"], c["observedVia"]) for c in changes] == [
        (None, "InProgress", "event"),
        ("InProgress", "Completed", "event"),
    ]
    (done,) = world.published("JobCompleted")
    assert done["outputModelArn"].endswith("custom-model/x/y")
    training, validation = done["trainingMetrics"], done["validationMetrics"]
    assert training["finalLoss"] == 1.5 and training["bestLoss"] == 1.5 and training["steps"] == 10
    assert training["epochs"] == 3 and training["csvUri"].endswith("step_wise_training_metrics.csv")
    assert validation["finalLoss"] == 1.6 and validation["bestLoss"] == 1.6 and validation["points"] == 2
    run = world.runs.get(run_id)
    assert run is not None and run.status is RunStatus.COMPLETED and run.facts.training_metrics is not None
    assert list(world.runs.list_active()) == []


def test_metrics_in_the_flat_layout_and_without_a_validation_set(world: StatusWorld) -> None:
    flat_run, flat_job = world.submitted("flat")
    world.write_metrics(flat_run, nested=False)
    solo_run, solo_job = world.submitted("solo", validation=False)
    world.write_metrics(solo_run, nested=False, validation=False)
    for job in (flat_job, solo_job):
        apply_observation(world.event(job, "Completed", T0, outputModelArn="arn:m"), world.status())
    done = {d["runId"]: d for d in world.published("JobCompleted")}
    assert done[flat_run]["validationMetrics"]["finalLoss"] == 1.6
    assert "validationMetrics" not in done[solo_run] and done[solo_run]["trainingMetrics"]["points"] == 10


def test_duplicated_and_out_of_order_events_are_no_ops(world: StatusWorld) -> None:
    _, job = world.submitted("dupes")
    status = world.status()
    apply_observation(world.event(job, "InProgress", T0), status)
    apply_observation(world.event(job, "Completed", T0 + timedelta(hours=2), outputModelArn="arn:m"), status)
    # Late, duplicated and older sightings after the end.
    assert (
        apply_observation(world.event(job, "InProgress", T0 + timedelta(minutes=1)), status)
        is StatusOutcome.UNCHANGED
    )
    assert (
        apply_observation(
            world.event(job, "Completed", T0 + timedelta(hours=2), outputModelArn="arn:m"), status
        )
        is StatusOutcome.UNCHANGED
    )
    assert (
        apply_observation(world.event(job, "Stopping", T0 + timedelta(minutes=30)), status)
        is StatusOutcome.UNCHANGED
    )
    assert [c["status"] for c in world.published("JobStatusChanged")] == ["InProgress", "Completed"]
    assert len(world.published("JobCompleted")) == 1


def test_failure_and_stop(world: StatusWorld) -> None:
    failed_run, failed_job = world.submitted("fails")
    stopped_run, stopped_job = world.submitted("stops")
    apply_observation(
        world.event(failed_job, "Failed", T0, failureMessage="Training data has too few rows"), world.status()
    )
    apply_observation(world.event(stopped_job, "Stopping", T0), world.status())
    apply_observation(world.event(stopped_job, "Stopped", T0 + timedelta(minutes=3)), world.status())
    (failed,) = world.published("JobFailed")
    assert failed["runId"] == failed_run and "too few rows" in failed["failureMessage"]
    (stopped,) = world.published("JobStopped")
    assert stopped["runId"] == stopped_run
    statuses = {r: world.runs.get(r).status for r in (failed_run, stopped_run)}  # type: ignore[union-attr]
    assert statuses == {failed_run: RunStatus.FAILED, stopped_run: RunStatus.STOPPED}


def test_lost_events_the_reconciler_catches_up(world: StatusWorld) -> None:
    run_id, job = world.submitted("quiet")
    world.write_metrics(run_id, nested=True)
    world.bedrock.set_status(
        job, "Completed", output_model_arn="arn:aws:bedrock:us-east-1:1:custom-model/q/z"
    )
    report = reconcile(world.status(datetime.now(UTC) + INTERVAL), INTERVAL)
    assert (report.stale, report.bedrock_calls, report.changed) == (1, 1, 1)
    changes = world.published("JobStatusChanged")
    assert [(c["status"], c["observedVia"]) for c in changes] == [("Completed", "poll")]
    assert world.published("JobCompleted")[0]["trainingMetrics"]["finalLoss"] == 1.5


def test_the_poll_costs_one_call_per_stale_run_and_nothing_for_fresh_ones(world: StatusWorld) -> None:
    runs = [world.submitted(f"run-{i}") for i in range(6)]
    # Three runs were heard from recently (an event updated them): they are not polled.
    for _, job in runs[:3]:
        apply_observation(world.event(job, "InProgress", datetime.now(UTC)), world.status())
    later = datetime.now(UTC) + timedelta(minutes=2)
    for run_id, _ in runs[3:]:
        record = world.runs.records[run_id]
        record.updated_at = (later - INTERVAL - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    report = reconcile(world.status(later), INTERVAL)
    assert report.active == 6 and report.stale == 3 and report.bedrock_calls == 3


def test_an_orphan_job_is_adopted_and_followed(world: StatusWorld) -> None:
    data = world.validated("orphan", FT, {"train.jsonl": lines(12), "validation.jsonl": lines(8)})
    name = job_name(data.run_id)
    # Submission created the job and died before recording it.
    world.bedrock.create_job(
        {
            "jobName": name,
            "clientRequestToken": request_token(name),
            "baseModelIdentifier": "amazon.nova-lite-v1:0:300k",
            "outputDataConfig": {"s3Uri": f"s3://tailor-artifacts/jobs/{data.run_id}/"},
            "jobTags": [{"key": "tailor-run-id", "value": data.run_id}],
        }
    )
    report = reconcile(world.status(datetime.now(UTC) + INTERVAL), INTERVAL)
    assert report.adopted == 1 and report.bedrock_calls == 1
    run = world.runs.get(data.run_id)
    assert run is not None and run.status is RunStatus.IN_PROGRESS and run.facts.job_arn
    assert len(world.published("JobSubmitted")) == 1
    assert [c["status"] for c in world.published("JobStatusChanged")] == ["InProgress"]
    # A run still waiting for its job (no job under its name) costs one call and stays put.
    waiting = world.validated("waiting", FT, {"train.jsonl": lines(13), "validation.jsonl": lines(8)})
    report = reconcile(world.status(datetime.now(UTC) + INTERVAL), INTERVAL)
    assert world.runs.get(waiting.run_id).status is RunStatus.VALIDATED  # type: ignore[union-attr]


def test_a_crash_between_the_transition_and_its_event_is_repaired(world: StatusWorld) -> None:
    _, job = world.submitted("crashy")
    status = world.status()
    real_publish = world.bus.publish
    world.bus.publish = lambda details: (_ for _ in ()).throw(ConnectionError("died"))  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        apply_observation(world.event(job, "InProgress", T0), status)
    world.bus.publish = real_publish  # type: ignore[method-assign]
    # The same event again, too soon: the applier may still be publishing. Later: repaired.
    assert apply_observation(world.event(job, "InProgress", T0), world.status()) is StatusOutcome.UNCHANGED
    assert world.published("JobStatusChanged") == []
    later = world.status(datetime.now(UTC) + REPAIR_AFTER + timedelta(seconds=1))
    apply_observation(world.event(job, "InProgress", T0), later)
    apply_observation(world.event(job, "InProgress", T0), later)
    assert [c["status"] for c in world.published("JobStatusChanged")] == ["InProgress"]


def test_jobs_that_are_not_tailor_s_and_unknown_statuses_are_ignored(world: StatusWorld) -> None:
    world.bedrock.create_job(
        {"jobName": "someone-else", "baseModelIdentifier": "x", "clientRequestToken": "t"}
    )
    assert (
        apply_observation(world.event("someone-else", "Completed", T0), world.status())
        is StatusOutcome.NOT_OURS
    )
    _, job = world.submitted("future")
    assert apply_observation(world.event(job, "Paused", T0), world.status()) is StatusOutcome.UNKNOWN_STATUS
