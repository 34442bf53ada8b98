"""The EKS token is a presigned GetCallerIdentity naming the cluster; the model import is exactly once."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.stub import Stubber

from tailor.adapters.bedrock import BedrockError
from tailor.adapters.eks_token import TOKEN_PREFIX, EksTokenSource
from tailor.adapters.errors import ErrorKind
from tailor.adapters.kubernetes import KubeError
from tailor.adapters.model_import import BedrockModelImporter, ImportRequest


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


def _decode(token: str) -> str:
    assert token.startswith(TOKEN_PREFIX)
    body = token[len(TOKEN_PREFIX) :]
    assert "=" not in body  # base64url without padding, as EKS expects
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_the_token_is_a_presigned_get_caller_identity_with_the_cluster_header() -> None:
    url = urlparse(_decode(EksTokenSource("hp-eks", "us-east-1").token()))
    query = parse_qs(url.query)
    assert url.hostname == "sts.us-east-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert int(query["X-Amz-Expires"][0]) <= 900 and query["X-Amz-Signature"][0]


def test_a_token_is_reused_until_it_nears_expiry() -> None:
    source = EksTokenSource("hp-eks", "us-east-1")
    assert source.token() == source.token()


def test_the_endpoint_override_of_the_local_stack_never_reaches_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert (
        urlparse(_decode(EksTokenSource("c", "us-east-1").token())).hostname == "sts.us-east-1.amazonaws.com"
    )


class _FakeApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status, self.body, self.reason = status, body, "reason"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (409, ErrorKind.CONFLICT),
        (401, ErrorKind.RETRY),
        (403, ErrorKind.RETRY),
        (422, ErrorKind.FATAL),
        (429, ErrorKind.RETRY),
        (503, ErrorKind.RETRY),
    ],
)
def test_kubernetes_errors_are_sorted_once(status: int, kind: ErrorKind) -> None:
    error = KubeError.from_api_exception(_FakeApiError(status, '{"reason": "R", "message": "m"}'), "create X")
    assert error.kind is kind and "create X: m" in error.message
    if status in (401, 403):
        assert error.hint and "rbac.yaml" in error.hint


def _request() -> ImportRequest:
    return ImportRequest(
        model_name="corpus-abc",
        checkpoint_uri="s3://customer-escrow-123456789012-smhp-x/job/step_1",
        role_arn="arn:aws:iam::123456789012:role/import",
        run_id="corpus-0123",
        token="import-corpus-0123",
    )


def _bedrock() -> tuple[Any, Stubber]:
    client = boto3.client("bedrock", region_name="us-east-1")
    return client, Stubber(client)


def test_the_import_call_names_the_checkpoint_role_tag_and_token() -> None:
    client, stub = _bedrock()
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefgh1234"
    stub.add_response(
        "create_custom_model",
        {"modelArn": arn},
        {
            "modelName": "corpus-abc",
            "modelSourceConfig": {"s3DataSource": {"s3Uri": _request().checkpoint_uri}},
            "roleArn": _request().role_arn,
            "modelTags": [{"key": "tailor-run-id", "value": "corpus-0123"}],
            "clientRequestToken": "import-corpus-0123",
        },
    )
    with stub:
        imported = BedrockModelImporter(client).import_model(_request())
    assert imported.arn == arn and not imported.adopted


def test_a_repeat_that_finds_its_own_model_adopts_it() -> None:
    client, stub = _bedrock()
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefgh1234"
    stub.add_client_error("create_custom_model", "ConflictException", "already exists")
    stub.add_response("get_custom_model", _model(arn))
    stub.add_response("list_tags_for_resource", {"tags": [{"key": "tailor-run-id", "value": "corpus-0123"}]})
    with stub:
        imported = BedrockModelImporter(client).import_model(_request())
    assert imported.adopted and imported.arn == arn


def test_a_name_taken_by_another_model_is_refused_with_a_fix() -> None:
    client, stub = _bedrock()
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/zzzz"
    stub.add_client_error("create_custom_model", "ConflictException", "already exists")
    stub.add_response("get_custom_model", _model(arn))
    stub.add_response("list_tags_for_resource", {"tags": [{"key": "tailor-run-id", "value": "other"}]})
    with stub, pytest.raises(BedrockError) as raised:
        BedrockModelImporter(client).import_model(_request())
    assert raised.value.kind is ErrorKind.FATAL and raised.value.hint


def test_throttling_is_transient() -> None:
    client, stub = _bedrock()
    stub.add_client_error("create_custom_model", "ThrottlingException", "slow down")
    with stub, pytest.raises(BedrockError) as raised:
        BedrockModelImporter(client).import_model(_request())
    assert raised.value.kind is ErrorKind.RETRY


def _model(arn: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "modelArn": arn,
        "modelName": "corpus-abc",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x",
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
        "trainingDataConfig": {"s3Uri": "s3://b/k"},
        "outputDataConfig": {"s3Uri": "s3://b/o"},
        "creationTime": datetime.now(UTC),
    }
