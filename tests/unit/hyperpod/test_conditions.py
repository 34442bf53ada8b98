"""Every PyTorchJob condition maps to Bedrock's word; a crash-looping master pod is a failure."""

from __future__ import annotations

from typing import Any

import pytest

from tailor.hyperpod.conditions import CRASH_LOOP_RESTARTS, crash_loop, job_state, master_pod


def _job(*conditions: tuple[str, str], completion: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [
            {
                "type": kind,
                "status": value,
                "reason": f"PyTorchJob{kind}",
                "message": f"job is {kind.lower()}",
                "lastTransitionTime": f"2026-12-02T10:0{i}:00Z",
            }
            for i, (kind, value) in enumerate(conditions)
        ]
    }
    if completion:
        status["completionTime"] = completion
    return {"metadata": {"name": "j", "creationTimestamp": "2026-12-02T09:59:00Z"}, "status": status}


def _pod(replica: str = "master", *, waiting: str | None = None, restarts: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "pytorch", "restartCount": restarts, "state": {"running": {}}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting, "message": "back-off restarting"}}
        container["lastState"] = {
            "terminated": {"reason": "Error", "exitCode": 1, "message": "ChildFailedError: rank 0 died"}
        }
    return {
        "metadata": {"name": f"j-{replica}-0", "labels": {"training.kubeflow.org/replica-type": replica}},
        "status": {"phase": "Running", "containerStatuses": [container]},
    }


@pytest.mark.parametrize(
    ("conditions", "status", "reason"),
    [
        ((), "InProgress", "Pending"),
        ((("Created", "True"),), "InProgress", "Created"),
        ((("Created", "True"), ("Running", "True")), "InProgress", "Running"),
        ((("Created", "True"), ("Running", "False"), ("Restarting", "True")), "InProgress", "Restarting"),
        ((("Created", "True"), ("Running", "False"), ("Succeeded", "True")), "Completed", "Succeeded"),
        ((("Created", "True"), ("Running", "False"), ("Failed", "True")), "Failed", "Failed"),
    ],
)
def test_each_condition_maps_to_bedrocks_word(conditions: Any, status: str, reason: str) -> None:
    state = job_state(_job(*conditions))
    assert (state.status, state.reason) == (status, reason)


def test_a_false_condition_does_not_count() -> None:
    assert job_state(_job(("Created", "True"), ("Succeeded", "False"))).status == "InProgress"


def test_the_latest_transition_is_the_source_time_and_completion_the_end() -> None:
    state = job_state(_job(("Created", "True"), ("Succeeded", "True"), completion="2026-12-02T11:00:00Z"))
    assert state.last_modified is not None and state.last_modified.minute == 1
    assert state.end_time is not None and state.end_time.hour == 11


def test_failed_carries_the_operator_message() -> None:
    state = job_state(_job(("Created", "True"), ("Failed", "True")))
    assert state.failure_message == "job is failed"


def test_a_crash_looping_master_pod_fails_the_job_with_the_pods_reason() -> None:
    pods = [_pod("worker"), _pod("master", waiting="CrashLoopBackOff", restarts=CRASH_LOOP_RESTARTS)]
    state = job_state(_job(("Created", "True"), ("Running", "True")), pods)
    assert state.status == "Failed" and state.reason == "CrashLoop"
    message = state.failure_message or ""
    assert "CrashLoopBackOff" in message and "exit code 1" in message and "ChildFailedError" in message
    assert "j-master-0" in message


def test_a_few_restarts_are_not_yet_a_crash_loop() -> None:
    pods = [_pod("master", waiting="CrashLoopBackOff", restarts=CRASH_LOOP_RESTARTS - 1)]
    assert job_state(_job(("Created", "True"), ("Restarting", "True")), pods).status == "InProgress"


def test_a_crash_looping_worker_is_the_operators_business() -> None:
    pods = [_pod("master"), _pod("worker", waiting="CrashLoopBackOff", restarts=10)]
    assert job_state(_job(("Running", "True")), pods).status == "InProgress"


def test_an_image_that_can_never_start_fails_at_once() -> None:
    assert crash_loop(_pod("master", waiting="InvalidImageName")) is not None


def test_master_pod_is_found_by_its_replica_type_label() -> None:
    assert master_pod([_pod("worker"), _pod("master")]) is not None
    assert master_pod([_pod("worker")]) is None
    assert crash_loop(None) is None
