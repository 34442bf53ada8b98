"""The local stack's Bedrock answers like AWS where moto 5.2 does not (``tailor/local/moto_bedrock``).

``test_moto_facts.py`` pins what moto itself does; this module checks the repaired stack against
AWS's documented behaviour (aws-facts §1): a repeated ``clientRequestToken`` is the same job, jobs
are found by name and by ARN, the ARN has AWS's shape, ``customizationConfig`` is echoed, and a job
in progress carries only the fields AWS sends for it. Nothing trains locally: jobs stay InProgress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tailor.local import LocalStack

pytestmark = pytest.mark.integration

# GetModelCustomizationJob's jobIdentifier pattern (Bedrock API reference), the ARN half.
AWS_JOB_ARN = re.compile(
    r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-customization-job/"
    r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}"
    r"/[a-z0-9]{12}$"
)
TEACHER = {
    "distillationConfig": {
        "teacherModelConfig": {
            "teacherModelIdentifier": "us.amazon.nova-premier-v1:0",
            "maxResponseLengthForInference": 1000,
        }
    }
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack({"Resources": {}}, stack_name="local-bedrock") as running:
        yield running


@pytest.fixture(scope="module")
def bedrock(stack: LocalStack) -> Any:
    return stack.client("bedrock")


def _request(name: str, token: str | None = None, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": "arn:aws:iam::123456789012:role/tailor-BedrockCustomizationRole-X",
        "clientRequestToken": token or f"{name}-token",
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "customizationType": "DISTILLATION",
        "trainingDataConfig": {"s3Uri": "s3://data/snapshots/sha256/a.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://data/snapshots/sha256/b.jsonl"}]},
        "outputDataConfig": {"s3Uri": f"s3://artifacts/jobs/{name}/"},
        "hyperParameters": {"epochCount": "2", "learningRate": "0.00001"},
        "customizationConfig": TEACHER,
        "jobTags": [{"key": "tailor:run-id", "value": name}],
        "customModelTags": [{"key": "tailor:run-id", "value": name}],
    }
    request.update(overrides)
    return request


def _names(bedrock: Any, **filters: Any) -> list[str]:
    paginator = bedrock.get_paginator("list_model_customization_jobs")
    return [
        s["jobName"] for page in paginator.paginate(**filters) for s in page["modelCustomizationJobSummaries"]
    ]


def test_job_arns_have_aws_shape(bedrock: Any) -> None:
    arn = bedrock.create_model_customization_job(**_request("shape-job"))["jobArn"]
    assert AWS_JOB_ARN.match(arn), arn
    assert arn.startswith(
        "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/"
    )
    by_arn = bedrock.create_model_customization_job(
        **_request(
            "shape-arn-base",
            baseModelIdentifier="arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k",
        )
    )["jobArn"]
    assert "/amazon.nova-lite-v1:0:300k/" in by_arn and AWS_JOB_ARN.match(by_arn)
    job = bedrock.get_model_customization_job(jobIdentifier=by_arn)
    assert job["baseModelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k"


def test_a_repeated_token_is_the_same_job(bedrock: Any) -> None:
    request = _request("token-job", "token-job-1")
    first = bedrock.create_model_customization_job(**request)["jobArn"]
    assert bedrock.create_model_customization_job(**request)["jobArn"] == first  # ignored, no error
    other_name = _request("token-job-renamed", "token-job-1")
    assert bedrock.create_model_customization_job(**other_name)["jobArn"] == first
    assert _names(bedrock, nameContains="token-job") == ["token-job"]
    # The same name with another token is someone else's request: still refused.
    with pytest.raises(ClientError) as clash:
        bedrock.create_model_customization_job(**_request("token-job", "token-job-2"))
    assert clash.value.response["Error"]["Code"] == "ResourceInUseException"


def test_get_by_name_and_by_arn_echoes_the_request(bedrock: Any) -> None:
    request = _request("get-job")
    arn = bedrock.create_model_customization_job(**request)["jobArn"]
    by_name = bedrock.get_model_customization_job(jobIdentifier="get-job")
    by_arn = bedrock.get_model_customization_job(jobIdentifier=arn)
    by_name.pop("ResponseMetadata")
    by_arn.pop("ResponseMetadata")
    assert by_name == by_arn
    assert by_arn["jobArn"] == arn and by_arn["jobName"] == "get-job"
    assert by_arn["customizationConfig"] == TEACHER
    assert by_arn["customizationType"] == "DISTILLATION"
    assert by_arn["clientRequestToken"] == "get-job-token"
    assert by_arn["outputModelName"] == "get-job-model"  # the customModelName, as on AWS
    assert by_arn["hyperParameters"] == request["hyperParameters"]
    assert by_arn["trainingDataConfig"] == request["trainingDataConfig"]
    assert by_arn["validationDataConfig"] == request["validationDataConfig"]
    assert by_arn["outputDataConfig"] == request["outputDataConfig"]
    assert by_arn["status"] == "InProgress"  # nothing trains locally
    # What AWS sends only for failed / ended / completed jobs, or with a KMS key:
    for absent in (
        "failureMessage",
        "endTime",
        "outputModelArn",
        "trainingMetrics",
        "validationMetrics",
        "outputModelKmsKeyArn",
    ):
        assert absent not in by_arn, absent
    assert by_arn["creationTime"].tzinfo is not None
    assert by_arn["creationTime"].utcoffset() == UTC.utcoffset(None)


def test_an_unknown_job_is_not_found(bedrock: Any) -> None:
    missing = (
        "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/"
        + "amazon.nova-micro-v1:0:128k/aaaaaaaaaaaa"
    )
    for identifier in ("no-such-job", missing):
        with pytest.raises(ClientError) as error:
            bedrock.get_model_customization_job(jobIdentifier=identifier)
        assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert identifier in error.value.response["Error"]["Message"]


def test_a_customer_key_is_echoed(bedrock: Any) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    arn = bedrock.create_model_customization_job(**_request("kms-job", customModelKmsKeyId=key))["jobArn"]
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["outputModelKmsKeyArn"] == key


def test_list_in_progress_paginates_and_stop_by_arn(bedrock: Any) -> None:
    arns = [bedrock.create_model_customization_job(**_request(f"quota-job-{i}"))["jobArn"] for i in range(5)]
    assert _names(
        bedrock, statusEquals="InProgress", nameContains="quota-job-", PaginationConfig={"PageSize": 2}
    ) == [f"quota-job-{i}" for i in range(5)]
    first_page = bedrock.list_model_customization_jobs(
        statusEquals="InProgress", nameContains="quota-job-", maxResults=2
    )
    assert len(first_page["modelCustomizationJobSummaries"]) == 2 and first_page["nextToken"]
    summary = first_page["modelCustomizationJobSummaries"][0]
    assert summary["jobArn"] == arns[0] and summary["customModelName"] == "quota-job-0-model"
    assert "endTime" not in summary and "customModelArn" not in summary
    assert summary["creationTime"].tzinfo is not None
    bedrock.stop_model_customization_job(jobIdentifier=arns[1])
    stopped = bedrock.get_model_customization_job(jobIdentifier=arns[1])
    assert stopped["status"] == "Stopped" and "endTime" in stopped
    assert _names(bedrock, statusEquals="InProgress", nameContains="quota-job-") == [
        f"quota-job-{i}" for i in (0, 2, 3, 4)
    ]
    last = bedrock.list_model_customization_jobs(statusEquals="Stopped", nameContains="quota-job-")
    assert "nextToken" not in last  # AWS omits it on the last page


def test_tags_follow_the_aws_shaped_arn(bedrock: Any) -> None:
    arn = bedrock.create_model_customization_job(**_request("tag-job"))["jobArn"]
    assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [
        {"key": "tailor:run-id", "value": "tag-job"}
    ]
    bedrock.tag_resource(resourceARN=arn, tags=[{"key": "extra", "value": "1"}])
    tags = bedrock.list_tags_for_resource(resourceARN=arn)["tags"]
    assert {"key": "extra", "value": "1"} in tags
    old_shape = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/tag-job"
    with pytest.raises(ClientError):
        bedrock.list_tags_for_resource(resourceARN=old_shape)


def test_the_repairs_are_installed_only_while_a_stack_runs(stack: LocalStack) -> None:
    from moto.bedrock.responses import BedrockResponse

    from tailor.local import moto_bedrock

    assert moto_bedrock.installed()
    patched = BedrockResponse.get_model_customization_job
    moto_bedrock.install()  # idempotent
    assert BedrockResponse.get_model_customization_job is patched
    moto_bedrock.uninstall()
    try:
        assert not moto_bedrock.installed()
        assert BedrockResponse.get_model_customization_job is not patched  # moto's own again
    finally:
        moto_bedrock.install()
    assert BedrockResponse.get_model_customization_job is patched
    summary = stack.describe(echo=False)
    assert any(p.name == "Bedrock (control plane)" for p in summary.emulated)
    bedrock_part = next(p for p in summary.not_available if p.name == "Bedrock model customization")
    assert "never train" in bedrock_part.how
