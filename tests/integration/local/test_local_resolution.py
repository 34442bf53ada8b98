"""Intrinsic resolution, schedule expressions and event repairs: the local stack's pure parts.

(No moto here except the last test, which checks that a template the stack cannot play fails
with a message naming the resource and property, and leaves no stack behind.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tailor.local.intrinsics import Resolver, TemplateError, references
from tailor.local.moto_gaps import MOTO_S3_EVENT_ID, MOTO_S3_SEQUENCER, EventRepairs
from tailor.local.schedules import UnsupportedScheduleError, parse_schedule

pytestmark = pytest.mark.integration


class FakeLookup:
    refs = {"Queue": "https://queue/url", "Bucket": "the-bucket"}
    atts = {
        ("Queue", "Arn"): "arn:aws:sqs:us-east-1:123456789012:q",
        ("Bucket", "Arn"): "arn:aws:s3:::the-bucket",
    }

    def ref(self, logical_id: str) -> Any:
        return self.refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if (logical_id, attribute) not in self.atts:
            raise TemplateError(f"{logical_id}: attribute {attribute!r} is not available locally")
        return self.atts[(logical_id, attribute)]


TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Size": {"Type": "Number", "Default": 3},
    },
    "Mappings": {"Sizes": {"dev": {"memory": 128}}},
    "Conditions": {
        "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
        "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
        "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Condition": "IsProd"}, True]}]},
    },
    "Resources": {"Queue": {}, "Bucket": {}},
}


def _resolver(**params: Any) -> Resolver:
    return Resolver(
        TEMPLATE,
        FakeLookup(),
        stack_name="tailor-local",
        region="us-east-1",
        account_id="123456789012",
        parameter_values=params,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Queue"}, "https://queue/url"),
        ({"Ref": "AWS::StackName"}, "tailor-local"),
        ({"Ref": "Size"}, "3"),
        ({"Ref": "Zones"}, ["a", "b"]),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:us-east-1:123456789012:q"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:aws:s3:::the-bucket"),
        ({"Fn::Sub": "${Bucket.Arn}/*"}, "arn:aws:s3:::the-bucket/*"),
        ({"Fn::Sub": "${AWS::Partition}:${AWS::Region}:${AWS::AccountId}"}, "aws:us-east-1:123456789012"),
        ({"Fn::Sub": ["${x}-${Stage}-${!Keep}", {"x": {"Ref": "Bucket"}}]}, "the-bucket-dev-${Keep}"),
        ({"Fn::Join": ["/", [{"Ref": "Bucket"}, "k"]]}, "the-bucket/k"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::If": ["IsDev", "yes", "no"]}, "yes"),
        ({"Fn::If": ["Both", 1, 2]}, 1),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "memory"]}, 128),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::ToJsonString": {"a": {"Ref": "Bucket"}}}, '{"a":"the-bucket"}'),
        ({"Fn::Length": [1, 2, 3]}, 3),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
        (
            {"k": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}, "l": [1, {"Ref": "AWS::NoValue"}]},
            {"l": [1]},
        ),
    ],
)
def test_intrinsics(value: Any, expected: Any) -> None:
    assert _resolver().resolve(value, "Resources.X.Properties.P") == expected


def test_parameter_values_override_defaults() -> None:
    resolver = _resolver(Stage="prod")
    assert resolver.resolve({"Fn::If": ["IsProd", "p", "d"]}, "here") == "p"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::GetAtt": ["Queue", "Nope"]}, "where.A: Queue: attribute 'Nope'"),
        ({"Ref": "Missing"}, "where.A: Ref to unknown name 'Missing'"),
        ({"Fn::GetAtt": ["Missing", "Arn"]}, "where.A: Fn::GetAtt of unknown resource 'Missing'"),
        ({"Fn::ImportValue": "x"}, "where.A: Fn::ImportValue"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "where.A: Fn::Cidr is not supported"),
        ({"Fn::If": ["NoSuchCondition", 1, 2]}, "'NoSuchCondition' is not declared"),
        ({"Fn::Join": [",", "not-a-list"]}, "where.A: Fn::Join needs a list"),
    ],
)
def test_unresolvable_intrinsics_name_the_property(value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        _resolver().resolve({"A": value}, "where")
    assert message in str(raised.value)


def test_undeclared_parameter_values_are_rejected() -> None:
    with pytest.raises(TemplateError, match="undeclared parameters"):
        _resolver(Nope="x")


def test_references_find_dependencies() -> None:
    value = {
        "a": {"Ref": "Queue"},
        "b": {"Fn::Sub": "${Bucket.Arn}/${AWS::Region}/${x}"},
        "c": {"Fn::GetAtt": "Other.Arn"},
        "d": {"Ref": "AWS::StackName"},
    }
    assert references(value, ["Queue", "Bucket", "Other", "Unused"]) == {"Queue", "Bucket", "Other"}


# -- schedules ------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 29, 8, 40, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", datetime(2026, 11, 29, 8, 45, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 29, 9, 40, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 11, 29, 8, 45, tzinfo=UTC)),
        ("cron(0 12 ? * MON-FRI *)", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("cron(30 2 1 * ? *)", datetime(2026, 12, 1, 2, 30, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),  # 1 = Sunday; 08:00 has passed
        ("at(2026-12-01T00:00:00)", datetime(2026, 12, 1, tzinfo=UTC)),
        ("at(2020-01-01T00:00:00)", None),
    ],
)
def test_schedule_expressions(expression: str, expected: datetime | None) -> None:
    assert parse_schedule(expression).next_after(NOW) == expected


def test_rate_schedules_scale() -> None:
    assert parse_schedule("rate(10 minutes)").next_after(NOW, time_scale=0.01) == datetime(
        2026, 11, 29, 8, 40, 6, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "expression", ["cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "cron(0 0 1 * 1 *)", "rate(x)", "every day"]
)
def test_unsupported_schedules_say_so(expression: str) -> None:
    with pytest.raises(UnsupportedScheduleError):
        parse_schedule(expression)


# -- event repairs --------------------------------------------------------------------------------------


def _moto_s3_event(key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": MOTO_S3_EVENT_ID,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-29T08:35:12Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::data"],
        "detail": {
            "version": "0",
            "bucket": {"name": "data"},
            "object": {
                "key": key,
                "size": 2,
                "eTag": "abc",
                "version-id": None,
                "sequencer": MOTO_S3_SEQUENCER,
            },
            "reason": "ObjectCreated",
        },
    }


def test_s3_events_are_repaired_consistently() -> None:
    repairs = EventRepairs("123456789012")
    a1 = json.loads(repairs.repair_body(json.dumps(_moto_s3_event("a"))))
    a2 = json.loads(repairs.repair_body(json.dumps(_moto_s3_event("a"))))
    b = json.loads(repairs.repair_body(json.dumps(_moto_s3_event("b"))))

    assert a1 == a2  # the same event delivered twice keeps its id and sequencer
    assert a1["id"] != b["id"] and MOTO_S3_EVENT_ID not in (a1["id"], b["id"])
    assert a1["detail"]["object"] == {
        "key": "a",
        "size": 2,
        "etag": "abc",
        "sequencer": a1["detail"]["object"]["sequencer"],
    }
    assert b["detail"]["object"]["sequencer"] > a1["detail"]["object"]["sequencer"]
    assert repairs.counts["S3 fixed event id replaced"] == 3


def test_only_eventbridge_bodies_are_touched() -> None:
    repairs = EventRepairs("123456789012")
    for body in ("plain text", "[1, 2]", '{"a": 1}', "{broken"):
        assert repairs.repair_body(body) == body
    event = {"version": "0", "id": "x", "detail-type": "D", "source": "s", "detail": {}}
    assert json.loads(repairs.repair_body(json.dumps(event)))["account"] == "123456789012"
    complete = json.dumps({**event, "account": "111111111111"})
    assert repairs.repair_body(complete) == complete


def test_a_template_the_stack_cannot_play_fails_clearly_and_cleanly() -> None:
    from tailor.local import LocalStack

    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": {"Fn::GetAtt": ["Queue", "NoSuchAttribute"]}},
            },
        }
    }
    with pytest.raises(TemplateError, match=r"Queue \(AWS::SQS::Queue\): attribute 'NoSuchAttribute'"):
        LocalStack(template).start()
    with LocalStack({"Resources": {}}) as stack:  # the failed stack released the process
        assert stack.running


def test_the_provisioner_handles_only_what_tailor_uses() -> None:
    """The types of template.yaml and of the coming services (Bedrock role, schedules, KMS keys);
    anything else is skipped with a note, its references still resolve."""
    from tailor.local.provision import _HANDLERS

    assert set(_HANDLERS) == {
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::Scheduler::Schedule",
        "AWS::Scheduler::ScheduleGroup",
        "AWS::DynamoDB::Table",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::CloudWatch::Alarm",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::EKS::AccessEntry",  # resolved with a note: the simulated cluster has no IAM mapping
        "Custom::KmsPublicKey",  # the edge signing key's public key, for the stack outputs
    }


def test_what_is_not_applied_is_said_not_dropped_silently() -> None:
    from tailor.local import LocalStack

    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Key": "team", "Value": "ml"}]}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "NotificationConfiguration": {
                        "EventBridgeConfiguration": {"EventBridgeEnabled": True},
                        "QueueConfigurations": [
                            {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Queue", "Arn"]}}
                        ],
                    }
                },
            },
            "Alias": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "Topic"}}},
        }
    }
    with LocalStack(template) as stack:
        summary = stack.summary()
        statuses = {r.logical_id: r.status for r in summary.resources}
        notes = "\n".join(summary.notes)
    assert statuses["Topic"] == statuses["Alias"] == "skipped"
    assert statuses["Queue"] == statuses["Bucket"] == "created"
    assert "Topic: AWS::SNS::Topic skipped: not emulated by the local stack" in notes
    assert "Queue: Tags not emulated locally" in notes
    assert "Bucket: NotificationConfiguration.QueueConfigurations not emulated locally" in notes
