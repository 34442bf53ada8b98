"""Submit one validated run: exactly one Bedrock job, never a doomed one, never over budget.

Exactly once, without Powertools Idempotency: the run record already is the idempotency record.
A run that has its job ARN is done (a duplicate re-publishes nothing new); a run without one is
submitted under a name and token derived from its id, so a retry after a crash between Bedrock's
create and the run update finds its own job (same token) and records it instead of creating a
second; concurrent consumers race on the same name and token, and the conditional transition
records the job once. The tests prove each case (tests/unit/submission).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from tailor.adapters.bus import EventPublisher
from tailor.adapters.errors import BackendCallError, ErrorKind
from tailor.adapters.runs import RunStore
from tailor.events.constants import DetailType, Source
from tailor.events.envelope import new_detail
from tailor.events.models import CostEstimate, DatasetValidated, JobSubmissionFailed, JobSubmitted
from tailor.jobs.catalog import CPT_BACKEND_NOTE, Technique, UnknownModelError, UnknownTechniqueError
from tailor.jobs.catalog import resolve_model as _resolve_model
from tailor.jobs.pricing import PriceTable, budget_verdict, estimate_for_spec
from tailor.jobs.run import RunFacts, RunRecord, utcnow_iso
from tailor.jobs.state import RunStatus
from tailor.runtime import HoldMessage
from tailor.submission.backends import CustomizationBackend, StartedJob, backend_for
from tailor.submission.quota import QUOTA_BASE_DELAY_SECONDS, QuotaGate, retry_delay
from tailor.submission.request import RequestError, SubmissionSettings, build_request, output_uri

__all__ = ["Delivery", "HoldMessage", "SubmissionDeps", "SubmissionResult", "SubmitOutcome", "submit_run"]

logger = logging.getLogger(__name__)

# Fix hints for Bedrock's non-retryable errors (aws-facts §1).
_HINTS = {
    "ValidationException": "Bedrock refused the request as invalid: fix job.json as the message says",
    "AccessDeniedException": "the submission role or the Bedrock service role lacks a permission "
    "(docs/operations.md)",
    "ResourceNotFoundException": "the base or teacher model is not available here: enable model "
    "access in the Bedrock console",
    "TooManyTagsException": "keep at most 49 tags in job.json (Bedrock takes 50, one is Tailor's)",
}


class SubmitOutcome(StrEnum):
    SUBMITTED = "submitted"
    ADOPTED = "adopted"  # the job existed (a crash after create): recorded, not created again
    ALREADY_DONE = "already-done"
    REFUSED = "refused"  # JobSubmissionFailed, retryable false: the run ended
    GAVE_UP = "gave-up"  # waited past the maximum for quota: JobSubmissionFailed, retryable true
    IGNORED = "ignored"  # the run is not waiting for submission (rejected, unknown state)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What SQS says about the message: how often it was received, when it was first sent."""

    receive_count: int = 1
    sent_at: datetime | None = None


@dataclass
class SubmissionDeps:
    runs: RunStore
    bus: EventPublisher
    backends: Sequence[CustomizationBackend]
    settings: SubmissionSettings
    prices: PriceTable
    quota: QuotaGate | None = None  # one per invocation (its count is cached)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    outcome: SubmitOutcome
    run_id: str
    job_arn: str | None = None


def submit_run(data: DatasetValidated, delivery: Delivery, deps: SubmissionDeps) -> SubmissionResult:
    run = deps.runs.get(data.run_id)
    if run is None:
        # Ingestion creates the run before it publishes: a missing run is a wiring fault, retried.
        raise LookupError(f"run {data.run_id} does not exist (DatasetValidated for an unknown run)")
    done = _already_done(run, deps)
    if done is not None:
        return done
    if run.status is not RunStatus.VALIDATED:
        logger.info("run is not waiting for submission", extra={"run_id": run.run_id, "status": run.status})
        return SubmissionResult(SubmitOutcome.IGNORED, run.run_id)

    spec = data.spec
    try:
        technique = Technique.parse(spec.technique)
        model = _resolve_model(spec.base_model)
    except (UnknownTechniqueError, UnknownModelError) as error:
        return _refuse(deps, run, "unsupported_model", str(error), "see docs/job-spec.md", None)
    estimate = estimate_for_spec(
        technique=spec.technique,
        base_model=spec.base_model,
        teacher_model=spec.teacher_model,
        hyper_parameters=spec.hyper_parameters,
        training_tokens=data.token_estimate,
        prices=deps.prices,
    )
    backend = backend_for(technique, model, deps.backends)
    if backend is None:
        code = "technique_not_on_bedrock" if technique is Technique.CONTINUED_PRE_TRAINING else "no_backend"
        message = (
            CPT_BACKEND_NOTE
            if technique is Technique.CONTINUED_PRE_TRAINING
            else (f"no configured backend runs {technique.value} for {model.alias}")
        )
        hint = (
            "run Nova continued pre-training on SageMaker HyperPod with the Nova CPT recipes (docs/runs.md)"
        )
        return _refuse(deps, run, code, message, hint, estimate)
    estimate = backend.refine_estimate(estimate, model)
    budget = spec.budget.max_training_cost_usd if spec.budget else None
    verdict = budget_verdict(estimate, budget)
    if verdict is not None:
        return _refuse(
            deps,
            run,
            "budget_exceeded",
            verdict,
            "raise budget.maxTrainingCostUsd or train on less",
            estimate,
        )
    try:
        # A finding about the run refuses it before any AWS call: Bedrock's rules, then the backend's.
        backend.preflight(build_request(data, deps.settings))
    except RequestError as error:
        return _refuse(deps, run, error.code, error.message, error.hint, estimate)

    def build(collisions: int) -> dict[str, object]:
        return build_request(data, deps.settings, collisions)

    own = backend.find_own(build)  # the crash window: our job exists, the run does not know it yet
    if own is not None:
        return _record_submitted(deps, run, data, own, estimate)
    try:
        _wait_for_quota(run, delivery, deps, estimate)
        try:
            result = backend.submit(build)
        except BackendCallError as error:
            if error.kind is ErrorKind.FATAL:
                hint = error.hint or _HINTS.get(
                    error.code, "fix the cause named in the message, then upload job.json again"
                )
                return _refuse(deps, run, error.code, error.message, hint, estimate)
            _hold_or_give_up(run, delivery, deps, error, estimate)
            raise
    except _GaveUp:
        return SubmissionResult(SubmitOutcome.GAVE_UP, run.run_id)
    if deps.quota is not None and not result.adopted:
        deps.quota.took_one()
    return _record_submitted(deps, run, data, result, estimate)


def _already_done(run: RunRecord, deps: SubmissionDeps) -> SubmissionResult | None:
    """A duplicate, late or repeated delivery: publish what a crash left unpublished, nothing more."""
    if run.facts.job_arn:
        if DetailType.JOB_SUBMITTED.value not in run.published:
            _publish_submitted(deps, run)
        return SubmissionResult(SubmitOutcome.ALREADY_DONE, run.run_id, run.facts.job_arn)
    if run.status is RunStatus.SUBMISSION_FAILED:
        if DetailType.JOB_SUBMISSION_FAILED.value not in run.published:
            failure = JobSubmissionFailed(
                run_id=run.run_id,
                error_code=run.facts.error_code or "submission_failed",
                message=run.facts.failure_message or "the submission failed",
                retryable=run.facts.error_code == "quota_wait_exceeded",
            )
            deps.bus.publish([new_detail(failure, producer=Source.SUBMISSION.value)])
            deps.runs.mark_published(run.run_id, DetailType.JOB_SUBMISSION_FAILED.value)
        return SubmissionResult(SubmitOutcome.ALREADY_DONE, run.run_id)
    return None


def _wait_for_quota(run: RunRecord, delivery: Delivery, deps: SubmissionDeps, estimate: CostEstimate) -> None:
    """Hold the message while the account's jobs fill the quota; give up after the maximum wait."""
    quota = deps.quota
    if quota is None or not quota.full():
        return
    reason = f"{quota.in_progress()} of {quota.limit} customization jobs in progress"
    if _waited(delivery, deps) >= deps.settings.max_wait_seconds:
        _give_up(deps, run, reason, estimate)
    if run.facts.waiting_for_quota_since is None:
        deps.runs.add_facts(run.run_id, RunFacts(waiting_for_quota_since=utcnow_iso()))
    raise HoldMessage(retry_delay(delivery.receive_count), f"waiting for quota ({reason})")


def _hold_or_give_up(
    run: RunRecord, delivery: Delivery, deps: SubmissionDeps, error: BackendCallError, estimate: CostEstimate
) -> None:
    if error.kind is ErrorKind.QUOTA:
        if _waited(delivery, deps) >= deps.settings.max_wait_seconds:
            _give_up(deps, run, error.message, estimate)
        if run.facts.waiting_for_quota_since is None:
            deps.runs.add_facts(run.run_id, RunFacts(waiting_for_quota_since=utcnow_iso()))
        raise HoldMessage(retry_delay(delivery.receive_count, base=QUOTA_BASE_DELAY_SECONDS), error.code)
    # Throttling or 5xx that outlasted botocore's own retries: back off, then try again.
    raise HoldMessage(retry_delay(delivery.receive_count), error.code)


def _waited(delivery: Delivery, deps: SubmissionDeps) -> float:
    if delivery.sent_at is None:
        return 0.0
    return (deps.now - delivery.sent_at).total_seconds()


def _give_up(deps: SubmissionDeps, run: RunRecord, reason: str, estimate: CostEstimate) -> None:
    hours = deps.settings.max_wait_seconds / 3600
    _refuse(
        deps,
        run,
        "quota_wait_exceeded",
        f"waited {hours:g} h for a free customization job slot ({reason}); the run was not submitted",
        "raise the account's Bedrock quota (and CustomizationJobQuota), then upload job.json again",
        estimate,
        retryable=True,
    )
    raise _GaveUp(run.run_id)


class _GaveUp(Exception):  # noqa: N818 - control flow inside this module
    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def _refuse(
    deps: SubmissionDeps,
    run: RunRecord,
    code: str,
    message: str,
    hint: str,
    estimate: CostEstimate | None,
    *,
    retryable: bool = False,
) -> SubmissionResult:
    """End the run SUBMISSION_FAILED and publish one JobSubmissionFailed (the message is consumed)."""
    facts = RunFacts(error_code=code, failure_message=message)
    deps.runs.transition(run.run_id, RunStatus.SUBMISSION_FAILED, reason=f"{code}: {message}", facts=facts)
    failure = JobSubmissionFailed(
        run_id=run.run_id, error_code=code, message=message, retryable=retryable, hint=hint, estimate=estimate
    )
    deps.bus.publish([new_detail(failure, producer=Source.SUBMISSION.value)])
    deps.runs.mark_published(run.run_id, DetailType.JOB_SUBMISSION_FAILED.value)
    logger.warning("submission refused", extra={"run_id": run.run_id, "code": code})
    return SubmissionResult(SubmitOutcome.REFUSED, run.run_id)


def _record_submitted(
    deps: SubmissionDeps, run: RunRecord, data: DatasetValidated, result: StartedJob, estimate: CostEstimate
) -> SubmissionResult:
    facts = RunFacts(
        job_arn=result.job_arn,
        job_name=result.job_name,
        custom_model_name=result.custom_model_name,
        output_uri=output_uri(deps.settings, run.run_id),
        estimated_usd=estimate.estimated_usd,
    )
    if not deps.runs.transition(run.run_id, RunStatus.SUBMITTED, reason="job created", facts=facts):
        # A concurrent consumer recorded the same job first: it publishes, not us.
        return SubmissionResult(SubmitOutcome.ALREADY_DONE, run.run_id, result.job_arn)
    recorded = deps.runs.get(run.run_id)
    assert recorded is not None
    _publish_submitted(deps, recorded, data, estimate)
    outcome = SubmitOutcome.ADOPTED if result.adopted else SubmitOutcome.SUBMITTED
    logger.info("job %s", outcome.value, extra={"run_id": run.run_id, "job_arn": result.job_arn})
    return SubmissionResult(outcome, run.run_id, result.job_arn)


def _publish_submitted(
    deps: SubmissionDeps,
    run: RunRecord,
    data: DatasetValidated | None = None,
    estimate: CostEstimate | None = None,
) -> None:
    facts = run.facts
    teacher = data.spec.teacher_model if data else None
    event = JobSubmitted(
        run_id=run.run_id,
        job_arn=str(facts.job_arn),
        job_name=facts.job_name or "",
        custom_model_name=facts.custom_model_name or "",
        technique=run.technique or (data.spec.technique if data else ""),
        base_model_id=run.base_model_id or "",
        teacher_model_id=_resolve_model(teacher).model_id if teacher else None,
        output_uri=facts.output_uri,
        estimate=estimate,
    )
    deps.bus.publish([new_detail(event, producer=Source.SUBMISSION.value)])
    deps.runs.mark_published(run.run_id, DetailType.JOB_SUBMITTED.value)
