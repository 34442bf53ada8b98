"""Races and Bedrock's own unreliability (issue "Prove it holds", item 2), through the embedded local
stack built from template.yaml (Bedrock training SIMULATED by ``tailor.local.bedrock_sim``):

- two consumers racing on one run (two Lambda execution environments: the service entry points in
  two threads against the stack's DynamoDB and Bedrock, forced to interleave at the create and at
  the conditional write) → one job, one transition, one event;
- lost, late, duplicated and out-of-order Bedrock events (delivered by the test in its own order,
  or by the simulator's late/duplicate draws) → the run ends where Bedrock says, each transition
  published once; the reconciling poll (``stack.fire_schedules()``) catches up what was lost.
No wall-clock assertions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from faults_helpers import (
    held_back,
    history_of,
    job_arn_of,
    jobs_of,
    of,
    run_ids_of,
    settle,
    status_of,
    storm,
    take,
    upload_dataset,
)

from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


# -- two consumers racing on one run ----------------------------------------------------------------


def _race(fn: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(fn) for _ in range(2)]
        return [f.result(timeout=60) for f in futures]


def test_two_consumers_of_one_run_make_one_job_one_transition_one_event(
    stack: LocalStack,
) -> None:
    # AWS applies each conditional write and idempotent create atomically; moto's backends do not
    # lock, so the local stack serializes moto's requests (tailor.local.moto_atomic).
    from tailor.local import moto_atomic

    assert moto_atomic.installed()
    from tailor.adapters.bedrock import BedrockClient
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.events.aws import BedrockJobStateChangeDetail
    from tailor.events.parse import parse_event
    from tailor.jobs.pricing import price_table
    from tailor.status.observation import JobObservation
    from tailor.status.service import StatusDeps, StatusOutcome, apply_observation
    from tailor.submission.backends import BedrockBackend
    from tailor.submission.request import SubmissionSettings
    from tailor.submission.service import Delivery, SubmissionDeps, SubmitOutcome, submit_run

    label = "race"
    with held_back(stack, "SubmitQueue"):
        upload_dataset(stack, label)
        settle(stack)
        (validated,) = take(stack, "SubmitQueue")
    (run_id,) = run_ids_of(stack, label)
    data = parse_event(stack.dispatcher.repairs.repair_body(validated)).detail.data  # + moto's gaps
    table, bus = stack.env_value("RUNS_TABLE"), stack.env_value("TAILOR_BUS_NAME")
    settings = SubmissionSettings.from_env(stack.function_env("SubmissionFunction"))

    # Submission: both consumers read VALIDATED, both create (the barrier holds the first create
    # until the second consumer reaches it), the conditional transition records the job once.
    both_create = threading.Barrier(2)
    real_create = BedrockClient.create_job

    def create(self: BedrockClient, request: Any) -> str:
        both_create.wait(timeout=30)
        return real_create(self, request)

    def submit() -> SubmitOutcome:
        deps = SubmissionDeps(
            runs=DynamoRunStore(table),
            bus=EventBridgePublisher(bus),
            backends=(BedrockBackend(BedrockClient()),),
            settings=settings,
            prices=price_table(settings.prices_json),
        )
        return submit_run(data, Delivery(receive_count=1), deps).outcome

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BedrockClient, "create_job", create)
        outcomes = _race(submit)
    assert sorted(outcomes) == sorted([SubmitOutcome.SUBMITTED, SubmitOutcome.ALREADY_DONE])
    assert len(jobs_of(stack, run_id)) == 1
    assert len(of(stack.published_events(), "JobSubmitted", run_id)) == 1

    # Status: both consumers see the same Completed event and both try the transition at once.
    with held_back(stack, "StatusQueue"):
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        settle(stack)
        bodies = [orjson.loads(b) for b in take(stack, "StatusQueue")]
    (event,) = [b for b in bodies if b["detail"].get("jobStatus") == "Completed"]
    observation = JobObservation.from_event(BedrockJobStateChangeDetail.model_validate(event["detail"]))
    both_transition = threading.Barrier(2)
    real_transition = DynamoRunStore.transition

    def transition(self: DynamoRunStore, *args: Any, **kwargs: Any) -> bool:
        both_transition.wait(timeout=30)
        return real_transition(self, *args, **kwargs)

    def apply() -> StatusOutcome:
        deps = StatusDeps(
            runs=DynamoRunStore(table),
            bus=EventBridgePublisher(bus),
            bedrock=BedrockClient(),
            objects=S3ObjectStore(),
        )
        return apply_observation(observation, deps)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoRunStore, "transition", transition)
        statuses = _race(apply)
    assert sorted(statuses) == sorted([StatusOutcome.CHANGED, StatusOutcome.UNCHANGED])
    events = settle(stack)
    assert [c["status"] for c in of(events, "JobStatusChanged", run_id)] == ["Completed"]
    assert len(of(events, "JobCompleted", run_id)) == 1
    assert history_of(stack, run_id).count("COMPLETED") == 1


# -- Bedrock's events: lost, late, duplicated, out of order ---------------------------------------


def _submitted(stack: LocalStack, label: str, **extra: Any) -> str:
    upload_dataset(stack, label, **extra)
    settle(stack)
    (run_id,) = run_ids_of(stack, label)
    assert status_of(stack, run_id) == "SUBMITTED"
    return run_id


def _age(stack: LocalStack, run_id: str, minutes: int = 10) -> None:
    """As if the reconcile interval had passed since the run was last updated."""
    old = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    stack.client("dynamodb").update_item(
        TableName=stack.env_value("RUNS_TABLE"),
        Key={"runId": {"S": run_id}},
        UpdateExpression="SET updatedAt = :old",
        ExpressionAttributeValues={":old": {"S": old.replace("+00:00", "Z")}},
    )


def _job_statuses(bodies: list[str]) -> list[str]:
    return [orjson.loads(b)["detail"]["jobStatus"] for b in bodies]


def test_bedrock_events_reversed_and_each_delivered_twice_change_the_run_once(stack: LocalStack) -> None:
    run_id = _submitted(stack, "reversed")
    with held_back(stack, "StatusQueue"):
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        settle(stack)
        bodies = take(stack, "StatusQueue")
    assert _job_statuses(bodies)[-1] == "Completed" and "InProgress" in _job_statuses(bodies)

    storm(stack, "StatusQueue", list(reversed(bodies)), copies=2)  # newest first, each twice
    events = settle(stack)
    assert [c["status"] for c in of(events, "JobStatusChanged", run_id)] == ["Completed"]
    assert len(of(events, "JobCompleted", run_id)) == 1
    assert status_of(stack, run_id) == "COMPLETED"


def test_late_and_duplicated_simulator_events_publish_each_transition_once(stack: LocalStack) -> None:
    """The simulator's own faults: InProgress is held back and put after Completed (late, out of
    order), Completed is put twice (duplicated)."""
    run_id = _submitted(stack, "jittery")
    simulator = stack.bedrock_simulator
    late = replace(simulator.config, late_probability=1.0, duplicate_probability=0.0)
    doubled = replace(simulator.config, late_probability=0.0, duplicate_probability=1.0)
    events: list[dict[str, Any]] = []
    put: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulator, "config", late)
        put += simulator.advance(job_arn_of(stack, run_id))  # InProgress: held back
        events += settle(stack)
        patch.setattr(simulator, "config", doubled)
        put += simulator.finish(job_arn_of(stack, run_id), deliver_late=False)  # Completed, twice
        events += settle(stack)
        put += simulator.flush()  # InProgress, at last
        events += settle(stack)
    ours = [(e.status, e.late, e.duplicate) for e in put if e.job_arn == job_arn_of(stack, run_id)]
    assert ours == [("Completed", False, False), ("Completed", False, True), ("InProgress", True, False)]
    assert [c["status"] for c in of(events, "JobStatusChanged", run_id)] == ["Completed"]
    assert len(of(events, "JobCompleted", run_id)) == 1
    assert status_of(stack, run_id) == "COMPLETED"


def test_a_lost_completed_event_is_caught_up_by_the_reconciling_poll(stack: LocalStack) -> None:
    run_id = _submitted(stack, "lost")
    with held_back(stack, "StatusQueue"):
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        settle(stack)
        bodies = take(stack, "StatusQueue")
    kept = [b for b in bodies if orjson.loads(b)["detail"]["jobStatus"] != "Completed"]
    assert len(kept) < len(bodies)  # the Completed event is lost; the InProgress ones arrive
    storm(stack, "StatusQueue", kept, copies=1)
    events = settle(stack)
    assert of(events, "JobCompleted", run_id) == [] and status_of(stack, run_id) == "IN_PROGRESS"

    _age(stack, run_id)
    stack.fire_schedules(["StatusFunctionReconcile"])
    events = settle(stack)
    assert [(c["status"], c["observedVia"]) for c in of(events, "JobStatusChanged", run_id)] == [
        ("Completed", "poll")
    ]
    assert len(of(events, "JobCompleted", run_id)) == 1

    # The lost event turns up after all (late), and the poll runs again: nothing new.
    storm(stack, "StatusQueue", [b for b in bodies if b not in kept], copies=2)
    _age(stack, run_id)
    stack.fire_schedules(["StatusFunctionReconcile"])
    events = settle(stack)
    assert of(events, "JobStatusChanged", run_id) == [] and of(events, "JobCompleted", run_id) == []
    assert status_of(stack, run_id) == "COMPLETED"
