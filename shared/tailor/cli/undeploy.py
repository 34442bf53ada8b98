"""``tailor undeploy RUN``: delete a run's on-demand deployment; the custom model stays.

Calls DeleteCustomModelDeployment on the deployment ARN the runs table holds and records
``deploymentStatus: Deleted`` on the run. The CLI is a user: it publishes nothing. Idempotent: a
deployment already deleted (recorded so, or gone in Bedrock) is exit 0 with a note. Exit codes:
0 deleted or already deleted, 1 unknown run, never deployed, Bedrock refused or the run could not
be updated; 2 usage.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.jobs.run import RunFacts, RunRecord


class UndeployRefusedError(RuntimeError):
    """Nothing to delete, or a refusal: the one line to print."""


class _Runs(Protocol):
    def get(self, run_id: str) -> RunRecord | None: ...

    def add_facts(self, run_id: str, facts: RunFacts) -> None: ...


class _Deleter(Protocol):
    def delete_deployment(self, identifier: str) -> None: ...


def undeploy(
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run whose deployment to delete.")],
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Delete a run's on-demand deployment (the custom model stays)."""
    from tailor.adapters.deployments import BedrockDeployments
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    try:
        message = delete_deployment(
            DynamoRunStore(target.runs_table), BedrockDeployments(), run, where=target.runs_table
        )
    except UndeployRefusedError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(1) from None
    sys.stdout.write(message + "\n")


def delete_deployment(
    runs: _Runs, deployments: _Deleter, run_id: str, *, where: str = "the runs table"
) -> str:
    """Delete the run's deployment and record it; what to tell the user. UndeployRefusedError when
    there is nothing to delete or a call is refused."""
    from tailor.adapters.bedrock import BedrockError
    from tailor.jobs.run import RunFacts

    record = runs.get(run_id)
    if record is None:
        raise UndeployRefusedError(f"no run {run_id!r} in {where}")
    facts = record.facts
    arn = facts.deployment_arn
    stays = _model_stays(facts.output_model_arn, run_id)
    if facts.deployment_status == "Deleted":
        return f"run {run_id} is already undeployed ({arn or 'no deployment'}): nothing to do; {stays}"
    if not arn:
        state = f" ({facts.deployment_status})" if facts.deployment_status else ""
        raise UndeployRefusedError(f"run {run_id} has no deployment{state}: nothing to undeploy")
    note = ""
    try:
        deployments.delete_deployment(arn)
    except BedrockError as error:
        if error.code != "ResourceNotFoundException":
            raise UndeployRefusedError(
                f"Bedrock refused to delete {arn}: {error.code}: {error.message}"
            ) from None
        note = " (it was already gone in Bedrock)"
    try:
        runs.add_facts(run_id, RunFacts(deployment_status="Deleted"))
    except Exception as error:
        if _setup_problem(error):
            raise
        raise UndeployRefusedError(
            f"deleted {arn}, but run {run_id} could not record it: {_one_line(error)}"
        ) from None
    return f"deleted deployment {arn} of run {run_id}{note}; {stays}"


def _model_stays(model_arn: str | None, run_id: str) -> str:
    model = f" ({model_arn})" if model_arn else ""
    return (
        f"the custom model stays{model}, with its monthly storage fee; "
        f"`tailor deploy {run_id}` deploys it again"
    )


def _setup_problem(error: Exception) -> bool:
    """A missing region or credentials: left to the entry point, which prints the fix."""
    if "botocore.exceptions" not in sys.modules:
        return False
    from botocore import exceptions as boto

    setup: tuple[type[Any], ...] = (
        boto.NoRegionError,
        boto.NoCredentialsError,
        boto.PartialCredentialsError,
        boto.ProfileNotFound,
    )
    return isinstance(error, setup)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
