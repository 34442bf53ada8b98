"""``tailor deploy RUN [--wait]``: ask the deployment service to deploy a completed run's model on demand.

The CLI is a user: it checks the run has a model, puts ``DeploymentRequested`` (source
``tailor.user``) on the Tailor bus and, with ``--wait``, reads the run until the deployment service
has recorded the deployment ``Active`` or ``Failed`` (docs/deployment.md). It never calls
CreateCustomModelDeployment itself. Exit codes: 0 requested (``--wait``: Active, the deployment ARN
on stdout), 1 unknown run, no model, publishing failed, the deployment failed or ``--wait`` timed
out; 2 usage or no bus.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.cli.watch import RunReader
    from tailor.events.envelope import TailorDetail
    from tailor.jobs.run import RunRecord

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ACTIVE, FAILED, CREATING, DELETED = "Active", "Failed", "Creating", "Deleted"


class DeployRefusedError(RuntimeError):
    """Nothing to deploy, or the request could not be put: the one line to print."""


class _Publisher(Protocol):
    def publish(self, details: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Requested:
    """What ``request_deployment`` did: the line to print, and the run as it was just before."""

    message: str
    before: RunRecord
    published: bool


def deploy(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A completed run whose model to deploy.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the deployment is Active (exit 0) or Failed (exit 1).")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="With --wait: give up after this long.", min=1),
    ] = 1800.0,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", metavar="SECONDS", help="With --wait: seconds between two reads.", min=0.1
        ),
    ] = 5.0,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Deploy a completed run's custom model on demand (billed per token; see docs/deployment.md)."""
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import bus_or_exit, target_or_exit

    target = target_or_exit(stack, region, local=local)
    bus_name = bus_or_exit(target, "to put the request on")
    runs = DynamoRunStore(target.runs_table)
    try:
        requested = request_deployment(
            runs,
            EventBridgePublisher(bus_name),
            run,
            requested_by=caller_arn(),
            where=target.runs_table,
        )
    except DeployRefusedError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(EXIT_FAILED) from None
    if not wait:
        sys.stdout.write(requested.message + "\n")
        return
    sys.stderr.write(requested.message + "\n")
    raise typer.Exit(wait_for_deployment(runs, requested.before, timeout=timeout, interval=interval))


def caller_arn() -> str | None:
    """Who is asking (STS GetCallerIdentity needs no permission), or None when it cannot be known.
    A missing region or credentials surfaces on the PutEvents that follows, as the usual one line."""
    try:
        from tailor.adapters import aws

        return str(aws.client("sts").get_caller_identity()["Arn"])
    except Exception:
        return None


def request_deployment(
    runs: RunReader,
    publisher: _Publisher,
    run_id: str,
    *,
    requested_by: str | None = None,
    where: str = "the runs table",
) -> Requested:
    """Put DeploymentRequested for a run that has a model. An Active or Creating deployment is not
    asked for again (the message says so). DeployRefusedError: unknown run, no model, put failed."""
    from tailor.adapters.bus import PublishError
    from tailor.cli.watch import TRAINED

    record = runs.get(run_id)
    if record is None:
        raise DeployRefusedError(f"no run {run_id!r} in {where}")
    if record.status not in TRAINED:
        raise DeployRefusedError(
            f"run {run_id} is {record.status.value}: only a COMPLETED run has a model to deploy "
            f"(tailor watch {run_id} follows it)"
        )
    facts = record.facts
    if facts.deployment_status == ACTIVE and facts.deployment_arn:
        return Requested(f"run {run_id} is already deployed: {facts.deployment_arn}", record, False)
    if facts.deployment_status == CREATING:
        where_to = f" ({facts.deployment_arn})" if facts.deployment_arn else ""
        return Requested(
            f"run {run_id} is already being deployed{where_to}: `tailor deploy {run_id} --wait` waits for it",
            record,
            False,
        )
    detail = _request_detail(run_id, requested_by)
    try:
        publisher.publish([detail])
    except PublishError as error:
        raise DeployRefusedError(f"the deployment request was not put on the bus: {error}") from None
    model = f" ({facts.output_model_arn})" if facts.output_model_arn else ""
    return Requested(
        f"deployment requested for run {run_id}{model}: `tailor deploy {run_id} --wait` or "
        f"`tailor status {run_id}` follows it",
        record,
        True,
    )


def _request_detail(run_id: str, requested_by: str | None) -> TailorDetail[Any]:
    from tailor.events.envelope import new_detail
    from tailor.events.models import DeploymentRequested

    # Each `tailor deploy` is a new request (e.g. again after `tailor undeploy`): its own event id.
    # Duplicates still make one deployment: the service's clientRequestToken is deterministic.
    return new_detail(
        DeploymentRequested(run_id=run_id, requested_by=requested_by),
        producer="tailor.user",
        event_id=str(uuid.uuid4()),
    )


def _answered(record: RunRecord, before: RunRecord) -> bool:
    """The deployment service has settled the deployment asked for: Active, or Failed after the
    request (a Failed or Deleted state from before the request is not its answer)."""
    facts = record.facts
    if not (facts.deployment_status == ACTIVE and facts.deployment_arn) and facts.deployment_status != FAILED:
        return False
    if before.facts.deployment_status not in (FAILED, DELETED):
        return True
    return record.updated_at != before.updated_at or _deployment_facts(record) != _deployment_facts(before)


def _deployment_facts(record: RunRecord) -> tuple[str | None, ...]:
    facts = record.facts
    return (facts.deployment_arn, facts.deployment_status, facts.deployment_error)


def wait_for_deployment(
    runs: RunReader,
    before: RunRecord,
    *,
    timeout: float,
    interval: float = 5.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Read the run until its deployment is Active (0: the ARN on stdout) or Failed (1: the error),
    or ``timeout`` seconds passed (1). Progress goes to stderr, one line per change."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    run_id = before.run_id
    deadline = clock() + timeout
    shown: str | None = None
    record = before
    while True:
        record = runs.get(run_id) or record  # a read that finds nothing keeps the last view
        facts = record.facts
        if _answered(record, before):
            if facts.deployment_status == ACTIVE and facts.deployment_arn:
                sys.stderr.write(
                    f"run {run_id} is deployed: invoke it with this modelId (tailor invoke {run_id} PROMPT)\n"
                )
                sys.stdout.write(facts.deployment_arn + "\n")
                return EXIT_OK
            reason = facts.deployment_error or f"no reason recorded (tailor status {run_id})"
            sys.stderr.write(
                f"error: the deployment of run {run_id} failed: {reason}{_next_step(reason, run_id)}\n"
            )
            return EXIT_FAILED
        state = CREATING if facts.deployment_status == CREATING else "requested"
        if state != shown:
            arn = f" ({facts.deployment_arn})" if state == CREATING and facts.deployment_arn else ""
            sys.stderr.write(f"deployment {state}{arn}\n")
            shown = state
        remaining = deadline - clock()
        if remaining <= 0:
            sys.stderr.write(
                f"error: timed out after {timeout:g}s: the deployment is still {state} "
                f"(`tailor status {run_id}` shows it later)\n"
            )
            return EXIT_FAILED
        sleep(min(interval, remaining))


def _next_step(reason: str, run_id: str) -> str:
    """What to do after a failed deployment, after its reason (the run records only the reason)."""
    if reason.startswith("not_deployable_on_demand"):
        return "; Provisioned Throughput serves it, billed per model unit per hour: see docs/deployment.md"
    return f"; `tailor deploy {run_id}` asks again once the cause is fixed"
