"""A PyTorchJob's state in Bedrock's words, from its conditions and its master pod.

HyperPod emits no job events: the reconciler reads the Kubeflow training-operator's conditions.
``Created``/``Running`` → InProgress, ``Restarting`` stays InProgress (the operator restarts
failed replicas by its restart policy), ``Succeeded`` → Completed, ``Failed`` → Failed. A master
pod in ``CrashLoopBackOff`` past a few restarts is a failure even while the job still says
Running/Restarting: it will not heal by itself, and the pod's reason is the message a person needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CRASH_LOOP_RESTARTS = 3
_BACKOFF = frozenset({"CrashLoopBackOff"})
_NEVER_STARTS = frozenset({"InvalidImageName", "CreateContainerConfigError"})


@dataclass(frozen=True, slots=True)
class JobState:
    status: str  # InProgress | Completed | Failed
    reason: str  # the condition (or pod state) that decided it
    failure_message: str | None = None
    last_modified: datetime | None = None
    end_time: datetime | None = None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _true(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind and c.get("status") == "True"), None)


def master_pod(pods: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if str(labels.get("training.kubeflow.org/replica-type", "")).lower() == "master":
            return pod
    return None


def crash_loop(pod: Mapping[str, Any] | None) -> str | None:
    """The failure message when the pod's container will not run, else None."""
    if not pod:
        return None
    name = (pod.get("metadata") or {}).get("name", "the master pod")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        restarts = int(status.get("restartCount") or 0)
        if reason in _NEVER_STARTS or (reason in _BACKOFF and restarts >= CRASH_LOOP_RESTARTS):
            last = (status.get("lastState") or {}).get("terminated") or {}
            cause = last.get("reason") or waiting.get("message") or "unknown"
            exit_code = last.get("exitCode")
            detail = str(last.get("message") or waiting.get("message") or "").strip()
            text = f"pod {name} is in {reason} after {restarts} restarts: {cause}"
            if exit_code is not None:
                text += f" (exit code {exit_code})"
            if detail:
                text += f": {detail[:500]}"
            return text
    return None


def job_state(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]] = ()) -> JobState:
    status = job.get("status") or {}
    conditions: list[Mapping[str, Any]] = list(status.get("conditions") or [])
    times = [t for c in conditions for t in (_time(c.get("lastTransitionTime")),) if t is not None]
    last = max(times) if times else _time((job.get("metadata") or {}).get("creationTimestamp"))
    end = _time(status.get("completionTime"))
    succeeded = _true(conditions, "Succeeded")
    if succeeded is not None:
        return JobState(
            "Completed", "Succeeded", None, last, end or _time(succeeded.get("lastTransitionTime"))
        )
    failed = _true(conditions, "Failed")
    if failed is not None:
        message = str(failed.get("message") or failed.get("reason") or "the PyTorchJob failed")
        looping = crash_loop(master_pod(pods))
        if looping:
            message = f"{message}; {looping}"
        return JobState("Failed", "Failed", message, last, end or _time(failed.get("lastTransitionTime")))
    looping = crash_loop(master_pod(pods))
    if looping is not None:
        return JobState("Failed", "CrashLoop", looping, last, last)
    for kind in ("Restarting", "Running", "Created"):
        if _true(conditions, kind) is not None:
            return JobState("InProgress", kind, None, last)
    return JobState("InProgress", "Pending", None, last)
