"""Which stack the CLI talks to: a deployed stack's outputs, or the environment."""

from __future__ import annotations

import boto3
import orjson
import pytest
from moto import mock_aws

from tailor.cli.target import TargetError, resolve_target

TEMPLATE = {
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        "DataBucketName": {"Value": "data-b"},
        "ArtifactsBucketName": {"Value": "art-b"},
        "RunsTableName": {"Value": "runs-t"},
        "TailorBusName": {"Value": "bus"},
    },
}


def test_deployed_stack_outputs() -> None:
    with mock_aws():
        boto3.client("cloudformation").create_stack(
            StackName="tailor", TemplateBody=orjson.dumps(TEMPLATE).decode()
        )
        target = resolve_target("tailor")
        assert (target.data_bucket, target.artifacts_bucket, target.runs_table, target.bus_name) == (
            "data-b",
            "art-b",
            "runs-t",
            "bus",
        )
        with pytest.raises(TargetError, match="no stack named 'other'"):
            resolve_target("other")


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_BUCKET", "d")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "a")
    monkeypatch.setenv("RUNS_TABLE", "r")
    monkeypatch.delenv("TAILOR_BUS_NAME", raising=False)
    target = resolve_target(None)
    assert (target.data_bucket, target.bus_name) == ("d", None)
    monkeypatch.delenv("RUNS_TABLE")
    with pytest.raises(TargetError, match="set RUNS_TABLE"):
        resolve_target(None)


class _Refusing:
    """A CloudFormation client that refuses with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    def describe_stacks(self, **kwargs: object) -> dict[str, object]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "nope"}}, "DescribeStacks")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("AccessDenied", "denied"), ("ExpiredToken", "credentials"), ("InvalidClientTokenId", "credentials")],
)
def test_refusals_say_what_is_wrong(code: str, kind: str) -> None:
    from tailor.adapters.stack import StackAccessError, stack_outputs

    with pytest.raises(StackAccessError) as refused:
        stack_outputs("tailor", _Refusing(code))
    assert refused.value.kind == kind and code in str(refused.value)


def test_access_denied_names_the_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.adapters import aws

    monkeypatch.setattr(aws, "client", lambda service: _Refusing("AccessDenied"))
    with pytest.raises(TargetError, match=r"cloudformation:DescribeStacks"):
        resolve_target("tailor")
