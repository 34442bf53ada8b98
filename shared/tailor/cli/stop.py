"""``tailor stop RUN``: ask Bedrock to stop a run's customization job.

Reads the job ARN from the runs table and calls StopModelCustomizationJob. The run is not moved
here: Bedrock's job goes Stopping → Stopped and the status service moves the run to STOPPED (and
publishes JobStopped), as for every other transition. Exit codes: 0 stop requested (or already
stopping), 1 unknown run, no job yet, already ended, or Bedrock refused; 2 usage.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION
from tailor.jobs.state import RunStatus

if TYPE_CHECKING:
    from tailor.adapters.bedrock import BedrockGateway
    from tailor.cli.watch import RunReader

S = RunStatus


class StopRefusedError(RuntimeError):
    """Nothing to stop, or Bedrock refused: the one line to print."""


class _Stopper(Protocol):
    def stop_job(self, identifier: str) -> None: ...


def stop(
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run whose Bedrock job to stop.")],
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Stop a run's Bedrock job; the run reaches STOPPED through the status service."""
    from tailor.adapters.bedrock import BedrockClient
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    try:
        message = request_stop(
            DynamoRunStore(target.runs_table), BedrockClient(), run, where=target.runs_table
        )
    except StopRefusedError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(1) from None
    sys.stdout.write(message + "\n")


def request_stop(
    runs: RunReader, bedrock: BedrockGateway | _Stopper, run_id: str, *, where: str = "the runs table"
) -> str:
    """Stop the run's job; what to tell the user. StopRefusedError when there is nothing to stop."""
    from tailor.adapters.bedrock import BedrockError
    from tailor.cli.watch import exit_code_for

    record = runs.get(run_id)
    if record is None:
        raise StopRefusedError(f"no run {run_id!r} in {where}")
    arn = record.facts.job_arn
    if exit_code_for(record.status) is not None:
        raise StopRefusedError(f"run {run_id} has already ended ({record.status.value}): nothing to stop")
    if record.status is S.STOPPING or record.facts.job_status == "Stopping":
        return (
            f"run {run_id} is already stopping ({arn}): it becomes STOPPED when Bedrock reports it "
            f"(tailor watch {run_id})"
        )
    if arn is None:
        raise StopRefusedError(
            f"run {run_id} has no Bedrock job yet ({record.status.value}): nothing to stop"
        )
    # Bedrock takes the job's name or ARN; the name (unique in the account, Tailor's own) also works
    # with moto, which cannot find a job by its ARN (it looks the URL-encoded ARN up).
    try:
        bedrock.stop_job(record.facts.job_name or arn)
    except BedrockError as error:
        raise StopRefusedError(f"Bedrock refused to stop {arn}: {error.code}: {error.message}") from None
    return (
        f"stop requested for {arn}: run {run_id} becomes STOPPED when Bedrock reports the job stopped "
        f"(the status service records it; tailor watch {run_id} follows it)"
    )
