"""``tailor invoke RUN "prompt"``: ask a run's deployed model, through Bedrock's Converse.

Reads the run's deployment from the runs table and calls ``bedrock-runtime`` Converse with the
deployment ARN as ``modelId`` (all it needs in IAM: ``bedrock:InvokeModel`` on the deployment). The
answer goes to stdout, the token usage to stderr; ``--json`` prints one object. An answer of the
local stack's simulated runtime is labelled as such. Exit codes: 0 answered, 1 unknown run, no
active deployment or Bedrock refused, 2 usage.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.adapters.deployments import Answer, ModelRuntime
    from tailor.cli.watch import RunReader

SIMULATED_LABEL = "simulated (local stack): no model ran"


class InvokeRefusedError(RuntimeError):
    """No active deployment, or Bedrock refused: the one line to print."""


def invoke(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A run with an Active deployment.")],
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What to ask the model.")],
    system: Annotated[
        str | None, typer.Option("--system", metavar="TEXT", help="A system prompt.", show_default=False)
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print text, inputTokens, outputTokens, modelId, simulated.")
    ] = False,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Ask a run's deployed model (Converse with the deployment ARN as modelId)."""
    from tailor.adapters.deployments import BedrockRuntime
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    try:
        model_id, answer = ask(
            DynamoRunStore(target.runs_table), BedrockRuntime(), run, prompt, system, where=target.runs_table
        )
    except InvokeRefusedError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(1) from None
    if json_output:
        sys.stdout.write(orjson.dumps(answer_json(model_id, answer)).decode() + "\n")
        return
    if answer.simulated:
        sys.stdout.write(f"[{SIMULATED_LABEL}]\n")
    sys.stdout.write(answer.text.rstrip("\n") + "\n")
    simulated = f"; {SIMULATED_LABEL}" if answer.simulated else ""
    sys.stderr.write(
        f"tokens: {answer.input_tokens} in, {answer.output_tokens} out (modelId {model_id}{simulated})\n"
    )


def answer_json(model_id: str, answer: Answer) -> dict[str, Any]:
    return {
        "text": answer.text,
        "inputTokens": answer.input_tokens,
        "outputTokens": answer.output_tokens,
        "modelId": model_id,
        "simulated": answer.simulated,
    }


def active_deployment(runs: RunReader, run_id: str, *, where: str = "the runs table") -> str:
    """The run's Active deployment ARN. InvokeRefusedError (the reason) when there is none."""
    record = runs.get(run_id)
    if record is None:
        raise InvokeRefusedError(f"no run {run_id!r} in {where}")
    facts = record.facts
    if facts.deployment_status == "Active" and facts.deployment_arn:
        return facts.deployment_arn
    if facts.deployment_status == "Creating":
        raise InvokeRefusedError(
            f"run {run_id} has no active deployment yet (Creating): "
            f"`tailor deploy {run_id} --wait` waits for it"
        )
    state = f" ({facts.deployment_status})" if facts.deployment_status else ""
    raise InvokeRefusedError(
        f"run {run_id} has no active deployment{state}: run `tailor deploy {run_id} --wait`"
    )


def ask(
    runs: RunReader,
    runtime: ModelRuntime,
    run_id: str,
    prompt: str,
    system: str | None = None,
    *,
    where: str = "the runs table",
) -> tuple[str, Answer]:
    """(modelId, the answer) from the run's Active deployment. InvokeRefusedError otherwise."""
    from tailor.adapters.bedrock import BedrockError

    model_id = active_deployment(runs, run_id, where=where)
    try:
        return model_id, runtime.converse(model_id, prompt, system)
    except BedrockError as error:
        raise InvokeRefusedError(
            f"Bedrock refused to answer ({model_id}): {error.code}: {error.message}"
        ) from None
    except Exception as error:
        reason = _connection_problem(error)
        if reason is None:
            raise
        raise InvokeRefusedError(f"Bedrock could not be reached ({model_id}): {reason}") from None


def _connection_problem(error: Exception) -> str | None:
    """A network or timeout error of botocore as one line; None for anything else (a missing region
    or credentials is left to the entry point, which gives the fix)."""
    if "botocore.exceptions" not in sys.modules:
        return None
    from botocore import exceptions as boto

    if isinstance(error, boto.ConnectionError | boto.HTTPClientError):
        return str(error)
    return None
