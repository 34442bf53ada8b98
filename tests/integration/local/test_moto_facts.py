"""What moto 5.2 really does — the facts the local stack's workarounds rest on.

These talk to the local stack's moto server directly (no dispatcher). If a moto upgrade changes
one of them, this module fails and says which workaround to revisit (``tailor/local/moto_gaps.py``,
``provision.py``, ``dispatcher.py``; ``docs/local-stack.md`` lists them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tailor.local import LocalStack
from tailor.local.moto_gaps import MOTO_S3_EVENT_ID, MOTO_S3_SEQUENCER

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # repair_bedrock=False: these tests observe moto itself (test_local_bedrock: the repaired stack).
    with LocalStack({"Resources": {}}, stack_name="moto-facts", repair_bedrock=False) as running:
        yield running


def _queue(stack: LocalStack, name: str, **attributes: str) -> tuple[str, str]:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _drain(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _rule(
    stack: LocalStack, name: str, pattern: dict[str, Any], arn: str, bus: str = "default", **kw: Any
) -> None:
    events = stack.client("events")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), **kw)
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "t", "Arn": arn}])


def test_redrive_happens_on_the_receive_after_max_receive_count(stack: LocalStack) -> None:
    """The dispatcher relies on moto for redrive (no own implementation needed)."""
    sqs = stack.client("sqs")
    dlq_url, dlq_arn = _queue(stack, "facts-dlq")
    url, _ = _queue(
        stack,
        "facts-src",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    counts = []
    for _ in range(3):
        messages = sqs.receive_message(QueueUrl=url, AttributeNames=["All"]).get("Messages", [])
        counts.append([m["Attributes"]["ApproximateReceiveCount"] for m in messages])
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    assert counts == [["1"], ["2"], []]  # the third receive moved it instead of returning it
    dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_sqs_visibility_timeout_takes_whole_seconds_only(stack: LocalStack) -> None:
    """Why the dispatcher releases failed messages itself for sub-second scaled timeouts."""
    import boto3
    from botocore.config import Config

    no_retries = Config(retries={"mode": "standard", "max_attempts": 1})
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint_url, config=no_retries)
    with pytest.raises(ClientError):  # moto answers 500 (int("0.5"))
        sqs.create_queue(QueueName="facts-fractional", Attributes={"VisibilityTimeout": "0.5"})


def test_s3_eventbridge_events_and_their_gaps(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="facts-bucket")
    s3.put_bucket_versioning(Bucket="facts-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="facts-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    all_url, all_arn = _queue(stack, "facts-s3-all")
    created_url, created_arn = _queue(stack, "facts-s3-created")
    _rule(stack, "facts-s3-all", {"source": ["aws.s3"]}, all_arn)
    _rule(
        stack,
        "facts-s3-created",
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"object": {"key": [{"wildcard": "d/*/job.json"}]}},
        },
        created_arn,
    )
    stack.client("events").create_event_bus(Name="facts-custom")
    custom_url, custom_arn = _queue(stack, "facts-s3-custom-bus")
    _rule(stack, "facts-custom", {"source": ["aws.s3"]}, custom_arn, bus="facts-custom")

    put = s3.put_object(Bucket="facts-bucket", Key="d/x/job.json", Body=b"{}")
    s3.put_object(Bucket="facts-bucket", Key="d/x/train.jsonl", Body=b"{}")

    everything = _drain(stack, all_url)
    # A plain put_object also emits "Object Tags Added" (AWS does not).
    assert sorted(e["detail-type"] for e in everything) == ["Object Created"] * 2 + ["Object Tags Added"] * 2
    # Every event carries the same fixed id and sequencer; the ETag is spelt "eTag".
    assert {e["id"] for e in everything} == {MOTO_S3_EVENT_ID}
    first = next(e for e in everything if e["detail-type"] == "Object Created")
    obj = first["detail"]["object"]
    assert set(obj) == {"key", "size", "eTag", "version-id", "sequencer"}
    assert obj["sequencer"] == MOTO_S3_SEQUENCER
    assert obj["eTag"] == put["ETag"].strip('"')
    assert first["detail"]["bucket"] == {"name": "facts-bucket"}
    assert first["account"] == "123456789012"  # S3 events do carry the account
    # detail-type and wildcard patterns are honoured: only job.json's Object Created got through.
    created = _drain(stack, created_url)
    assert [(e["detail-type"], e["detail"]["object"]["key"]) for e in created] == [
        ("Object Created", "d/x/job.json")
    ]
    # S3 events reach rules on custom buses too (AWS sends them to the default bus only).
    assert _drain(stack, custom_url)


def test_put_events_bodies_lack_account_and_disabled_rules_deliver(stack: LocalStack) -> None:
    url, arn = _queue(stack, "facts-disabled")
    _rule(stack, "facts-disabled", {"source": ["facts.app"]}, arn, State="DISABLED")
    stack.client("events").put_events(Entries=[{"Source": "facts.app", "DetailType": "D", "Detail": "{}"}])
    (body,) = _drain(stack, url)  # delivered although the rule is DISABLED
    assert "account" not in body
    assert set(body) == {"version", "id", "detail-type", "source", "time", "region", "resources", "detail"}


def test_bucket_policy_conditions_are_ignored(stack: LocalStack) -> None:
    """A TLS-only Deny would deny every request: the provisioner leaves conditional statements out."""
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="facts-policy")
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::facts-policy/*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},  # would never match over HTTP
    }
    s3.put_bucket_policy(
        Bucket="facts-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    with pytest.raises(ClientError, match=r"403|Forbidden|AccessDenied"):
        s3.put_object(Bucket="facts-policy", Key="k", Body=b"x")


def test_s3_versions_delete_markers_and_copy_conditions(stack: LocalStack) -> None:
    """What the data path rests on (docs/runs.md): an old version stays readable behind a delete
    marker; HEAD of a well-formed version id that does not exist is a 404; the managed copy checks
    CopySourceIfMatch with a HEAD (412) before copying a byte."""
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="facts-versions")
    s3.put_bucket_versioning(Bucket="facts-versions", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="facts-versions", Key="k", Body=b"v1")
    s3.delete_object(Bucket="facts-versions", Key="k")
    body = s3.get_object(Bucket="facts-versions", Key="k", VersionId=first["VersionId"])["Body"].read()
    assert body == b"v1"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="facts-versions", Key="k", VersionId="3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
    assert missing.value.response["Error"]["Code"] in {"404", "NoSuchVersion"}
    s3.put_object(Bucket="facts-versions", Key="u", Body=b"now")
    with pytest.raises(ClientError) as changed:
        s3.copy(
            {"Bucket": "facts-versions", "Key": "u"},
            "facts-versions",
            "copy",
            ExtraArgs={"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'},
        )
    assert changed.value.response["Error"]["Code"] in {"412", "PreconditionFailed"}
    assert changed.value.operation_name == "HeadObject"


# ------------------------------------------------------------------------------------------------
# Bedrock model customization (repaired by tailor/local/moto_bedrock.py; test_local_bedrock.py
# checks the repaired stack answers like AWS)
# ------------------------------------------------------------------------------------------------


def _job_request(name: str, token: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": "arn:aws:iam::123456789012:role/bedrock",
        "clientRequestToken": token,
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "customizationType": "DISTILLATION",
        "trainingDataConfig": {"s3Uri": "s3://data/snapshots/sha256/a.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://artifacts/jobs/run/"},
        "hyperParameters": {"epochCount": "2"},
        "customizationConfig": {
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": "us.amazon.nova-premier-v1:0",
                    "maxResponseLengthForInference": 1000,
                }
            }
        },
        "jobTags": [{"key": "tailor:run-id", "value": name}],
    }
    request.update(overrides)
    return request


def test_bedrock_job_arns_end_in_the_job_name(stack: LocalStack) -> None:
    bedrock = stack.client("bedrock")
    arn = bedrock.create_model_customization_job(**_job_request("facts-arn", "facts-arn-token"))["jobArn"]
    # AWS: …:model-customization-job/<base model id>/<12 [a-z0-9]> (aws-facts §1)
    assert arn == "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/facts-arn"


def test_bedrock_repeated_token_is_not_idempotent(stack: LocalStack) -> None:
    """AWS ignores a repeat with the same clientRequestToken and answers the first job's ARN."""
    bedrock = stack.client("bedrock")
    request = _job_request("facts-token", "facts-token-1")
    first = bedrock.create_model_customization_job(**request)["jobArn"]
    with pytest.raises(ClientError) as repeated:
        bedrock.create_model_customization_job(**request)
    assert repeated.value.response["Error"]["Code"] == "ResourceInUseException"
    other_name = _job_request("facts-token-b", "facts-token-1")
    second = bedrock.create_model_customization_job(**other_name)["jobArn"]
    assert second != first  # the same token made a second job
    # A repeated name with another token is ResourceInUseException too (AWS: unverified which error).
    with pytest.raises(ClientError) as renamed:
        bedrock.create_model_customization_job(**_job_request("facts-token", "facts-token-2"))
    assert renamed.value.response["Error"]["Code"] == "ResourceInUseException"


def test_bedrock_get_by_arn_fails_and_by_name_drops_fields(stack: LocalStack) -> None:
    bedrock = stack.client("bedrock")
    arn = bedrock.create_model_customization_job(**_job_request("facts-get", "facts-get-token"))["jobArn"]
    with pytest.raises(ClientError) as by_arn:
        bedrock.get_model_customization_job(jobIdentifier=arn)
    assert by_arn.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "arn%3Aaws%3Abedrock" in by_arn.value.response["Error"]["Message"]  # never URL-decoded
    with pytest.raises(ClientError):
        bedrock.stop_model_customization_job(jobIdentifier=arn)
    job = bedrock.get_model_customization_job(jobIdentifier="facts-get")
    assert "customizationConfig" not in job  # dropped on create
    assert job["status"] == "InProgress"
    assert job["outputModelName"] == "facts-get-model-facts-get"  # AWS: the customModelName
    # Fields AWS sends only for ended / failed / completed jobs, on a job in progress:
    assert job["failureMessage"] == "Failure Message"
    assert {"endTime", "outputModelArn", "outputModelKmsKeyArn", "trainingMetrics"} <= set(job)
    assert job["creationTime"].tzinfo is None  # "%Y-%m-%d %H:%M:%S", local time: boto3 parses it naive


def test_bedrock_list_filters_paginates_and_tags(stack: LocalStack) -> None:
    """What works as on AWS: statusEquals, nameContains, maxResults/nextToken, tags by moto's ARN."""
    bedrock = stack.client("bedrock")
    arns = [
        bedrock.create_model_customization_job(**_job_request(f"facts-list-{i}", f"facts-list-{i}"))["jobArn"]
        for i in range(3)
    ]
    bedrock.stop_model_customization_job(jobIdentifier="facts-list-0")
    assert (
        bedrock.get_model_customization_job(jobIdentifier="facts-list-0")["status"] == "Stopped"
    )  # no Stopping
    pages = list(
        bedrock.get_paginator("list_model_customization_jobs").paginate(
            statusEquals="InProgress", nameContains="facts-list-", PaginationConfig={"PageSize": 1}
        )
    )
    names = [s["jobName"] for page in pages for s in page["modelCustomizationJobSummaries"]]
    assert names == ["facts-list-1", "facts-list-2"] and len(pages) == 2
    assert bedrock.list_tags_for_resource(resourceARN=arns[1])["tags"] == [
        {"key": "tailor:run-id", "value": "facts-list-1"}
    ]


def test_bedrock_emits_no_state_change_events(stack: LocalStack) -> None:
    """AWS puts "Model Customization Job State Change" on the default bus (best effort); moto never
    does — the status issue's simulator will, and the reconciler must not rely on them anyway."""
    url, arn = _queue(stack, "facts-bedrock-events")
    _rule(stack, "facts-bedrock-events", {"source": ["aws.bedrock"]}, arn)
    bedrock = stack.client("bedrock")
    job = bedrock.create_model_customization_job(**_job_request("facts-events", "facts-events"))["jobArn"]
    bedrock.stop_model_customization_job(jobIdentifier=job.rsplit("/", 1)[-1])
    assert _drain(stack, url) == []


def test_put_events_with_an_aws_source_reach_default_bus_rules_only(stack: LocalStack) -> None:
    """What the Bedrock simulator relies on: moto accepts ``put_events`` with ``Source: aws.bedrock``
    (AWS reserves ``aws.*`` sources for its services) and delivers it to a rule on the default bus
    → SQS with the given ``Time`` and ``Resources``; unlike S3's events, not to custom-bus rules."""
    url, arn = _queue(stack, "facts-aws-source")
    custom_url, custom_arn = _queue(stack, "facts-aws-source-custom")
    pattern = {"source": ["aws.bedrock"], "detail-type": ["Model Customization Job State Change"]}
    _rule(stack, "facts-aws-source", pattern, arn)
    events = stack.client("events")
    events.create_event_bus(Name="facts-aws-source-bus")
    _rule(
        stack,
        "facts-aws-source-custom",
        {"source": [{"anything-but": ["aws.s3"]}]},
        custom_arn,
        bus="facts-aws-source-bus",
    )
    from datetime import UTC, datetime

    answer = events.put_events(
        Entries=[
            {
                "Source": "aws.bedrock",
                "DetailType": "Model Customization Job State Change",
                "Detail": json.dumps({"jobStatus": "Completed"}),
                "Resources": ["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m/abc"],
                "Time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0
    (body,) = _drain(stack, url)
    assert body["source"] == "aws.bedrock" and body["detail"] == {"jobStatus": "Completed"}
    assert body["time"] == "2026-01-02T03:04:05Z"
    assert body["resources"] == ["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m/abc"]
    assert "account" not in body  # as for every put_events body (the dispatcher fills it in)
    assert _drain(stack, custom_url) == []


def test_bedrock_has_no_deployments_and_the_runtime_no_converse(stack: LocalStack) -> None:
    """moto 5.2 has no Create/Get/List/DeleteCustomModelDeployment and its bedrock-runtime answers
    InvokeModel only: each raises NotImplementedError in the server → HTTP 500. The local stack adds
    them (tailor/local/deployments_sim.py) — not here, where repair_bedrock is off."""
    import boto3
    from botocore.config import Config
    from moto.bedrock.responses import BedrockResponse
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    assert not hasattr(BedrockResponse, "create_custom_model_deployment")
    assert not hasattr(BedrockRuntimeResponse, "converse") and hasattr(BedrockRuntimeResponse, "invoke_model")
    once = Config(retries={"max_attempts": 1, "mode": "standard"})
    bedrock = boto3.client("bedrock", endpoint_url=stack.endpoint_url, config=once)
    runtime = boto3.client("bedrock-runtime", endpoint_url=stack.endpoint_url, config=once)
    deployment = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefabcdef"
    calls = [
        lambda: bedrock.list_custom_model_deployments(),
        lambda: bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment),
        lambda: runtime.converse(
            modelId=deployment, messages=[{"role": "user", "content": [{"text": "hi"}]}]
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
