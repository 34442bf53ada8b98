"""Deploy a completed run's custom model on demand, exactly once, and follow it to Active.

Triggers: ``JobCompleted`` for a run whose job.json said ``"deploy": {"onDemand": true}``, and
``DeploymentRequested`` (``tailor deploy RUN``). The deployment is a typed fact on the run, beside
its status. Exactly once: a deterministic name and token per (run, attempt) — Bedrock returns the
same deployment for a repeated token — and the ARN recorded before anything else. While the
deployment is ``Creating`` (or the account's deployment quota is full, or Bedrock throttles) the
message is held on its queue: at most one ``GetCustomModelDeployment`` per pending deployment per
receive, never a lost request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from tailor.adapters.bedrock import BedrockError, ErrorKind
from tailor.adapters.bus import EventPublisher
from tailor.adapters.deployments import DeploymentGateway, DeploymentInfo
from tailor.adapters.runs import RunStore
from tailor.events.constants import Source
from tailor.events.envelope import new_detail
from tailor.events.models import EventData, ModelDeployed, ModelDeploymentFailed
from tailor.jobs.catalog import Technique, UnknownModelError, resolve_model
from tailor.jobs.naming import custom_model_name, request_token
from tailor.jobs.run import RunFacts, RunRecord
from tailor.jobs.state import RunStatus
from tailor.runtime import HoldMessage
from tailor.submission.quota import receives_needed as _receives_needed
from tailor.submission.quota import retry_delay

logger = logging.getLogger(__name__)

HOLD_BASE_SECONDS = 30
HOLD_MAX_SECONDS = 300
MAX_WAIT_SECONDS = 2 * 3600
# Models Bedrock deploys on demand when fine-tuned or distilled on Bedrock (aws-facts §4).
ON_DEMAND_MODELS = frozenset({"nova-micro", "nova-lite", "nova-pro", "nova-2-lite"})
ON_DEMAND_TECHNIQUES = frozenset({Technique.FINE_TUNING, Technique.DISTILLATION})
PROVISIONED_PATH = (
    "buy Provisioned Throughput for it instead (CreateProvisionedModelThroughput: billed per model "
    "unit per hour, whether or not it is called; see docs/deployment.md)"
)
_DONE_STATES = frozenset(
    {RunStatus.COMPLETED, RunStatus.EXPORTING, RunStatus.PUBLISHED, RunStatus.EXPORT_FAILED}
)


def receives_needed() -> int:
    """Receives a message held for MAX_WAIT_SECONDS takes (the queue's maxReceiveCount must exceed it)."""
    return _receives_needed(MAX_WAIT_SECONDS, base=HOLD_BASE_SECONDS, cap=HOLD_MAX_SECONDS)


class Trigger(StrEnum):
    COMPLETED = "completed"  # JobCompleted: deploy only if job.json asked for it
    REQUESTED = "requested"  # DeploymentRequested: a person asked


class DeployOutcome(StrEnum):
    DEPLOYED = "deployed"
    FAILED = "failed"  # Bedrock's deployment failed
    REFUSED = "refused"  # not deployable on demand, not completed, no model
    ALREADY_DONE = "already-done"
    IGNORED = "ignored"  # JobCompleted for a run that did not ask for a deployment


@dataclass(frozen=True, slots=True)
class DeployResult:
    outcome: DeployOutcome
    run_id: str
    deployment_arn: str | None = None


@dataclass
class DeploymentDeps:
    runs: RunStore
    bus: EventPublisher
    deployments: DeploymentGateway
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def deployment_name(run: RunRecord, attempt: int) -> str:
    """Follows the customModelName pattern (aws-facts §4); unique per run and attempt."""
    name = custom_model_name(run.run_id, None, f"tailor-{run.label}")
    return name if attempt == 1 else f"{name[:58]}-d{attempt}"


def _published_marker(arn: str) -> str:
    return f"ModelDeployed:{arn}"


def deploy_run(
    run_id: str,
    trigger: Trigger,
    deps: DeploymentDeps,
    *,
    receive_count: int = 1,
    sent_at: datetime | None = None,
    request_id: str | None = None,
) -> DeployResult:
    """``request_id``: the DeploymentRequested event's id — a repeat of the same request is a
    duplicate; a new request after an undeploy or a failure is a new deployment."""
    run = deps.runs.get(run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")  # a wiring fault: retried, then the DLQ
    facts = run.facts
    if trigger is Trigger.COMPLETED and not facts.deploy_on_demand:
        return DeployResult(DeployOutcome.IGNORED, run_id)
    if facts.deployment_status == "Active" and facts.deployment_arn:
        _publish_once(
            deps,
            run,
            ModelDeployed(
                run_id=run_id,
                custom_model_arn=facts.output_model_arn or "",
                deployment_arn=facts.deployment_arn,
                deployment_name=facts.deployment_name or "",
            ),
            _published_marker(facts.deployment_arn),
        )
        return DeployResult(DeployOutcome.ALREADY_DONE, run_id, facts.deployment_arn)
    refusal = _refusal(run)
    if refusal is not None:
        code, message, hint = refusal
        return _fail(deps, run, code, message, hint)

    attempt = facts.deployment_attempt or 1
    again = trigger is Trigger.REQUESTED and request_id != facts.deployment_request_id
    if facts.deployment_status in ("Deleted", "Failed"):
        if not again:
            return DeployResult(DeployOutcome.ALREADY_DONE, run_id, facts.deployment_arn)
        attempt += 1  # a person asks again after an undeploy or a failure: a new deployment
        facts = facts.model_copy(update={"deployment_arn": None})
    name = deployment_name(run, attempt)
    try:
        info = _current(run, facts.deployment_arn, name, attempt, deps, request_id)
    except BedrockError as error:
        if error.kind is ErrorKind.FATAL:
            return _fail(deps, run, error.code, error.message, _hint(error.code))
        raise HoldMessage(_delay(receive_count), f"Bedrock: {error.code}") from error
    if info.status == "Active":
        deps.runs.add_facts(run_id, RunFacts(deployment_status="Active", deployment_arn=info.arn))
        event = ModelDeployed(
            run_id=run_id, custom_model_arn=info.model_arn, deployment_arn=info.arn, deployment_name=info.name
        )
        _publish_once(deps, run, event, _published_marker(info.arn))
        logger.info("deployed", extra={"run_id": run_id, "deployment_arn": info.arn})
        return DeployResult(DeployOutcome.DEPLOYED, run_id, info.arn)
    if info.status == "Failed":
        message = info.failure_message or "Bedrock gave no reason"
        deps.runs.add_facts(run_id, RunFacts(deployment_status="Failed", deployment_error=message))
        failed = ModelDeploymentFailed(
            run_id=run_id,
            custom_model_arn=info.model_arn,
            error_code="deployment_failed",
            message=message,
            retryable=True,
            hint="run `tailor deploy RUN` to try again",
        )
        _publish_once(deps, run, failed, f"ModelDeploymentFailed:{info.arn}")
        return DeployResult(DeployOutcome.FAILED, run_id, info.arn)
    waited = (deps.now - sent_at).total_seconds() if sent_at else 0.0
    if waited >= MAX_WAIT_SECONDS:
        return _fail(
            deps,
            run,
            "deployment_timeout",
            f"still {info.status} after {waited / 3600:.1f} h",
            "look at the deployment in the Bedrock console, then `tailor deploy RUN` again",
            retryable=True,
        )
    raise HoldMessage(_delay(receive_count), f"deployment {info.status}")


def _current(
    run: RunRecord,
    known_arn: str | None,
    name: str,
    attempt: int,
    deps: DeploymentDeps,
    request_id: str | None,
) -> DeploymentInfo:
    """The run's deployment: the recorded one (one Get), else created now (and recorded at once)."""
    if known_arn:
        found = deps.deployments.get_deployment(known_arn)
        if found is not None:
            return found
    model_arn = str(run.facts.output_model_arn)
    try:
        arn = deps.deployments.create_deployment(
            name=name,
            model_arn=model_arn,
            token=request_token(name),
            tags={"tailor-run-id": run.run_id},
            description=f"Tailor run {run.run_id}",
        )
    except BedrockError as error:
        if error.kind is not ErrorKind.CONFLICT:
            raise
        existing = deps.deployments.find_deployment(name)  # our name: created by an earlier try
        if existing is None:
            raise
        arn = existing.arn
    deps.runs.add_facts(
        run.run_id,
        RunFacts(
            deployment_arn=arn,
            deployment_name=name,
            deployment_status="Creating",
            deployment_attempt=attempt,
            deployment_request_id=request_id,
        ),
    )
    found = deps.deployments.get_deployment(arn)
    return found or DeploymentInfo(arn=arn, name=name, status="Creating", model_arn=model_arn)


def _refusal(run: RunRecord) -> tuple[str, str, str] | None:
    if run.status not in _DONE_STATES:
        return (
            "not_completed",
            f"run {run.run_id} is {run.status.value}: only a completed run has a model to deploy",
            "wait for JobCompleted (`tailor watch RUN`), then `tailor deploy RUN`",
        )
    if not run.facts.output_model_arn:
        return ("no_custom_model", f"run {run.run_id} has no output model ARN", "check the job in Bedrock")
    try:
        model = resolve_model(run.base_model_id or "")
        technique = Technique.parse(run.technique or "")
    except (UnknownModelError, ValueError):
        return (
            "not_deployable_on_demand",
            f"{run.base_model_id} is not a model Tailor knows",
            PROVISIONED_PATH,
        )
    if technique is Technique.CONTINUED_PRE_TRAINING:
        return (
            "not_deployable_on_demand",
            f"run {run.run_id} trained a full-rank {model.alias} model (continued pre-training on "
            "SageMaker HyperPod, imported with CreateCustomModel): Bedrock serves full-rank models with "
            "Provisioned Throughput only, not with an on-demand deployment",
            PROVISIONED_PATH,
        )
    if model.alias not in ON_DEMAND_MODELS or technique not in ON_DEMAND_TECHNIQUES:
        return (
            "not_deployable_on_demand",
            f"Bedrock cannot deploy a {model.alias} {technique.value} model on demand (on-demand "
            "deployment covers Nova Micro, Lite, Pro and 2 Lite fine-tuned or distilled on Bedrock)",
            PROVISIONED_PATH,
        )
    return None


def _hint(code: str) -> str:
    return {
        "ValidationException": "Bedrock refused the request: the message says why",
        "AccessDeniedException": "the deployment function's role lacks a permission (docs/operations.md)",
        "ResourceNotFoundException": "the custom model does not exist (deleted?)",
    }.get(code, "fix the cause named in the message, then `tailor deploy RUN`")


def _delay(receive_count: int) -> int:
    return retry_delay(receive_count, base=HOLD_BASE_SECONDS, cap=HOLD_MAX_SECONDS)


def _fail(
    deps: DeploymentDeps, run: RunRecord, code: str, message: str, hint: str, *, retryable: bool = False
) -> DeployResult:
    deps.runs.add_facts(
        run.run_id, RunFacts(deployment_status="Failed", deployment_error=f"{code}: {message}")
    )
    _publish(
        deps,
        ModelDeploymentFailed(
            run_id=run.run_id,
            custom_model_arn=run.facts.output_model_arn,
            error_code=code,
            message=message,
            retryable=retryable,
            hint=hint,
        ),
    )
    logger.warning("deployment refused", extra={"run_id": run.run_id, "code": code})
    return DeployResult(DeployOutcome.REFUSED, run.run_id)


def _publish(deps: DeploymentDeps, event: EventData) -> None:
    deps.bus.publish([new_detail(event, producer=Source.DEPLOYMENT.value)])


def _publish_once(deps: DeploymentDeps, run: RunRecord, event: EventData, marker: str) -> None:
    current = deps.runs.get(run.run_id)
    if current is not None and marker in current.published:
        return
    _publish(deps, event)
    deps.runs.mark_published(run.run_id, marker)
