"""Apply what Bedrock says about a job to its run: one event per real transition, in order.

Both inputs — Bedrock's state-change events and the reconciler's polls — end here. The run store's
transition is monotonic (by state rank and by Bedrock's ``lastModifiedTime``): a late, duplicated
or out-of-order sighting is a no-op. Each applied transition publishes exactly one
``JobStatusChanged`` (and, when terminal, ``JobCompleted`` / ``JobFailed`` / ``JobStopped``); the
run records what it published, so a crash between the transition and the publish is repaired by
the next sighting (the event ids are deterministic: a repeat is recognisable).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tailor.adapters.bedrock import BedrockGateway, JobInfo
from tailor.adapters.bus import EventPublisher
from tailor.adapters.object_store import ObjectStore
from tailor.adapters.runs import RunStore
from tailor.events.constants import DetailType, Source
from tailor.events.envelope import new_detail
from tailor.events.models import (
    EventData,
    JobCompleted,
    JobFailed,
    JobStatusChanged,
    JobStopped,
    JobSubmitted,
    LossMetrics,
    SubTaskStatuses,
)
from tailor.jobs.run import RunFacts, RunRecord, utcnow_iso
from tailor.jobs.state import RunStatus
from tailor.status.metrics import read_job_metrics
from tailor.status.observation import JobObservation

logger = logging.getLogger(__name__)

RUN_TAG = "tailor-run-id"
# A transition applied by another consumer gets this long to publish before a sighting repairs it.
REPAIR_AFTER = timedelta(seconds=60)
_JOB_STATUS = {"InProgress", "Completed", "Failed", "Stopping", "Stopped"}
_BEFORE_JOB = frozenset({RunStatus.RECEIVED, RunStatus.VALIDATED})


@dataclass
class StatusDeps:
    runs: RunStore
    bus: EventPublisher
    bedrock: BedrockGateway
    objects: ObjectStore
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


class StatusOutcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # stale, duplicate or out of order: a no-op
    NOT_OURS = "not-ours"  # a job without Tailor's run tag
    UNKNOWN_STATUS = "unknown-status"


def marker(status: RunStatus) -> str:
    """What the run records once ``JobStatusChanged`` into ``status`` was published."""
    return f"{DetailType.JOB_STATUS_CHANGED.value}:{status.value}"


def run_of(observation: JobObservation, deps: StatusDeps) -> RunRecord | None:
    """The run a job belongs to, by the job's ``tailor-run-id`` tag (Bedrock events carry no run id)."""
    run_id = deps.bedrock.tags_of(observation.job_arn).get(RUN_TAG)
    return deps.runs.get(run_id) if run_id else None


def apply_observation(
    observation: JobObservation, deps: StatusDeps, run: RunRecord | None = None
) -> StatusOutcome:
    run = run or run_of(observation, deps)
    if run is None:
        logger.info("job without a Tailor run: ignored", extra={"job_arn": observation.job_arn})
        return StatusOutcome.NOT_OURS
    target = observation.run_status
    if target is None:
        logger.warning(
            "unknown Bedrock job status", extra={"status": observation.status, "run_id": run.run_id}
        )
        return StatusOutcome.UNKNOWN_STATUS
    if run.status in _BEFORE_JOB:
        # The submission crash window: the job exists, its run never heard of it.
        run = adopt(run, deps.bedrock.get_job(observation.job_arn) or observation, deps)
    previous = run.facts.job_status if run.facts.job_status in _JOB_STATUS else None
    facts = RunFacts(
        job_arn=observation.job_arn,
        job_status=observation.status,
        previous_job_status=previous if previous != observation.status else None,
        sub_tasks=_sub_tasks(observation.sub_tasks) if observation.sub_tasks else None,
        last_observed_at=utcnow_iso(),
        observed_via=observation.observed_via,
        failure_message=observation.failure_message,
        output_model_arn=observation.output_model_arn,
        output_model_name=observation.output_model_name,
    )
    applied = deps.runs.transition(
        run.run_id,
        target,
        reason=f"Bedrock: {observation.status} ({observation.observed_via})",
        facts=facts,
        source_time=observation.last_modified,
    )
    current = deps.runs.get(run.run_id)
    assert current is not None
    if current.status is not target or not _should_publish(current, target, applied, deps):
        return StatusOutcome.CHANGED if applied else StatusOutcome.UNCHANGED
    if not applied:  # a repair: the change was applied before, its previous status recorded then
        previous = current.facts.previous_job_status or previous
    _publish_transition(current, previous, observation, deps)
    return StatusOutcome.CHANGED


def _should_publish(run: RunRecord, target: RunStatus, applied: bool, deps: StatusDeps) -> bool:
    if marker(target) in run.published:
        return False
    if applied:
        return True
    # Not ours to apply, and not yet published: publish only once the applier had its chance.
    updated = datetime.fromisoformat(run.updated_at.replace("Z", "+00:00"))
    return deps.now - updated >= REPAIR_AFTER


def _sub_tasks(found: dict[str, str]) -> SubTaskStatuses:
    return SubTaskStatuses(
        validation=found.get("validation"),
        data_processing=found.get("dataProcessing"),
        training=found.get("training"),
    )


def _publish_transition(
    run: RunRecord, previous: str | None, observation: JobObservation, deps: StatusDeps
) -> None:
    changed = JobStatusChanged(
        run_id=run.run_id,
        job_arn=observation.job_arn,
        previous_status=previous,
        status=observation.status,
        sub_tasks=run.facts.sub_tasks or SubTaskStatuses(),
        observed_via=observation.observed_via,
    )
    details: list[EventData] = [changed]
    terminal = _terminal_event(run, observation, deps)
    if terminal is not None:
        details.append(terminal)
    deps.bus.publish([new_detail(d, producer=Source.STATUS.value) for d in details])
    deps.runs.mark_published(run.run_id, marker(run.status))
    if terminal is not None:
        deps.runs.mark_published(run.run_id, _detail_type(terminal))
    logger.info("job %s", observation.status, extra={"run_id": run.run_id, "via": observation.observed_via})


def _detail_type(event: EventData) -> str:
    return {JobCompleted: "JobCompleted", JobFailed: "JobFailed", JobStopped: "JobStopped"}[type(event)]


def _terminal_event(run: RunRecord, observation: JobObservation, deps: StatusDeps) -> EventData | None:
    if run.status is RunStatus.FAILED:
        return JobFailed(
            run_id=run.run_id,
            job_arn=observation.job_arn,
            failure_message=observation.failure_message
            or run.facts.failure_message
            or "Bedrock gave no reason",
            end_time=observation.end_time,
        )
    if run.status is RunStatus.STOPPED:
        return JobStopped(
            run_id=run.run_id,
            job_arn=observation.job_arn,
            failure_message=observation.failure_message,
            end_time=observation.end_time,
        )
    if run.status is not RunStatus.COMPLETED:
        return None
    model_arn = observation.output_model_arn or run.facts.output_model_arn
    model_name = observation.output_model_name or run.facts.output_model_name
    if not model_arn:  # an event may omit it: Bedrock's own record has it
        job = deps.bedrock.get_job(observation.job_arn)
        model_arn = job.output_model_arn if job else None
        model_name = model_name or (job.output_model_name if job else None)
    training = validation = None
    if run.facts.output_uri:
        training, validation = read_job_metrics(deps.objects, run.facts.output_uri)
        deps.runs.add_facts(run.run_id, RunFacts(training_metrics=training, validation_metrics=validation))
    return JobCompleted(
        run_id=run.run_id,
        job_arn=observation.job_arn,
        output_model_arn=model_arn or "",
        output_model_name=model_name,
        training_metrics=training or LossMetrics(),
        validation_metrics=validation,
        end_time=observation.end_time,
        backend=observation.backend,
        requires_provisioned_throughput=observation.requires_provisioned_throughput,
        note=observation.note,
    )


def adopt(run: RunRecord, observation: JobObservation | JobInfo, deps: StatusDeps) -> RunRecord:
    """Record a job that submission created but died before recording (the crash window), and
    publish the JobSubmitted it never sent. Safe to repeat."""
    arn = observation.job_arn if isinstance(observation, JobObservation) else observation.arn
    name = observation.job_name if isinstance(observation, JobObservation) else observation.name
    output = None if isinstance(observation, JobObservation) else observation.output_uri
    facts = RunFacts(job_arn=arn, job_name=name, output_uri=output)
    if run.status is RunStatus.VALIDATED and deps.runs.transition(
        run.run_id,
        RunStatus.SUBMITTED,
        reason="adopted: the job existed, its run did not know it",
        facts=facts,
    ):
        submitted = JobSubmitted(
            run_id=run.run_id,
            job_arn=arn,
            job_name=name or "",
            custom_model_name=observation.output_model_name or "",
            technique=run.technique or "",
            base_model_id=run.base_model_id or "",
            output_uri=output,
        )
        deps.bus.publish([new_detail(submitted, producer=Source.SUBMISSION.value)])
        deps.runs.mark_published(run.run_id, DetailType.JOB_SUBMITTED.value)
        logger.warning("adopted an unrecorded job", extra={"run_id": run.run_id, "job_arn": arn})
    adopted = deps.runs.get(run.run_id)
    assert adopted is not None
    return adopted
