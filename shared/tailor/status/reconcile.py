"""The reconciling poll: Bedrock's events are best effort, so every few minutes the runs that have
not moved within the interval are looked at directly.

Cost bound: one Bedrock call per stale non-terminal run per cycle (a run waiting for its job
looks its own job up by name; a running one is described by ARN), never a listing of the account's
jobs. Fresh runs cost nothing. A throttled call ends the cycle early: the rest waits for the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tailor.adapters.bedrock import BedrockError, BedrockGateway, ErrorKind, JobInfo
from tailor.jobs.naming import job_name, request_token
from tailor.jobs.run import RunRecord
from tailor.jobs.state import RunStatus
from tailor.runtime import Deadline, DeadlineReachedError
from tailor.status.observation import JobObservation
from tailor.status.service import StatusDeps, StatusOutcome, adopt, apply_observation

logger = logging.getLogger(__name__)

MAX_NAME_COLLISIONS = 5  # as submission: the names a run's job may have
_POLLED = frozenset({RunStatus.SUBMITTED, RunStatus.IN_PROGRESS, RunStatus.STOPPING})


@dataclass
class CycleReport:
    active: int = 0
    stale: int = 0
    bedrock_calls: int = 0
    changed: int = 0
    adopted: int = 0
    throttled: bool = False
    out_of_time: bool = False
    errors: list[str] = field(default_factory=list)


def _stale(run: RunRecord, now: datetime, interval: timedelta) -> bool:
    updated = datetime.fromisoformat(run.updated_at.replace("Z", "+00:00"))
    return now - updated >= interval


def own_job(bedrock: BedrockGateway, run_id: str, report: CycleReport) -> JobInfo | None:
    """The job submission created for ``run_id`` (deterministic name and token), if any."""
    for collisions in range(MAX_NAME_COLLISIONS):
        name = job_name(run_id, collisions)
        report.bedrock_calls += 1
        job = bedrock.get_job(name)
        if job is None:
            return None  # names are taken in order: no later one is ours
        if job.client_request_token == request_token(name):
            return job
    return None


def reconcile(deps: StatusDeps, interval: timedelta, deadline: Deadline | None = None) -> CycleReport:
    report = CycleReport()
    deadline = deadline or Deadline.unlimited()
    for run in deps.runs.list_active(limit=100_000):
        report.active += 1
        if run.status not in _POLLED and run.status is not RunStatus.VALIDATED:
            continue  # RECEIVED (ingestion's), EXPORTING (edge's): not Bedrock's to tell
        if not _stale(run, deps.now, interval):
            continue
        report.stale += 1
        try:
            deadline.check(what="the next run")
        except DeadlineReachedError:
            report.out_of_time = True
            break
        try:
            _reconcile_one(run, deps, report)
        except BedrockError as error:
            if error.kind in (ErrorKind.RETRY, ErrorKind.QUOTA):
                report.throttled = True
                logger.warning(
                    "Bedrock throttled the reconciler: the rest waits", extra={"run_id": run.run_id}
                )
                break
            report.errors.append(f"{run.run_id}: {error}")
    logger.info(
        "reconciled",
        extra={
            "active": report.active,
            "stale": report.stale,
            "calls": report.bedrock_calls,
            "changed": report.changed,
        },
    )
    return report


def _reconcile_one(run: RunRecord, deps: StatusDeps, report: CycleReport) -> None:
    if run.status is RunStatus.VALIDATED:
        job = own_job(deps.bedrock, run.run_id, report)
        if job is None:
            return  # still waiting for submission (e.g. held by the quota)
        run = adopt(run, job, deps)
        report.adopted += 1
        observation = JobObservation.from_job(job)
    else:
        if not run.facts.job_arn:
            return
        report.bedrock_calls += 1
        found = deps.bedrock.get_job(run.facts.job_arn)
        if found is None:
            report.errors.append(f"{run.run_id}: job {run.facts.job_arn} not found")
            return
        observation = JobObservation.from_job(found)
    if apply_observation(observation, deps, run) is StatusOutcome.CHANGED:
        report.changed += 1
