"""Deployment through the embedded local stack (Bedrock training, deployments and the runtime are
SIMULATED there, and say so): a completed run with deploy.onDemand → ModelDeployed → an answer →
undeploy → invoke fails cleanly; duplicate triggers → one deployment; a failed deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tailor.adapters.bedrock import BedrockError
from tailor.adapters.deployments import BedrockDeployments, BedrockRuntime
from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.deployments_sim import DeploymentConfig
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def data(n: int) -> bytes:
    def record(i: int) -> bytes:
        return orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": [{"text": f"Can I return item {i}?"}]},
                    {"role": "assistant", "content": [{"text": f"Yes, item {i} within 30 days."}]},
                ]
            }
        )

    return b"\n".join(record(i) for i in range(n)) + b"\n"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        time_scale=0.0001,
        simulate_bedrock=SimulatorConfig.exact(job_quota=20),
        deployments=DeploymentConfig(active_after_gets=1, quota=5),
    ) as local:
        yield local


def settle(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=60)
    return stack.published_events()


def trained(stack: LocalStack, name: str, spec: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    stack.upload(f"datasets/{name}/train.jsonl", data(12))
    stack.upload(
        f"datasets/{name}/job.json",
        orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite", **spec}),
    )
    events = settle(stack)
    run_id = next(e["detail"]["data"]["runId"] for e in events if e["detail-type"] == "JobSubmitted")
    stack.bedrock_simulator.finish()
    return run_id, events + settle(stack)


def of(events: list[dict[str, Any]], run_id: str, detail_type: str) -> list[dict[str, Any]]:
    return [
        e["detail"]["data"]
        for e in events
        if e["detail-type"] == detail_type and e["detail"]["data"]["runId"] == run_id
    ]


def facts(stack: LocalStack, run_id: str) -> dict[str, Any]:
    item = stack.client("dynamodb").get_item(
        TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": run_id}}
    )["Item"]
    return {k: next(iter(v.values())) for k, v in item["facts"]["M"].items()}


def test_a_completed_run_is_deployed_answers_and_is_undeployed(stack: LocalStack) -> None:
    run_id, events = trained(stack, "returns", {"deploy": {"onDemand": True}})
    assert len(of(events, run_id, "JobCompleted")) == 1
    (deployed,) = of(events, run_id, "ModelDeployed")
    arn = deployed["deploymentArn"]
    assert arn.startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/")
    assert facts(stack, run_id)["deploymentStatus"] == "Active"

    answer = BedrockRuntime().converse(arn, "Can I return shoes?", system="Be brief.")
    assert answer.simulated and "[simulated by the Tailor local stack" in answer.text
    assert answer.input_tokens > 0 and answer.output_tokens > 0

    # Duplicate triggers afterwards (JobCompleted and DeploymentRequested redelivered): nothing new.
    for event in events:
        if event["detail-type"] == "JobCompleted" and event["detail"]["data"]["runId"] == run_id:
            for _ in range(3):
                stack.client("sqs").send_message(
                    QueueUrl=stack.queue("DeployQueue").url, MessageBody=orjson.dumps(event).decode()
                )
    assert of(settle(stack), run_id, "ModelDeployed") == []
    listed = stack.client("bedrock").list_custom_model_deployments()["modelDeploymentSummaries"]
    assert sum(1 for d in listed if d["modelArn"] == deployed["customModelArn"]) == 1

    BedrockDeployments().delete_deployment(arn)  # what `tailor undeploy` calls
    with pytest.raises(BedrockError) as gone:
        BedrockRuntime().converse(arn, "Still there?")
    assert gone.value.code == "ValidationException"


def test_a_run_that_did_not_ask_is_not_deployed(stack: LocalStack) -> None:
    run_id, events = trained(stack, "nodeploy", {})
    assert len(of(events, run_id, "JobCompleted")) == 1
    assert of(events, run_id, "ModelDeployed") == [] and of(events, run_id, "ModelDeploymentFailed") == []


def test_a_failed_deployment_is_reported(stack: LocalStack) -> None:
    run_id, events = trained(
        stack, "faildeploy", {"deploy": {"onDemand": True}, "tags": {"tailor:simulate-deploy": "fail"}}
    )
    (failed,) = of(events, run_id, "ModelDeploymentFailed")
    assert failed["errorCode"] == "deployment_failed" and "SIMULATED" in failed["message"]
    assert facts(stack, run_id)["deploymentStatus"] == "Failed"
    assert stack.dlq_messages("DeployQueue") == []


def _request(stack: LocalStack, run_id: str, copies: int = 1) -> None:
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.events.envelope import new_detail
    from tailor.events.models import DeploymentRequested

    detail = new_detail(DeploymentRequested(run_id=run_id), producer="tailor.user")  # one request, one id
    for _ in range(copies):
        EventBridgePublisher(stack.env_value("TAILOR_BUS_NAME")).publish([detail])


def test_a_deployment_request_delivered_three_times_is_one_deployment(stack: LocalStack) -> None:
    run_id, _ = trained(stack, "later", {})
    _request(stack, run_id, copies=3)
    events = settle(stack)
    (deployed,) = of(events, run_id, "ModelDeployed")
    listed = stack.client("bedrock").list_custom_model_deployments()["modelDeploymentSummaries"]
    assert sum(1 for d in listed if d["modelArn"] == deployed["customModelArn"]) == 1


def test_a_model_bedrock_cannot_deploy_on_demand_is_refused_with_the_real_path(stack: LocalStack) -> None:
    from tailor.adapters.runs import DynamoRunStore
    from tailor.jobs.run import RunFacts, RunRecord
    from tailor.jobs.state import RunStatus

    runs = DynamoRunStore(stack.env_value("RUNS_TABLE"))
    run_id = "hyperpod-cpt-0123456789abcdef0123"  # as a HyperPod CPT run would end: full-rank output
    runs.create(
        RunRecord(
            run_id=run_id,
            label="hyperpod-cpt",
            technique="continued-pre-training",
            base_model_id="amazon.nova-lite-v1:0:300k",
            trigger_uri="s3://x/datasets/hyperpod-cpt/job.json",
        )
    )
    for status in (RunStatus.VALIDATED, RunStatus.SUBMITTED, RunStatus.COMPLETED):
        runs.transition(run_id, status)
    runs.add_facts(
        run_id,
        RunFacts(output_model_arn="arn:aws:bedrock:us-east-1:123456789012:custom-model/cpt/abcdefabcdef"),
    )
    _request(stack, run_id)
    (refused,) = of(settle(stack), run_id, "ModelDeploymentFailed")
    assert refused["errorCode"] == "not_deployable_on_demand" and "Provisioned Throughput" in refused["hint"]
