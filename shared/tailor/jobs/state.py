"""The run state machine. Transitions are guarded and monotonic: re-applying one that already
happened, or one older than the run's state (a late ``InProgress`` after ``Completed``), or one
whose source timestamp is older than the last one applied, is a no-op — never an error. Every
consumer is therefore safe under at-least-once, out-of-order delivery."""

from __future__ import annotations

from enum import IntEnum, StrEnum


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
    # SUBMISSION_FAILED is terminal: a transient failure keeps the message on its queue instead;
    # only a permanent one (or "no backend runs this", e.g. Nova CPT) ends the run there.
    S.VALIDATED: frozenset({S.SUBMITTED, S.SUBMISSION_FAILED}),
    S.SUBMITTED: frozenset({S.IN_PROGRESS, S.STOPPING, S.COMPLETED, S.FAILED, S.STOPPED}),
    S.IN_PROGRESS: frozenset({S.STOPPING, S.COMPLETED, S.FAILED, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPED, S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset({S.EXPORTING}),
    S.EXPORTING: frozenset({S.PUBLISHED, S.EXPORT_FAILED}),
    S.EXPORT_FAILED: frozenset({S.EXPORTING}),
    S.PUBLISHED: frozenset({S.EXPORTING}),
    S.REJECTED: frozenset(),
    S.SUBMISSION_FAILED: frozenset(),
    S.FAILED: frozenset(),
    S.STOPPED: frozenset(),
}

# How far along a run is. An input whose target ranks at or below the run's current state is
# stale (late, duplicated or out of order) and is ignored.
RANK: dict[RunStatus, int] = {
    S.RECEIVED: 0,
    S.VALIDATED: 1,
    S.REJECTED: 1,
    S.SUBMITTED: 2,
    S.SUBMISSION_FAILED: 2,
    S.IN_PROGRESS: 3,
    S.STOPPING: 4,
    S.COMPLETED: 5,
    S.FAILED: 5,
    S.STOPPED: 5,
    S.EXPORTING: 6,
    S.PUBLISHED: 7,
    S.EXPORT_FAILED: 7,
}

# Runs the reconciler must keep looking at: kept in the sparse ActiveRunsIndex.
ACTIVE: frozenset[RunStatus] = frozenset(
    {S.RECEIVED, S.VALIDATED, S.SUBMITTED, S.IN_PROGRESS, S.STOPPING, S.EXPORTING}
)
# Ended without a trained model: the same content uploaded again starts a new attempt.
RETRYABLE_ENDS: frozenset[RunStatus] = frozenset({S.FAILED, S.STOPPED, S.SUBMISSION_FAILED})


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """Every state from which ``target`` may be entered."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return target in TRANSITIONS[current]


class Verdict(IntEnum):
    APPLY = 1
    NO_OP = 2  # already there, stale, or out of order
    INVALID = 3  # a forward move the machine does not allow: a bug in the caller


def judge(
    current: RunStatus,
    target: RunStatus,
    *,
    current_source_time: str | None = None,
    source_time: str | None = None,
) -> Verdict:
    """What to do with a request to move a run in ``current`` to ``target``. Times are the
    source's own ISO-8601 UTC timestamps (e.g. Bedrock's ``lastModifiedTime``), when it has one."""
    stale_time = (
        source_time is not None and current_source_time is not None and source_time < current_source_time
    )
    if can_transition(current, target):
        return Verdict.NO_OP if stale_time else Verdict.APPLY
    if current is target or RANK[target] <= RANK[current] or stale_time:
        return Verdict.NO_OP
    return Verdict.INVALID


class InvalidTransitionError(RuntimeError):
    """A forward move the state machine does not allow (e.g. REJECTED → SUBMITTED)."""

    def __init__(self, run_id: str, current: RunStatus | None, target: RunStatus) -> None:
        where = "does not exist" if current is None else f"is {current.value}"
        super().__init__(f"run {run_id} {where}; cannot move it to {target.value}")
        self.run_id = run_id
        self.current = current
        self.target = target


class RunNotFoundError(LookupError):
    """The run id names no run (both RunStore implementations raise this, for every write)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} does not exist")
        self.run_id = run_id
