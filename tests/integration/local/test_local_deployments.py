"""SIMULATED Bedrock on-demand deployments and runtime (``tailor/local/deployments_sim.py``).

Through the real adapters (``tailor.adapters.deployments.BedrockDeployments`` / ``BedrockRuntime``)
against the stack, so the shapes are the ones the deployment service reads. The custom models are
real local ones: jobs driven to ``Completed`` by the Bedrock simulator (``finish``), whose
``outputModelArn`` is the custom model's ARN in moto's Bedrock.

Timing is deterministic: ``DeploymentConfig(active_after_gets=1)`` (the first Get after a create
says Creating, the next Active), or the simulator's ``clock`` set by the test.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tailor.adapters.bedrock import BedrockError, ErrorKind
from tailor.adapters.deployments import BedrockDeployments, BedrockRuntime
from tailor.local import LocalStack
from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.deployments_sim import (
    INVALID_MODEL,
    LABEL,
    SIMULATE_DEPLOY_TAG,
    DeploymentConfig,
    DeploymentSimulator,
    answer_text,
)

pytestmark = pytest.mark.integration

BUCKET = "deploy-artifacts"
CONFIG = DeploymentConfig(active_after_gets=1, quota=2)
DEPLOYMENT_ARN = re.compile(r"^arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/[a-z0-9]{12}$")
TEMPLATE: dict[str, Any] = {
    "Resources": {"Artifacts": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}}}
}
_names = itertools.count()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        TEMPLATE,
        stack_name="deploy-sim",
        simulate_bedrock=SimulatorConfig.exact(job_quota=50),
        deployments=CONFIG,
    ) as running:
        yield running


@pytest.fixture
def sim(stack: LocalStack) -> Iterator[DeploymentSimulator]:
    simulator = stack.deployment_simulator
    simulator.config = CONFIG
    yield simulator
    simulator.config = CONFIG
    simulator.clock = lambda: datetime.now(UTC)
    simulator.deployments.clear()  # every test starts with an empty quota


@pytest.fixture
def deployments(stack: LocalStack) -> BedrockDeployments:
    return BedrockDeployments(stack.client("bedrock"))


@pytest.fixture
def runtime(stack: LocalStack) -> BedrockRuntime:
    return BedrockRuntime(stack.client("bedrock-runtime"))


def _model(stack: LocalStack, *, job_tags: dict[str, str] | None = None, finish: bool = True) -> str:
    """A custom model of this stack: a simulated job run to Completed; its outputModelArn."""
    name = f"deploy-job-{next(_names)}"
    bedrock = stack.client("bedrock")
    tags = [{"key": k, "value": v} for k, v in (job_tags or {}).items()]
    bedrock.create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn="arn:aws:iam::123456789012:role/tailor-BedrockCustomizationRole-X",
        clientRequestToken=f"{name}-token",
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        customizationType="FINE_TUNING",
        trainingDataConfig={"s3Uri": "s3://data/snapshots/a.jsonl"},
        outputDataConfig={"s3Uri": f"s3://{BUCKET}/jobs/{name}/"},
        hyperParameters={"epochCount": "1"},
        **({"jobTags": tags} if tags else {}),
    )
    if not finish:
        return str(bedrock.get_custom_model(modelIdentifier=f"{name}-model")["modelArn"])
    stack.bedrock_simulator.finish(name)
    job = bedrock.get_model_customization_job(jobIdentifier=name)
    assert job["status"] == "Completed"
    return str(job["outputModelArn"])


def _create(deployments: BedrockDeployments, model_arn: str, name: str, token: str | None = None) -> str:
    return deployments.create_deployment(
        name=name,
        model_arn=model_arn,
        token=token or f"{name}-token",
        tags={"tailor:run-id": name},
        description="d",
    )


def test_create_is_creating_then_active_by_arn_and_by_name(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    model = _model(stack)
    arn = _create(deployments, model, "run-a-deploy")
    assert DEPLOYMENT_ARN.match(arn)
    first = deployments.get_deployment(arn)
    assert first is not None and first.status == "Creating" and first.failure_message is None
    assert (first.arn, first.name, first.model_arn) == (arn, "run-a-deploy", model)
    by_name = deployments.get_deployment("run-a-deploy")
    assert by_name is not None and by_name.status == "Active" and by_name.arn == arn
    assert deployments.find_deployment("run-a-deploy") == by_name
    raw = stack.client("bedrock").get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert raw["description"] == "d" and raw["lastUpdatedAt"] >= raw["createdAt"]
    assert raw["createdAt"].tzinfo is not None
    tags = stack.client("bedrock").list_tags_for_resource(resourceARN=arn)["tags"]
    assert {"key": "tailor:run-id", "value": "run-a-deploy"} in tags


def test_time_based_default_becomes_active_after_the_seconds(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    assert DeploymentConfig().active_after_seconds == 2.0  # the demo's default
    sim.config = DeploymentConfig(active_after_seconds=30)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sim.clock = lambda: start
    arn = _create(deployments, _model(stack), "timed")
    for _ in range(3):
        info = deployments.get_deployment(arn)
        assert info is not None and info.status == "Creating"
    sim.clock = lambda: start + timedelta(seconds=30)
    info = deployments.get_deployment(arn)
    assert info is not None and info.status == "Active"
    raw = stack.client("bedrock").get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert raw["lastUpdatedAt"] == start + timedelta(seconds=30)


def test_the_same_token_is_the_same_deployment(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    model = _model(stack)
    first = _create(deployments, model, "dup", token="tok-1")
    assert _create(deployments, model, "dup", token="tok-1") == first
    assert len(sim.deployments) == 1
    with pytest.raises(BedrockError) as used:  # the name again, another token
        _create(deployments, model, "dup", token="tok-2")
    assert used.value.code == "ValidationException" and used.value.kind is ErrorKind.CONFLICT


def test_an_unknown_or_unfinished_model_is_not_found(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    unknown = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0/abcdefabcdef"
    with pytest.raises(BedrockError) as missing:
        _create(deployments, unknown, "nope")
    assert missing.value.code == "ResourceNotFoundException" and missing.value.kind is ErrorKind.FATAL
    # moto makes the custom model when the job starts; AWS only when it completes
    training = _model(stack, finish=False)
    with pytest.raises(BedrockError) as early:
        _create(deployments, training, "too-early")
    assert early.value.code in ("ResourceNotFoundException", "ValidationException")
    with pytest.raises(BedrockError) as bad_name:
        _create(deployments, _model(stack), "not a name!")
    assert bad_name.value.code == "ValidationException"
    assert sim.deployments == {}


def test_a_steered_deployment_fails(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    model = _model(stack, job_tags={SIMULATE_DEPLOY_TAG: "fail"})
    arn = _create(deployments, model, "doomed")
    assert sim.finish(arn)
    info = deployments.get_deployment(arn)
    assert info is not None and info.status == "Failed"
    assert info.failure_message and "SIMULATED" in info.failure_message
    # the deployment's own tag, or the option for every deployment
    tagged = deployments.create_deployment(
        name="doomed-2",
        model_arn=_model(stack),
        token="t2",
        tags={SIMULATE_DEPLOY_TAG: "fail"},
        description="d",
    )
    sim.config = replace(CONFIG, fail=True)
    forced = _create(deployments, _model(stack), "doomed-3")
    sim.finish()
    assert {deployments.get_deployment(a).status for a in (tagged, forced)} == {"Failed"}  # type: ignore[union-attr]
    failed = stack.client("bedrock").list_custom_model_deployments(statusEquals="Failed")[
        "modelDeploymentSummaries"
    ]
    assert {s["customModelDeploymentName"] for s in failed} == {"doomed", "doomed-2", "doomed-3"}
    assert all("SIMULATED" in s["failureMessage"] for s in failed)


def test_the_creating_quota(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    model = _model(stack)
    _create(deployments, model, "q1")
    _create(deployments, model, "q2")
    with pytest.raises(BedrockError) as refused:
        _create(deployments, model, "q3")
    assert refused.value.code == "ServiceQuotaExceededException" and refused.value.kind is ErrorKind.QUOTA
    assert "SIMULATED" in refused.value.message
    assert _create(deployments, model, "q1", token="q1-token")  # a repeat is never refused
    sim.finish("q1")
    assert DEPLOYMENT_ARN.match(_create(deployments, model, "q3"))


def test_delete_then_get_is_not_found(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments, runtime: BedrockRuntime
) -> None:
    arn = _create(deployments, _model(stack), "gone")
    sim.finish()
    deployments.delete_deployment(arn)
    assert deployments.get_deployment(arn) is None and deployments.find_deployment("gone") is None
    with pytest.raises(BedrockError) as again:
        deployments.delete_deployment(arn)
    assert again.value.code == "ResourceNotFoundException"
    with pytest.raises(BedrockError) as invoke:
        runtime.converse(arn, "still there?")
    assert (invoke.value.code, invoke.value.message) == ("ValidationException", INVALID_MODEL)
    with pytest.raises(ClientError) as raw:
        stack.client("bedrock").get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert raw.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_filters_and_pages(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    sim.config = replace(CONFIG, quota=10)
    model, other = _model(stack), _model(stack)
    arns = [_create(deployments, model, f"list-{i}") for i in range(4)]
    _create(deployments, other, "elsewhere")
    sim.finish(arns[0])
    bedrock = stack.client("bedrock")
    named = bedrock.list_custom_model_deployments(nameContains="list-")["modelDeploymentSummaries"]
    assert sorted(s["customModelDeploymentName"] for s in named) == [f"list-{i}" for i in range(4)]
    summary = next(s for s in named if s["customModelDeploymentArn"] == arns[0])
    assert set(summary) == {
        "customModelDeploymentArn",
        "customModelDeploymentName",
        "modelArn",
        "status",
        "createdAt",
        "lastUpdatedAt",
    }
    assert summary["status"] == "Active" and summary["modelArn"] == model
    active = bedrock.list_custom_model_deployments(statusEquals="Active")["modelDeploymentSummaries"]
    assert [s["customModelDeploymentArn"] for s in active] == [arns[0]]
    by_model = bedrock.list_custom_model_deployments(modelArnEquals=other)["modelDeploymentSummaries"]
    assert [s["customModelDeploymentName"] for s in by_model] == ["elsewhere"]
    pages = list(
        bedrock.get_paginator("list_custom_model_deployments").paginate(
            sortOrder="Ascending", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["modelDeploymentSummaries"]) for p in pages] == [2, 2, 1]
    flat = [s["customModelDeploymentName"] for p in pages for s in p["modelDeploymentSummaries"]]
    assert flat == ["list-0", "list-1", "list-2", "list-3", "elsewhere"]
    assert deployments.find_deployment("list-1") is not None and deployments.find_deployment("list") is None


def test_converse_answers_labelled_with_usage(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments, runtime: BedrockRuntime
) -> None:
    arn = _create(deployments, _model(stack), "talk")
    sim.finish()
    prompt = "How do I reset my password? I have tried the link in the email twice and it keeps failing."
    answer = runtime.converse(arn, prompt, system="You are a support bot.")
    assert answer.simulated is True
    assert answer.text.startswith(LABEL) and answer.text == answer_text(prompt)
    assert f'You asked: "{prompt[:60]}…"' in answer.text
    assert answer.input_tokens == -(-len("You are a support bot.") // 4) + -(-len(prompt) // 4)
    assert answer.output_tokens == -(-len(answer.text) // 4)
    raw = stack.client("bedrock-runtime").converse(
        modelId=arn,
        messages=[{"role": "user", "content": [{"text": "hi"}]}],
        inferenceConfig={"maxTokens": 5},
    )
    assert raw["stopReason"] == "max_tokens" and raw["usage"]["outputTokens"] <= 5
    full = stack.client("bedrock-runtime").converse(
        modelId=arn, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert full["stopReason"] == "end_turn" and full["additionalModelResponseFields"] == {
        "tailorSimulated": True
    }
    assert full["usage"]["totalTokens"] == full["usage"]["inputTokens"] + full["usage"]["outputTokens"]
    assert full["output"]["message"]["role"] == "assistant"
    assert [i[1] for i in sim.invocations][-3:] == [prompt, "hi", "hi"]


def test_invoke_model_on_a_deployment_answers_nova_shaped_and_labelled(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    arn = _create(deployments, _model(stack), "invoked")
    sim.finish()
    runtime = stack.client("bedrock-runtime")
    request = {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "ping"}]}]}
    answer = json.loads(runtime.invoke_model(modelId=arn, body=json.dumps(request))["body"].read())
    assert answer["output"]["message"]["content"][0]["text"] == answer_text("ping")
    assert answer["stopReason"] == "end_turn" and answer["tailorSimulated"] is True
    assert answer["usage"]["inputTokens"] == 1
    sim.deployments.clear()
    with pytest.raises(ClientError) as gone:
        runtime.invoke_model(modelId=arn, body=json.dumps(request))
    assert gone.value.response["Error"]["Code"] == "ValidationException"
    # any other model id: moto's own (an empty body)
    other = runtime.invoke_model(modelId="amazon.nova-micro-v1:0", body=json.dumps(request))
    assert json.loads(other["body"].read()) == {}


def test_converse_on_unknown_creating_or_failed_deployments(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments, runtime: BedrockRuntime
) -> None:
    unknown = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefabcdef"
    with pytest.raises(BedrockError) as missing:
        runtime.converse(unknown, "hello")
    assert (missing.value.code, missing.value.message) == ("ValidationException", INVALID_MODEL)
    with pytest.raises(BedrockError) as foundation:
        runtime.converse("amazon.nova-micro-v1:0", "hello")
    assert foundation.value.code == "ValidationException" and "SIMULATED runtime" in foundation.value.message
    creating = _create(deployments, _model(stack), "not-yet")
    with pytest.raises(BedrockError) as early:
        runtime.converse(creating, "hello")
    assert early.value.code == "ModelNotReadyException"
    failed = _create(deployments, _model(stack, job_tags={SIMULATE_DEPLOY_TAG: "fail"}), "broken")
    sim.finish()
    with pytest.raises(BedrockError) as broken:
        runtime.converse(failed, "hello")
    assert broken.value.code == "ValidationException"


def test_the_summary_labels_it_simulated(stack: LocalStack) -> None:
    summary = stack.describe(echo=False)
    part = next(p for p in summary.simulated if p.name == "Bedrock deployments and runtime")
    assert "no model runs" in part.how and SIMULATE_DEPLOY_TAG in part.how
    short = "\n".join(summary.short())
    assert "  Bedrock deployments and runtime: SIMULATED (answers labelled, no model runs)" in short


def test_handlers_are_only_there_while_a_stack_runs(stack: LocalStack) -> None:
    from moto.bedrock.responses import BedrockResponse
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    assert hasattr(BedrockResponse, "create_custom_model_deployment")
    assert hasattr(BedrockRuntimeResponse, "converse")
    with pytest.raises(ValueError):
        DeploymentConfig(quota=0)


def test_a_model_registered_directly_in_moto_can_be_deployed(
    stack: LocalStack, sim: DeploymentSimulator, deployments: BedrockDeployments
) -> None:
    """Without a job (e.g. a test that skips training): a custom model put into moto's backend."""
    from moto.bedrock.models import CustomModel, bedrock_backends

    backend = bedrock_backends["123456789012"]["us-east-1"]
    model = CustomModel(
        "direct-model",
        "",
        "",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k",
        {},
        {},
        {},
        {},
        "amazon.nova-lite-v1:0:300k",
        "us-east-1",
        "123456789012",
        "FINE_TUNING",
        None,
        None,
        None,
    )
    model.model_arn = (
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/direct0model"
    )
    backend.custom_models["direct-model"] = model
    try:
        arn = _create(deployments, model.model_arn, "direct")
        assert DEPLOYMENT_ARN.match(arn)
        model.customization_type = "CONTINUED_PRE_TRAINING"  # not deployable on demand
        with pytest.raises(BedrockError) as refused:
            _create(deployments, model.model_arn, "direct-cpt")
        assert (
            refused.value.code == "ValidationException" and "Provisioned Throughput" in refused.value.message
        )
    finally:
        del backend.custom_models["direct-model"]
