"""The run state machine. Transitions are guarded; re-applying one that already happened is a no-op
(every consumer is safe under at-least-once delivery)."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RECEIVED = "RECEIVED"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"
    SUBMITTED = "SUBMITTED"
    SUBMISSION_FAILED = "SUBMISSION_FAILED"
    IN_PROGRESS = "IN_PROGRESS"
    STOPPING = "STOPPING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    EXPORTING = "EXPORTING"
    PUBLISHED = "PUBLISHED"
    EXPORT_FAILED = "EXPORT_FAILED"


S = RunStatus
# from → allowed next states.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.RECEIVED: frozenset({S.VALIDATED, S.REJECTED}),
    S.VALIDATED: frozenset({S.SUBMITTED, S.SUBMISSION_FAILED}),
    S.SUBMISSION_FAILED: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.IN_PROGRESS, S.STOPPING, S.COMPLETED, S.FAILED, S.STOPPED}),
    S.IN_PROGRESS: frozenset({S.STOPPING, S.COMPLETED, S.FAILED, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPED, S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset({S.EXPORTING}),
    S.EXPORTING: frozenset({S.PUBLISHED, S.EXPORT_FAILED}),
    S.EXPORT_FAILED: frozenset({S.EXPORTING}),
    S.PUBLISHED: frozenset({S.EXPORTING}),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.STOPPED: frozenset(),
}

# Runs the reconciler must keep looking at: kept in the sparse ActiveRunsIndex.
ACTIVE: frozenset[RunStatus] = frozenset(
    {S.RECEIVED, S.VALIDATED, S.SUBMITTED, S.IN_PROGRESS, S.STOPPING, S.EXPORTING}
)


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """Every state from which ``target`` may be entered."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return target in TRANSITIONS[current]


class InvalidTransitionError(RuntimeError):
    def __init__(self, run_id: str, current: RunStatus | None, target: RunStatus) -> None:
        where = "does not exist" if current is None else f"is {current.value}"
        super().__init__(f"run {run_id} {where}; cannot move it to {target.value}")
        self.run_id = run_id
        self.current = current
        self.target = target
