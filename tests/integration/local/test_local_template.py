"""The local stack built from the real ``template.yaml``: same names, same wiring as deployed.

No handler runs here (the ingestion slice has its own tests); this module checks that what the
functions are told (their environment) is what exists, and that events are routed as the template
says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tailor.local import LocalStack
from tailor.local.provision import ABSENT
from tailor.local.sam_transform import load_template, transform_template

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = REPO_ROOT / "template.yaml"
TIME_SCALE = 0.01
CONTRACT_VARIABLES = {"TAILOR_BUS_NAME", "DATA_BUCKET", "ARTIFACTS_BUCKET", "RUNS_TABLE", "IDEMPOTENCY_TABLE"}

if not TEMPLATE.exists():  # pragma: no cover - the template lands with the foundation issue
    pytest.skip("template.yaml is not there yet", allow_module_level=True)


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return transform_template(load_template(TEMPLATE))


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(TEMPLATE, time_scale=TIME_SCALE) as running:
        yield running


def _present(stack: LocalStack, transformed: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """The template's resources of a type that exist in this stack: a resource under a false
    Condition (the HyperPod backend without HyperPodClusterName) is not created, as in CloudFormation."""
    return {
        k: v
        for k, v in transformed["Resources"].items()
        if v["Type"] == resource_type and stack.provisioner.resources[k].status != ABSENT
    }


def assert_function_env_matches(
    stack: LocalStack, transformed: dict[str, Any], injected: dict[str, set[str]] | None = None
) -> None:
    """Each function's environment is the template's; ``injected`` names the variables the local
    stack adds on purpose (the simulated cluster's endpoint), per function."""
    functions = _present(stack, transformed, "AWS::Lambda::Function")
    assert functions, "the template has no function"
    for logical_id, body in functions.items():
        variables = body["Properties"]["Environment"]["Variables"]
        expected = {name: _ref_value(stack, value) for name, value in variables.items()}
        actual = stack.function_env(logical_id)
        extra = (injected or {}).get(logical_id, set())
        assert set(actual) - set(expected) == extra, logical_id
        assert {k: v for k, v in actual.items() if k not in extra} == expected
        assert set(expected) >= CONTRACT_VARIABLES | {"POWERTOOLS_SERVICE_NAME"}


def _ref_value(stack: LocalStack, value: Any) -> str:
    """What CloudFormation puts in an environment variable: a literal, a Ref's physical id (or a
    parameter's value), or a GetAtt's attribute."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        return str(stack.attribute(logical_id, attribute))
    if isinstance(value, dict):
        assert set(value) == {"Ref"}, f"unexpected intrinsic in an environment variable: {value}"
        parameter = stack.provisioner.template.get("Parameters", {}).get(value["Ref"])
        if parameter is not None:
            return str(stack.parameter_values.get(value["Ref"], parameter.get("Default", "")))
        return stack.physical_id(value["Ref"])
    return str(value)


def test_every_function_env_matches_the_template(stack: LocalStack, transformed: dict[str, Any]) -> None:
    assert_function_env_matches(stack, transformed)
    assert "HyperPodFunction" not in stack.provisioner.functions  # no cluster configured


def test_the_names_in_the_env_exist_as_the_template_describes(stack: LocalStack) -> None:
    env = stack.function_env("IngestionFunction")
    s3, ddb = stack.client("s3"), stack.client("dynamodb")

    assert s3.get_bucket_versioning(Bucket=env["DATA_BUCKET"])["Status"] == "Enabled"
    # (moto's GetBucketNotificationConfiguration omits EventBridgeConfiguration: the routing test
    # below shows the notifications are on.)
    assert s3.get_bucket_versioning(Bucket=env["ARTIFACTS_BUCKET"])["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=env["DATA_BUCKET"])["ServerSideEncryptionConfiguration"]["Rules"][
        0
    ]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    assert (
        stack.client("events").describe_event_bus(Name=env["TAILOR_BUS_NAME"])["Name"]
        == env["TAILOR_BUS_NAME"]
    )

    runs = ddb.describe_table(TableName=env["RUNS_TABLE"])["Table"]
    assert runs["KeySchema"] == [{"AttributeName": "runId", "KeyType": "HASH"}]
    (index,) = runs["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ActiveRunsIndex"
    assert index["KeySchema"] == [
        {"AttributeName": "activeFlag", "KeyType": "HASH"},
        {"AttributeName": "updatedAt", "KeyType": "RANGE"},
    ]
    ttl = ddb.describe_time_to_live(TableName=env["IDEMPOTENCY_TABLE"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}

    assert env["POWERTOOLS_SERVICE_NAME"] == "ingestion"
    function = stack.provisioner.functions["IngestionFunction"]
    assert function.code_dir == REPO_ROOT / "services" / "ingestion"
    assert function.handler == "app.handler"


def test_outputs_name_the_same_resources(stack: LocalStack) -> None:
    env, outputs = stack.function_env("IngestionFunction"), stack.outputs
    assert outputs["DataBucketName"] == env["DATA_BUCKET"]
    assert outputs["ArtifactsBucketName"] == env["ARTIFACTS_BUCKET"]
    assert outputs["TailorBusName"] == env["TAILOR_BUS_NAME"]
    assert outputs["RunsTableName"] == env["RUNS_TABLE"]
    assert outputs["IngestQueueUrl"] == stack.physical_id("IngestQueue")
    assert set(stack.client_env()) >= CONTRACT_VARIABLES | {"AWS_ENDPOINT_URL"}


def test_queues_carry_the_template_redrive_and_scaled_timeouts(
    stack: LocalStack, transformed: dict[str, Any]
) -> None:
    sqs = stack.client("sqs")
    queues = _present(stack, transformed, "AWS::SQS::Queue")
    for logical_id, body in queues.items():
        props = body.get("Properties", {})
        attributes = sqs.get_queue_attributes(QueueUrl=stack.physical_id(logical_id), AttributeNames=["All"])[
            "Attributes"
        ]
        expected_timeout = max(1, math.ceil(int(props.get("VisibilityTimeout", 30)) * TIME_SCALE))
        assert attributes["VisibilityTimeout"] == str(expected_timeout), logical_id
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive == {
                "deadLetterTargetArn": stack.attribute(dlq, "Arn"),
                "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
            }


def test_the_ingest_rule_is_wired_as_written(stack: LocalStack, transformed: dict[str, Any]) -> None:
    events = stack.client("events")
    rule_name = stack.physical_id("IngestRule")
    pattern = json.loads(events.describe_rule(Name=rule_name)["EventPattern"])
    written = transformed["Resources"]["IngestRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == written["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == written["detail"]["object"]
    assert pattern["detail"]["bucket"]["name"] == [stack.physical_id("DataBucket")]
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == stack.attribute("IngestQueue", "Arn")
    assert target["DeadLetterConfig"] == {"Arn": stack.attribute("EventsTargetDLQ", "Arn")}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 20


def test_uploads_reach_the_ingest_queue_only_for_trigger_keys(stack: LocalStack) -> None:
    for key in (
        "datasets/wiring/train.jsonl",
        "datasets/wiring/job.json",
        "inbox/fine-tuning/nova-lite/wiring.jsonl",
        "elsewhere/wiring.json",
    ):
        stack.upload(key, b"{}")
    sqs = stack.client("sqs")
    url = stack.physical_id("IngestQueue")
    keys = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            body = json.loads(message["Body"])
            assert body["detail-type"] == "Object Created"
            keys.append(body["detail"]["object"]["key"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(keys) == ["datasets/wiring/job.json", "inbox/fine-tuning/nova-lite/wiring.jsonl"]


def test_the_summary_for_the_real_template(stack: LocalStack) -> None:
    summary = stack.describe(echo=False)
    lambda_part = next(p for p in summary.emulated if p.name == "Lambda")
    functions = len(stack.provisioner.functions)
    assert functions >= 2  # ingestion, submission, …
    # Every function has its queue except the custom resource's (EdgePublicKeyFunction).
    assert f"{functions} function(s), {functions - 1} SQS event source(s)" in lambda_part.how
    assert any(p.name == "Bedrock (control plane)" for p in summary.emulated)
    assert any(p.name.startswith("Bedrock: ") for p in summary.workarounds)
    assert any("AWS::Lambda::LayerVersion" in s for s in summary.skipped)
    # training has no simulator here (listed as not available); deployments and runtime always do
    assert [p.name for p in summary.simulated] == ["Bedrock deployments and runtime", "IoT Jobs data plane"]
    assert any(name.startswith("Bedrock") for name in (p.name for p in summary.not_available))
    statuses = {r.logical_id: r.status for r in summary.resources}
    assert statuses["IngestionFunction"] == "played"
    assert statuses["IngestQueue"] == statuses["DataBucket"] == statuses["IngestRule"] == "created"
    assert statuses["SubmissionFunction"] == statuses["SubmissionEventSource"] == "played"
    assert statuses["SubmitQueue"] == statuses["SubmitRule"] == statuses["SubmitDLQAlarm"] == "created"
    assert statuses["BedrockCustomizationRole"] == "resolved"  # moto does not enforce IAM


def test_the_submission_event_source_resolves_its_parameters(stack: LocalStack) -> None:
    (source,) = [s for s in stack.provisioner.event_sources.values() if s.function_id == "SubmissionFunction"]
    assert source.queue_id == "SubmitQueue"
    assert source.batch_size == 5
    assert source.report_batch_item_failures
    assert source.maximum_concurrency == 2  # Ref SubmissionMaxConcurrency, its Default
    env = stack.function_env("SubmissionFunction")
    assert env["BEDROCK_ROLE_ARN"] == stack.attribute("BedrockCustomizationRole", "Arn")
    assert env["BEDROCK_ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/")
    assert env["SUBMIT_QUEUE_URL"] == stack.physical_id("SubmitQueue")
    assert (env["CUSTOMIZATION_JOB_QUOTA"], env["QUOTA_MAX_WAIT_HOURS"]) == ("2", "24")
    assert env["BEDROCK_KMS_KEY_ARN"] == env["BEDROCK_SUBNET_IDS"] == env["TRAINING_PRICES_JSON"] == ""
    assert env["USE_PRICE_LIST"] == "false"
    queue = stack.queue("SubmitQueue")
    assert queue.max_receive_count == 50 and queue.visibility_timeout == 360


def test_dataset_validated_on_the_tailor_bus_reaches_the_submit_queue(stack: LocalStack) -> None:
    events = stack.client("events")
    bus = stack.physical_id("TailorBus")
    entries = [
        {
            "Source": "tailor.ingestion",
            "DetailType": "DatasetValidated",
            "Detail": '{"n": 1}',
            "EventBusName": bus,
        },
        {
            "Source": "tailor.ingestion",
            "DetailType": "DatasetRejected",
            "Detail": '{"n": 2}',
            "EventBusName": bus,
        },
        {
            "Source": "someone.else",
            "DetailType": "DatasetValidated",
            "Detail": '{"n": 3}',
            "EventBusName": bus,
        },
        {"Source": "tailor.ingestion", "DetailType": "DatasetValidated", "Detail": '{"n": 4}'},  # default bus
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    sqs = stack.client("sqs")
    url = stack.physical_id("SubmitQueue")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [(b["source"], b["detail-type"], b["detail"]) for b in bodies] == [
        ("tailor.ingestion", "DatasetValidated", {"n": 1})
    ]
    stack.published_events()  # drain the observer for the other tests
