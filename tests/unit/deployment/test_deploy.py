"""deploy_run with fakes: once per run, followed to Active, holds while Creating, honest refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tailor.adapters.bedrock import BedrockError
from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.deployments import InMemoryDeployments
from tailor.adapters.runs import InMemoryRunStore
from tailor.deployment.service import DeploymentDeps, DeployOutcome, Trigger, deploy_run, receives_needed
from tailor.jobs.run import RunFacts, RunRecord
from tailor.jobs.state import RunStatus
from tailor.runtime import HoldMessage

MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/q1w2e3r4t5y6"


class World:
    def __init__(self) -> None:
        self.runs = InMemoryRunStore()
        self.bus = InMemoryPublisher()
        self.deployments = InMemoryDeployments()

    def deps(self) -> DeploymentDeps:
        return DeploymentDeps(runs=self.runs, bus=self.bus, deployments=self.deployments)

    def completed(
        self, run_id: str = "support-0123456789abcdef0123", *, on_demand: bool = True, **kw: Any
    ) -> str:
        record = RunRecord(
            run_id=run_id,
            label="support",
            technique=kw.get("technique", "fine-tuning"),
            base_model_id=kw.get("model", "amazon.nova-lite-v1:0:300k"),
            trigger_uri="s3://d/datasets/support/job.json",
            facts=RunFacts(deploy_on_demand=on_demand or None),
        )
        self.runs.create(record)
        for status in kw.get("path", (RunStatus.VALIDATED, RunStatus.SUBMITTED, RunStatus.COMPLETED)):
            self.runs.transition(run_id, status)
        self.runs.add_facts(run_id, RunFacts(output_model_arn=MODEL))
        return run_id

    def events(self, detail_type: str) -> list[dict[str, Any]]:
        return [d["data"] for d in self.bus.details(detail_type)]

    def only_arn(self) -> str:
        (arn,) = self.deployments.deployments
        return arn


@pytest.fixture
def world() -> World:
    return World()


def test_a_completed_run_that_asked_is_deployed_once_and_followed_to_active(world: World) -> None:
    run_id = world.completed()
    with pytest.raises(HoldMessage) as held:
        deploy_run(run_id, Trigger.COMPLETED, world.deps())
    assert held.value.seconds == 30 and "Creating" in held.value.reason
    arn = world.only_arn()
    run = world.runs.get(run_id)
    assert run is not None and run.facts.deployment_arn == arn and run.facts.deployment_status == "Creating"
    with pytest.raises(HoldMessage) as again:
        deploy_run(run_id, Trigger.COMPLETED, world.deps(), receive_count=2)
    assert again.value.seconds == 60
    world.deployments.settle(arn, "Active")
    result = deploy_run(run_id, Trigger.COMPLETED, world.deps(), receive_count=3)
    assert result.outcome is DeployOutcome.DEPLOYED and result.deployment_arn == arn
    (deployed,) = world.events("ModelDeployed")
    assert deployed["deploymentArn"] == arn and deployed["customModelArn"] == MODEL
    assert world.deployments.create_calls == 1
    # Duplicates afterwards: nothing new.
    assert deploy_run(run_id, Trigger.COMPLETED, world.deps()).outcome is DeployOutcome.ALREADY_DONE
    assert len(world.events("ModelDeployed")) == 1
    run = world.runs.get(run_id)
    assert run is not None and run.status is RunStatus.COMPLETED  # a fact beside the status


def test_a_run_that_did_not_ask_is_not_deployed(world: World) -> None:
    run_id = world.completed(on_demand=False)
    assert deploy_run(run_id, Trigger.COMPLETED, world.deps()).outcome is DeployOutcome.IGNORED
    assert world.deployments.create_calls == 0


def test_a_crash_after_create_finds_the_same_deployment(world: World) -> None:
    run_id = world.completed()
    real = world.runs.add_facts
    calls = {"n": 0}

    def crash_first(run: str, facts: RunFacts) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("died after Bedrock accepted the deployment")
        real(run, facts)

    world.runs.add_facts = crash_first  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="e1")
    world.runs.add_facts = real  # type: ignore[method-assign]
    with pytest.raises(HoldMessage):
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="e1", receive_count=2)
    assert len(world.deployments.deployments) == 1  # the same token: the same deployment


def test_a_failed_deployment_is_reported_once(world: World) -> None:
    run_id = world.completed()
    with pytest.raises(HoldMessage):
        deploy_run(run_id, Trigger.COMPLETED, world.deps())
    world.deployments.settle(world.only_arn(), "Failed", "the model artifacts are not ready")
    assert deploy_run(run_id, Trigger.COMPLETED, world.deps()).outcome is DeployOutcome.FAILED
    assert deploy_run(run_id, Trigger.COMPLETED, world.deps()).outcome is DeployOutcome.ALREADY_DONE
    (failed,) = world.events("ModelDeploymentFailed")
    assert "not ready" in failed["message"] and failed["retryable"] is True


def test_a_model_bedrock_cannot_deploy_on_demand_is_refused_with_the_real_path(world: World) -> None:
    run_id = world.completed(technique="continued-pre-training")  # e.g. a full-rank HyperPod CPT output
    assert (
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="e1").outcome is DeployOutcome.REFUSED
    )
    (failed,) = world.events("ModelDeploymentFailed")
    assert failed["errorCode"] == "not_deployable_on_demand" and "Provisioned Throughput" in failed["hint"]
    assert "per hour" in failed["hint"] and world.deployments.create_calls == 0


def test_a_run_that_is_not_completed_is_refused(world: World) -> None:
    run_id = world.completed(path=(RunStatus.VALIDATED, RunStatus.SUBMITTED, RunStatus.IN_PROGRESS))
    assert (
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="e1").outcome is DeployOutcome.REFUSED
    )
    assert world.events("ModelDeploymentFailed")[0]["errorCode"] == "not_completed"


@pytest.mark.parametrize(
    "code", ["ServiceQuotaExceededException", "ThrottlingException", "InternalServerException"]
)
def test_quota_and_throttling_hold_the_request_never_lose_it(world: World, code: str) -> None:
    run_id = world.completed()
    world.deployments.fail_next = [BedrockError.classify(code, "not now")]
    with pytest.raises(HoldMessage):
        deploy_run(run_id, Trigger.COMPLETED, world.deps())
    assert world.events("ModelDeploymentFailed") == []
    with pytest.raises(HoldMessage):  # created now, Creating
        deploy_run(run_id, Trigger.COMPLETED, world.deps(), receive_count=2)
    assert len(world.deployments.deployments) == 1


def test_a_new_request_after_an_undeploy_is_a_new_deployment_a_repeat_is_not(world: World) -> None:
    run_id = world.completed()
    with pytest.raises(HoldMessage):
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="first")
    first = world.only_arn()
    world.deployments.delete_deployment(first)
    world.runs.add_facts(run_id, RunFacts(deployment_status="Deleted"))  # what `tailor undeploy` records
    assert (
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="first").outcome
        is DeployOutcome.ALREADY_DONE
    )
    with pytest.raises(HoldMessage):
        deploy_run(run_id, Trigger.REQUESTED, world.deps(), request_id="second")
    (second,) = world.deployments.deployments
    assert second != first
    run = world.runs.get(run_id)
    assert run is not None and run.facts.deployment_attempt == 2 and run.facts.deployment_name.endswith("-d2")  # type: ignore[union-attr]


def test_the_wait_fits_the_queue() -> None:
    assert receives_needed() < 50
