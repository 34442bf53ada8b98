"""`tailor deploy`, `tailor invoke`, `tailor undeploy`: the CLI asks for a deployment (it never
creates one), asks the deployed model, deletes the deployment; `tailor status` shows it. Every
refusal is one line with exit 1."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from cli_runs import RUN_ID, RunFactory
from rich.console import Console
from typer.testing import CliRunner, Result

from tailor.adapters.bedrock import BedrockError
from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.deployments import Answer, BedrockRuntime, InMemoryDeployments
from tailor.adapters.runs import InMemoryRunStore
from tailor.cli import deploy as deploy_module
from tailor.cli.deploy import wait_for_deployment
from tailor.cli.invoke import SIMULATED_LABEL
from tailor.cli.main import app
from tailor.cli.status import render_run
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunStatus

MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abc123def456"
DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/0a1b2c3d4e5f"
CALLER = "arn:aws:iam::123456789012:user/alice"


class FakeRuntime:
    """ModelRuntime: records the calls, answers (or raises) as told."""

    def __init__(self, answer: Answer | None = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.answer = answer or Answer("Hello from the model.", 12, 5)
        self.error = error

    def converse(self, model_id: str, prompt: str, system: str | None = None) -> Answer:
        self.calls.append((model_id, prompt, system))
        if self.error:
            raise self.error
        return self.answer


class Stack:
    """The fakes the commands are given instead of DynamoDB, EventBridge and Bedrock."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs = InMemoryRunStore()
        self.bus = InMemoryPublisher("tailor-bus")
        self.deployments = InMemoryDeployments()
        self.runtime: Any = FakeRuntime()
        self.sleeps: list[float] = []
        self.on_sleep: list[Callable[[], None]] = []  # what happens in the world between two polls
        self.buses: list[str] = []
        self.monkeypatch = monkeypatch

    def publisher(self, bus_name: str) -> InMemoryPublisher:
        self.buses.append(bus_name)
        return self.bus

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep:
            self.on_sleep.pop(0)()

    def run(self, *argv: str) -> Result:
        return CliRunner().invoke(app, list(argv))

    def facts(self, run_id: str = RUN_ID) -> RunFacts:
        record = self.runs.get(run_id)
        assert record is not None
        return record.facts


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.delenv("TAILOR_STACK", raising=False)
    env = {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "runs", "TAILOR_BUS_NAME": "tailor-bus"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fakes = Stack(monkeypatch)
    monkeypatch.setattr("tailor.adapters.runs.DynamoRunStore", lambda table: fakes.runs)
    monkeypatch.setattr("tailor.adapters.bus.EventBridgePublisher", fakes.publisher)
    monkeypatch.setattr("tailor.adapters.deployments.BedrockRuntime", lambda: fakes.runtime)
    monkeypatch.setattr("tailor.adapters.deployments.BedrockDeployments", lambda: fakes.deployments)
    monkeypatch.setattr(deploy_module, "caller_arn", lambda: CALLER)
    monkeypatch.setattr("tailor.cli.deploy.time.sleep", fakes.sleep)
    yield fakes


def _completed(make_run: RunFactory, status: RunStatus = RunStatus.COMPLETED, **facts: Any) -> Any:
    return make_run(status, output_model_arn=MODEL_ARN, output_model_name="support-bot-model", **facts)


def _deployed(stack: Stack, make_run: RunFactory) -> str:
    """A completed run whose deployment the deployment service has made Active."""
    arn = stack.deployments.create_deployment(
        name="tailor-support-bot", model_arn=MODEL_ARN, token="t", tags={}, description=""
    )
    stack.deployments.settle(arn, "Active")
    stack.runs.create(_completed(make_run, deployment_arn=arn, deployment_status="Active"))
    return arn


# -- tailor deploy ------------------------------------------------------------------------------------


def test_deploy_puts_deployment_requested_as_a_user(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    result = stack.run("deploy", RUN_ID)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"deployment requested for run {RUN_ID} ({MODEL_ARN})")
    assert f"tailor deploy {RUN_ID} --wait" in result.stdout
    assert stack.buses == ["tailor-bus"]
    [entry] = stack.bus.entries
    assert entry["Source"] == "tailor.user" and entry["DetailType"] == "DeploymentRequested"
    assert entry["EventBusName"] == "tailor-bus"
    detail = orjson.loads(entry["Detail"])
    assert detail["data"] == {"runId": RUN_ID, "requestedBy": CALLER}
    assert detail["metadata"]["producer"] == "tailor.user" and detail["metadata"]["runId"] == RUN_ID
    assert stack.deployments.create_calls == 0  # the deployment service creates it, not the CLI
    assert stack.facts().deployment_status is None  # nor does the CLI record anything


def test_each_request_is_its_own_event(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    assert stack.run("deploy", RUN_ID).exit_code == 0
    assert stack.run("deploy", RUN_ID).exit_code == 0
    ids = {orjson.loads(e["Detail"])["metadata"]["eventId"] for e in stack.bus.entries}
    assert len(ids) == 2  # a request after an undeploy must not look like a duplicate


def test_a_caller_that_cannot_be_known_is_none(stack: Stack, make_run: RunFactory) -> None:
    stack.monkeypatch.setattr(deploy_module, "caller_arn", lambda: None)
    stack.runs.create(_completed(make_run))
    assert stack.run("deploy", RUN_ID).exit_code == 0
    assert orjson.loads(stack.bus.entries[0]["Detail"])["data"] == {"runId": RUN_ID}


def test_caller_arn_is_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    class Sts:
        def get_caller_identity(self) -> dict[str, str]:
            return {"Arn": CALLER, "Account": "123456789012"}

    monkeypatch.setattr("tailor.adapters.aws.client", lambda service: Sts())
    assert deploy_module.caller_arn() == CALLER

    def broken(service: str) -> Any:
        raise RuntimeError("no network")

    monkeypatch.setattr("tailor.adapters.aws.client", broken)
    assert deploy_module.caller_arn() is None


@pytest.mark.parametrize("status", [RunStatus.EXPORTING, RunStatus.PUBLISHED, RunStatus.EXPORT_FAILED])
def test_a_run_in_the_edge_export_still_has_its_model(
    status: RunStatus, stack: Stack, make_run: RunFactory
) -> None:
    stack.runs.create(_completed(make_run, status))
    assert stack.run("deploy", RUN_ID).exit_code == 0
    assert len(stack.bus.entries) == 1


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (RunStatus.IN_PROGRESS, f"run {RUN_ID} is IN_PROGRESS: only a COMPLETED run has a model to deploy"),
        (RunStatus.FAILED, f"run {RUN_ID} is FAILED: only a COMPLETED run"),
        (RunStatus.VALIDATED, f"run {RUN_ID} is VALIDATED: only a COMPLETED run"),
    ],
)
def test_deploy_refuses_a_run_without_a_model(
    status: RunStatus, needle: str, stack: Stack, make_run: RunFactory
) -> None:
    stack.runs.create(make_run(status))
    result = stack.run("deploy", RUN_ID, "--wait")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: " + needle) and result.stderr.count("\n") == 1
    assert stack.bus.entries == [] and result.stdout == ""


def test_deploy_an_unknown_run(stack: Stack) -> None:
    result = stack.run("deploy", "nope")
    assert result.exit_code == 1
    assert result.stderr == "error: no run 'nope' in runs\n"


def test_deploy_without_a_bus_is_a_usage_error(stack: Stack, make_run: RunFactory) -> None:
    stack.monkeypatch.delenv("TAILOR_BUS_NAME")
    stack.runs.create(_completed(make_run))
    result = stack.run("deploy", RUN_ID)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no Tailor bus") and "TAILOR_BUS_NAME" in result.stderr


def test_a_request_not_put_is_one_line(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    stack.bus.fail_next = 1
    result = stack.run("deploy", RUN_ID, "--wait")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the deployment request was not put on the bus: ")
    assert result.stderr.count("\n") == 1 and stack.sleeps == []


def test_deploy_wait_follows_creating_to_active(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    stack.on_sleep = [
        lambda: None,  # the service has not consumed the request yet
        lambda: stack.runs.add_facts(
            RUN_ID, RunFacts(deployment_arn=DEPLOYMENT_ARN, deployment_status="Creating")
        ),
        lambda: None,
        lambda: stack.runs.add_facts(RUN_ID, RunFacts(deployment_status="Active")),
    ]
    result = stack.run("deploy", RUN_ID, "--wait", "--interval", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == DEPLOYMENT_ARN + "\n"  # the modelId, alone: `$(tailor deploy RUN --wait)`
    err = result.stderr.splitlines()
    assert err[0].startswith("deployment requested for run")
    assert err[1:] == [
        "deployment requested",
        f"deployment Creating ({DEPLOYMENT_ARN})",
        f"run {RUN_ID} is deployed: invoke it with this modelId (tailor invoke {RUN_ID} PROMPT)",
    ]
    assert stack.sleeps == [3.0, 3.0, 3.0, 3.0]


def test_deploy_wait_reports_a_failed_deployment(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    reason = "SIMULATED by the Tailor local stack: the deployment failed as steered"
    stack.on_sleep = [
        lambda: stack.runs.add_facts(RUN_ID, RunFacts(deployment_status="Failed", deployment_error=reason))
    ]
    result = stack.run("deploy", RUN_ID, "--wait")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"error: the deployment of run {RUN_ID} failed: {reason}; "
        f"`tailor deploy {RUN_ID}` asks again once the cause is fixed"
    )


def test_deploy_wait_points_a_model_bedrock_cannot_serve_on_demand_to_provisioned_throughput(
    stack: Stack, make_run: RunFactory
) -> None:
    stack.runs.create(_completed(make_run))
    reason = "not_deployable_on_demand: Bedrock cannot deploy a nova-premier fine-tuning model on demand"
    stack.on_sleep = [
        lambda: stack.runs.add_facts(RUN_ID, RunFacts(deployment_status="Failed", deployment_error=reason))
    ]
    result = stack.run("deploy", RUN_ID, "--wait")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].endswith(
        "; Provisioned Throughput serves it, billed per model unit per hour: see docs/deployment.md"
    )


def test_deploy_wait_does_not_take_the_previous_failure_for_the_answer(
    stack: Stack, make_run: RunFactory
) -> None:
    stack.runs.create(_completed(make_run, deployment_status="Failed", deployment_error="quota"))
    stack.on_sleep = [
        lambda: None,
        lambda: stack.runs.add_facts(
            RUN_ID, RunFacts(deployment_arn=DEPLOYMENT_ARN, deployment_status="Active")
        ),
    ]
    result = stack.run("deploy", RUN_ID, "--wait")
    assert result.exit_code == 0, result.output
    assert len(stack.bus.entries) == 1 and result.stdout == DEPLOYMENT_ARN + "\n"
    assert len(stack.sleeps) == 2


def test_after_an_undeploy_deploy_asks_again(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run, deployment_arn=DEPLOYMENT_ARN, deployment_status="Deleted"))
    assert stack.run("deploy", RUN_ID).exit_code == 0
    assert len(stack.bus.entries) == 1


def test_an_active_deployment_is_not_asked_for_again(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    result = stack.run("deploy", RUN_ID)
    assert result.exit_code == 0
    assert result.stdout == f"run {RUN_ID} is already deployed: {arn}\n"
    waited = stack.run("deploy", RUN_ID, "--wait")
    assert waited.exit_code == 0 and waited.stdout == arn + "\n"
    assert stack.bus.entries == [] and stack.sleeps == []


def test_a_deployment_being_created_is_waited_for_not_asked_again(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run, deployment_arn=DEPLOYMENT_ARN, deployment_status="Creating"))
    result = stack.run("deploy", RUN_ID)
    assert result.exit_code == 0 and "already being deployed" in result.stdout
    stack.on_sleep = [lambda: stack.runs.add_facts(RUN_ID, RunFacts(deployment_status="Active"))]
    assert stack.run("deploy", RUN_ID, "--wait").exit_code == 0
    assert stack.bus.entries == []


def test_deploy_wait_times_out(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run))
    record = stack.runs.get(RUN_ID)
    assert record is not None
    now = [0.0]

    def sleep(seconds: float) -> None:
        stack.sleeps.append(seconds)
        now[0] += seconds

    code = wait_for_deployment(stack.runs, record, timeout=12, interval=5, sleep=sleep, clock=lambda: now[0])
    assert code == 1
    assert stack.sleeps == [5, 5, 2]  # never sleeps past the deadline


def test_deploy_wait_timeout_through_the_command(
    stack: Stack, make_run: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.runs.create(_completed(make_run))
    now = [100.0]
    monkeypatch.setattr("tailor.cli.deploy.time.monotonic", lambda: now[0])
    stack.on_sleep = [
        lambda: stack.runs.add_facts(RUN_ID, RunFacts(deployment_status="Creating")),
        lambda: now.__setitem__(0, 200.0),
    ]
    result = stack.run("deploy", RUN_ID, "--wait", "--timeout", "60")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: timed out after 60s: the deployment is still Creating "
        f"(`tailor status {RUN_ID}` shows it later)"
    )


# -- tailor invoke ------------------------------------------------------------------------------------


def test_invoke_asks_the_deployment(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    result = stack.run("invoke", RUN_ID, "How do I reset my password?", "--system", "Be brief.")
    assert result.exit_code == 0, result.output
    assert stack.runtime.calls == [(arn, "How do I reset my password?", "Be brief.")]
    assert result.stdout == "Hello from the model.\n"
    assert result.stderr == f"tokens: 12 in, 5 out (modelId {arn})\n"
    assert SIMULATED_LABEL not in result.output


def test_invoke_json(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    result = stack.run("invoke", RUN_ID, "hi", "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {
        "text": "Hello from the model.",
        "inputTokens": 12,
        "outputTokens": 5,
        "modelId": arn,
        "simulated": False,
    }
    assert result.stderr == "" and stack.runtime.calls == [(arn, "hi", None)]


def test_a_simulated_answer_is_labelled(stack: Stack, make_run: RunFactory) -> None:
    _deployed(stack, make_run)
    stack.runtime = FakeRuntime(Answer("[simulated] echo: hi", 1, 4, simulated=True))
    result = stack.run("invoke", RUN_ID, "hi")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "[simulated (local stack): no model ran]"
    assert "simulated (local stack): no model ran" in result.stderr
    as_json = stack.run("invoke", RUN_ID, "hi", "--json")
    assert orjson.loads(as_json.stdout)["simulated"] is True


def test_the_runtime_adapter_labels_what_the_local_stack_simulated(
    stack: Stack, make_run: RunFactory
) -> None:
    class Client:
        def __init__(self) -> None:
            self.kwargs: dict[str, Any] = {}

        def converse(self, **kwargs: Any) -> dict[str, Any]:
            self.kwargs = kwargs
            return {
                "output": {"message": {"role": "assistant", "content": [{"text": "simulated answer"}]}},
                "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
                "additionalModelResponseFields": {"tailorSimulated": True},
            }

    client = Client()
    stack.runtime = BedrockRuntime(client)
    arn = _deployed(stack, make_run)
    result = stack.run("invoke", RUN_ID, "hi", "--system", "sys", "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {
        "text": "simulated answer",
        "inputTokens": 3,
        "outputTokens": 2,
        "modelId": arn,
        "simulated": True,
    }
    assert client.kwargs["modelId"] == arn and client.kwargs["system"] == [{"text": "sys"}]


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({}, f"run {RUN_ID} has no active deployment: run `tailor deploy {RUN_ID} --wait`"),
        (
            {"deployment_arn": DEPLOYMENT_ARN, "deployment_status": "Deleted"},
            f"run {RUN_ID} has no active deployment (Deleted): run `tailor deploy {RUN_ID} --wait`",
        ),
        (
            {"deployment_status": "Failed", "deployment_error": "x"},
            f"run {RUN_ID} has no active deployment (Failed): run `tailor deploy {RUN_ID} --wait`",
        ),
        (
            {"deployment_arn": DEPLOYMENT_ARN, "deployment_status": "Creating"},
            f"run {RUN_ID} has no active deployment yet (Creating): "
            f"`tailor deploy {RUN_ID} --wait` waits for it",
        ),
    ],
)
def test_invoke_without_an_active_deployment(
    facts: dict[str, Any], reason: str, stack: Stack, make_run: RunFactory
) -> None:
    stack.runs.create(_completed(make_run, **facts))
    result = stack.run("invoke", RUN_ID, "hi")
    assert result.exit_code == 1
    assert result.stderr == f"error: {reason}\n" and result.stdout == ""
    assert stack.runtime.calls == []


def test_invoke_an_unknown_run(stack: Stack) -> None:
    result = stack.run("invoke", "nope", "hi", "--json")
    assert result.exit_code == 1
    assert result.stderr == "error: no run 'nope' in runs\n" and result.stdout == ""


def test_a_bedrock_refusal_is_one_line(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    stack.runtime = FakeRuntime(error=BedrockError.classify("AccessDeniedException", "not authorized"))
    result = stack.run("invoke", RUN_ID, "hi")
    assert result.exit_code == 1
    assert (
        result.stderr == f"error: Bedrock refused to answer ({arn}): AccessDeniedException: not authorized\n"
    )


def test_an_unreachable_bedrock_is_one_line(stack: Stack, make_run: RunFactory) -> None:
    from botocore.exceptions import EndpointConnectionError

    _deployed(stack, make_run)
    stack.runtime = FakeRuntime(error=EndpointConnectionError(endpoint_url="https://bedrock-runtime"))
    result = stack.run("invoke", RUN_ID, "hi")
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("error: Bedrock could not be reached (") and result.stderr.count("\n") == 1
    )


# -- tailor undeploy ----------------------------------------------------------------------------------


def test_undeploy_deletes_and_records_it(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    result = stack.run("undeploy", RUN_ID)
    assert result.exit_code == 0, result.output
    assert stack.deployments.get_deployment(arn) is None
    assert stack.facts().deployment_status == "Deleted"
    assert stack.facts().deployment_arn == arn  # which deployment it was stays on the run
    assert result.stdout.startswith(f"deleted deployment {arn} of run {RUN_ID}; the custom model stays")
    assert MODEL_ARN in result.stdout and "monthly storage" in result.stdout
    assert stack.bus.entries == [] and stack.buses == []  # the CLI is a user: it publishes nothing


def test_undeploy_twice_is_a_note(stack: Stack, make_run: RunFactory) -> None:
    _deployed(stack, make_run)
    assert stack.run("undeploy", RUN_ID).exit_code == 0
    again = stack.run("undeploy", RUN_ID)
    assert again.exit_code == 0
    assert (
        again.stdout.startswith(f"run {RUN_ID} is already undeployed")
        and "custom model stays" in again.stdout
    )


def test_a_deployment_already_gone_in_bedrock(stack: Stack, make_run: RunFactory) -> None:
    stack.runs.create(_completed(make_run, deployment_arn=DEPLOYMENT_ARN, deployment_status="Active"))
    result = stack.run("undeploy", RUN_ID)
    assert result.exit_code == 0, result.output
    assert "(it was already gone in Bedrock)" in result.stdout
    assert stack.facts().deployment_status == "Deleted"


def test_undeploy_refused_by_bedrock(stack: Stack, make_run: RunFactory) -> None:
    class Refusing:
        def delete_deployment(self, identifier: str) -> None:
            raise BedrockError.classify("ValidationException", "deployment is Creating")

    stack.deployments = Refusing()  # type: ignore[assignment]
    stack.runs.create(_completed(make_run, deployment_arn=DEPLOYMENT_ARN, deployment_status="Creating"))
    result = stack.run("undeploy", RUN_ID)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: Bedrock refused to delete {DEPLOYMENT_ARN}: ValidationException: deployment is Creating\n"
    )
    assert stack.facts().deployment_status == "Creating"


def test_a_delete_the_run_could_not_record(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)

    def broken(run_id: str, facts: RunFacts) -> None:
        raise RuntimeError("ProvisionedThroughputExceededException:\n slow down")

    stack.monkeypatch.setattr(stack.runs, "add_facts", broken)
    result = stack.run("undeploy", RUN_ID)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: deleted {arn}, but run {RUN_ID} could not record it: "
        "ProvisionedThroughputExceededException: slow down\n"
    )


@pytest.mark.parametrize(
    ("run_id", "facts", "reason"),
    [
        ("nope", None, "no run 'nope' in runs"),
        (RUN_ID, {}, f"run {RUN_ID} has no deployment: nothing to undeploy"),
        (
            RUN_ID,
            {"deployment_status": "Failed"},
            f"run {RUN_ID} has no deployment (Failed): nothing to undeploy",
        ),
    ],
)
def test_nothing_to_undeploy(
    run_id: str, facts: dict[str, Any] | None, reason: str, stack: Stack, make_run: RunFactory
) -> None:
    if facts is not None:
        stack.runs.create(_completed(make_run, **facts))
    result = stack.run("undeploy", run_id)
    assert result.exit_code == 1
    assert result.stderr == f"error: {reason}\n"


def test_deploy_invoke_undeploy_invoke(stack: Stack, make_run: RunFactory) -> None:
    """The story, with the deployment service played by the test between two polls."""
    stack.runs.create(_completed(make_run))

    def the_service_deploys() -> None:
        arn = stack.deployments.create_deployment(
            name="tailor-support-bot", model_arn=MODEL_ARN, token="t", tags={}, description=""
        )
        stack.deployments.settle(arn, "Active")
        stack.runs.add_facts(RUN_ID, RunFacts(deployment_arn=arn, deployment_status="Active"))

    stack.on_sleep = [the_service_deploys]
    deployed = stack.run("deploy", RUN_ID, "--wait")
    assert deployed.exit_code == 0, deployed.output
    arn = deployed.stdout.strip()
    assert stack.run("invoke", RUN_ID, "hi").exit_code == 0
    assert stack.run("undeploy", RUN_ID).exit_code == 0
    after = stack.run("invoke", RUN_ID, "hi")
    assert after.exit_code == 1 and "(Deleted)" in after.stderr
    assert [call[0] for call in stack.runtime.calls] == [arn]


# -- tailor status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "line"),
    [
        (
            {"deployment_arn": DEPLOYMENT_ARN, "deployment_status": "Active"},
            f"  deploy    Active {DEPLOYMENT_ARN}: tailor invoke {RUN_ID} PROMPT",
        ),
        (
            {"deployment_status": "Failed", "deployment_error": "[quota] full", "deployment_attempt": 2},
            "  deploy    Failed (attempt 2): [quota] full",
        ),
        (
            {"deployment_arn": DEPLOYMENT_ARN, "deployment_status": "Creating"},
            f"  deploy    Creating {DEPLOYMENT_ARN}",
        ),
        (
            {"deployment_arn": DEPLOYMENT_ARN, "deployment_status": "Deleted"},
            f"  deploy    Deleted {DEPLOYMENT_ARN}: the custom model stays (tailor deploy {RUN_ID})",
        ),
        ({"deploy_on_demand": True}, "  deploy    on demand once COMPLETED (job.json deploy.onDemand)"),
    ],
)
def test_status_shows_the_deployment(
    facts: dict[str, Any],
    line: str,
    make_run: RunFactory,
    console: Console,
    printed: Callable[[], str],
) -> None:
    render_run(_completed(make_run, **facts), None, console)
    out = printed().splitlines()
    assert line in out
    assert not [shown for shown in out if shown.lstrip().startswith("deployment")]  # not listed twice


def test_status_json_carries_the_deployment(stack: Stack, make_run: RunFactory) -> None:
    arn = _deployed(stack, make_run)
    result = stack.run("status", RUN_ID, "--json")
    assert result.exit_code == 0, result.output
    facts = orjson.loads(result.stdout)["run"]["facts"]
    assert facts["deploymentArn"] == arn and facts["deploymentStatus"] == "Active"


# -- with the real deployment service between two polls ---------------------------------------------


def test_the_cli_and_the_deployment_service_agree(stack: Stack, make_run: RunFactory) -> None:
    """DeploymentRequested's eventId is the service's request id: a second `tailor deploy` after an
    undeploy is a new request, so the service makes a new deployment (attempt 2)."""
    from tailor.deployment.service import DeploymentDeps, Trigger, deploy_run
    from tailor.runtime import HoldMessage

    service_bus = InMemoryPublisher("tailor-bus")
    deps = DeploymentDeps(runs=stack.runs, bus=service_bus, deployments=stack.deployments)
    stack.runs.create(_completed(make_run))

    def consume() -> None:  # the DeployQueue's message: the newest request
        request = orjson.loads(stack.bus.entries[-1]["Detail"])
        with contextlib.suppress(HoldMessage):  # Creating: held; the next receive reads it again
            deploy_run(RUN_ID, Trigger.REQUESTED, deps, request_id=request["metadata"]["eventId"])

    def settle() -> None:
        arn = stack.facts().deployment_arn
        assert arn is not None
        stack.deployments.settle(arn, "Active")

    for attempt in (1, 2):
        stack.on_sleep = [consume, settle, consume]
        deployed = stack.run("deploy", RUN_ID, "--wait")
        assert deployed.exit_code == 0, deployed.output
        assert (
            stack.facts().deployment_attempt in (None, 1)
            if attempt == 1
            else stack.facts().deployment_attempt == 2
        )
        assert stack.run("invoke", RUN_ID, "hi").exit_code == 0
        assert stack.run("undeploy", RUN_ID).exit_code == 0
    assert len(stack.bus.entries) == 2 and len(service_bus.details("ModelDeployed")) == 2
    assert stack.deployments.deployments == {}  # both deleted
