"""Helpers for the local stack's own tests: throwaway handlers and a hand-made template.

The template here is already-transformed CloudFormation (what ``sam_transform`` produces), so these
tests exercise the provisioner and the dispatcher without depending on ``template.yaml``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tailor.local.sam_transform import LOCAL_CODE_BUCKET

STACK_NAME = "tailor-test"
TIME_SCALE = 0.002  # BatchQueue: 30 s -> 0.06 s; SlowQueue: 300 s -> 0.6 s

RECORDER = '''
"""A throwaway handler: records what it got, then fails or succeeds as each body asks."""
import json
import os
import time

import helper


def _view(record):
    return {
        "id": record["messageId"],
        "body": record["body"],
        "count": int(record["attributes"]["ApproximateReceiveCount"]),
        "keys": sorted(record),
        "record": record,
    }


def handler(event, context):
    records = event.get("Records", []) if isinstance(event, dict) else []
    entry = {
        "at": time.time(),
        "function": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "helper": helper.NAME,
        "env": {k: os.environ.get(k) for k in ("QUEUE_URL", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION")},
        "event": None if records else event,
        "records": [_view(r) for r in records],
    }
    with open(os.environ["OUT_FILE"], "a") as out:
        out.write(json.dumps(entry) + "\\n")
    print(f"handled {len(records)} record(s)")
    failures = []
    for record in records:
        try:
            body = json.loads(record["body"])
        except ValueError:
            continue
        if not isinstance(body, dict):
            continue
        if body.get("touch"):  # another function's record may be waiting for this file
            open(body["touch"], "w").close()
        if body.get("wait_for"):  # wait (up to body["wait"] s) for a file another function creates
            until = time.monotonic() + body.get("wait", 0)
            while not os.path.exists(body["wait_for"]) and time.monotonic() < until:
                time.sleep(0.01)
            if os.path.exists(body["wait_for"]):
                open(body["wait_for"] + ".seen", "w").close()
        count = int(record["attributes"]["ApproximateReceiveCount"])
        if count < body.get("sleep_until", 0):
            time.sleep(body.get("sleep", 0))
        if count < body.get("raise_until", 0):
            raise RuntimeError("boom " + str(body.get("tag")))
        if count < body.get("bogus_until", 0):
            return {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}
        if count < body.get("fail_until", 0):
            failures.append({"itemIdentifier": record["messageId"]})
        elif count < body.get("hold_until", 0):  # keep it invisible for body["hold"] s, then fail it
            import boto3

            sqs = boto3.client("sqs")
            url = sqs.get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[-1])["QueueUrl"]
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=body["hold"]
            )
            failures.append({"itemIdentifier": record["messageId"]})
    if isinstance(event, dict) and event.get("return"):
        return event["return"]
    return {"batchItemFailures": failures}
'''


def _code(root: Path, name: str, helper_name: str, app: str = RECORDER) -> None:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(textwrap.dedent(app))
    (directory / "helper.py").write_text(f"NAME = {helper_name!r}\n")


def _queue(visibility: int = 30, dlq: str | None = None, max_receive: int = 3) -> dict[str, Any]:
    props: dict[str, Any] = {"VisibilityTimeout": visibility}
    if dlq:
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": max_receive,
        }
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def _function(code: str, out: Path, timeout: int = 5, env: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": f"{code}/"},
            "Handler": "app.handler",
            "Runtime": "python3.12",
            "Timeout": timeout,
            "MemorySize": 256,
            "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
            "Environment": {"Variables": {"OUT_FILE": str(out), **(env or {})}},
        },
    }


def _mapping(function: str, queue: str, batch: int = 10, report: bool = True, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "FunctionName": {"Ref": function},
        "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
        "BatchSize": batch,
        **extra,
    }
    if report:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    return {"Type": "AWS::Lambda::EventSourceMapping", "Properties": props}


def make_template(out: Path) -> dict[str, Any]:
    """A transformed template with every resource type the local stack handles."""
    resources: dict[str, Any] = {
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Bus": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}},
        },
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "runId", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "runId", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
            },
        },
        "DataBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
            },
        },
        "DataBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "DataBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": {"Fn::Sub": "${DataBucket.Arn}/*"},
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
        # -- the recorder on a queue with a DLQ (batch size 3)
        "BatchDLQ": _queue(),
        "BatchQueue": _queue(30, "BatchDLQ", 3),
        "BatchFunction": _function(
            "alpha",
            out / "batch.jsonl",
            env={
                "QUEUE_URL": {"Ref": "BatchQueue"},
                "QUEUE_ARN": {"Fn::GetAtt": ["BatchQueue", "Arn"]},
                "QUEUE_NAME": {"Fn::GetAtt": ["BatchQueue", "QueueName"]},
                "BUS_NAME": {"Ref": "Bus"},
                "TABLE": {"Ref": "Table"},
                "SUBBED": {
                    "Fn::Sub": "${AWS::StackName}|${AWS::Region}|${AWS::AccountId}|${AWS::Partition}"
                    "|${Bus.Arn}|${Table}|${!Literal}"
                },
                "JOINED": {
                    "Fn::Join": [
                        ",",
                        [{"Ref": "DataBucket"}, {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}],
                    ]
                },
                "STAGE": {"Fn::If": ["IsProd", "prod", "dev"]},
                "RULE_REF": {"Ref": "BusRule"},
                "ROLE_ARN": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                "MAYBE": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
                "NUMBER": 42,
                "FLAG": True,
            },
        ),
        "BatchMapping": _mapping("BatchFunction", "BatchQueue", batch=3),
        # -- a long visibility timeout (300 s -> 0.6 s) and a 1 s function timeout
        "SlowDLQ": _queue(),
        "SlowQueue": _queue(300, "SlowDLQ", 5),
        "SlowFunction": _function("alpha", out / "slow.jsonl", timeout=1),
        "SlowMapping": _mapping("SlowFunction", "SlowQueue", batch=1),
        # -- no ReportBatchItemFailures; a second mapping with filter criteria; S3 queues
        "PlainQueue": _queue(30),
        "FilterQueue": _queue(30),
        "S3Queue": _queue(30),
        "S3AllQueue": _queue(30),
        "PlainFunction": _function("alpha", out / "plain.jsonl", env={"DATA_BUCKET": {"Ref": "DataBucket"}}),
        "PlainMapping": _mapping("PlainFunction", "PlainQueue", report=False),
        "FilterMapping": _mapping(
            "PlainFunction",
            "FilterQueue",
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]},
        ),
        "S3Mapping": _mapping("PlainFunction", "S3Queue"),
        "S3AllMapping": _mapping("PlainFunction", "S3AllQueue"),
        "S3Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {"bucket": {"name": [{"Ref": "DataBucket"}]}},
                },
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["S3Queue", "Arn"]}}],
            },
        },
        "S3AllRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {"source": ["aws.s3"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["S3AllQueue", "Arn"]}}],
            },
        },
        # -- an import error, one receive allowed
        "BrokenDLQ": _queue(),
        "BrokenQueue": _queue(30, "BrokenDLQ", 1),
        "BrokenFunction": _function("broken", out / "broken.jsonl"),
        "BrokenMapping": _mapping("BrokenFunction", "BrokenQueue"),
        # -- same file names, different sibling module
        "BetaFunction": _function("beta", out / "beta.jsonl"),
        # -- rules on the custom bus
        "BusQueue": _queue(30),
        "DisabledQueue": _queue(30),
        "BusRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["test.app"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["BusQueue", "Arn"]}}],
            },
        },
        "DisabledRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "State": "DISABLED",
                "EventPattern": {"source": ["test.app"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["DisabledQueue", "Arn"]}}],
            },
        },
        # -- schedules
        "TickQueue": _queue(30),
        "TickRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(5 minutes)",
                "Targets": [
                    {"Id": "plain", "Arn": {"Fn::GetAtt": ["TickQueue", "Arn"]}},
                    {
                        "Id": "input",
                        "Arn": {"Fn::GetAtt": ["TickQueue", "Arn"]},
                        "Input": '{"hello": "tick"}',
                    },
                ],
            },
        },
        "NightlySchedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "ScheduleExpression": "cron(0 3 * * ? *)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": {"Fn::GetAtt": ["BatchFunction", "Arn"]},
                    "RoleArn": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "Input": '{"from": "scheduler"}',
                },
            },
        },
        "DisabledSchedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "ScheduleExpression": "rate(1 minute)",
                "State": "DISABLED",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {"Arn": {"Fn::GetAtt": ["TickQueue", "Arn"]}, "RoleArn": "arn:aws:iam::1:role/x"},
            },
        },
        # -- not emulated / conditional
        "Thing": {"Type": "AWS::IoT::Thing", "Properties": {}},
        "ProdQueue": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {}},
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": resources,
        "Outputs": {
            "BusArn": {"Value": {"Fn::GetAtt": ["Bus", "Arn"]}},
            "BatchQueueUrl": {"Value": {"Ref": "BatchQueue"}},
            "ProdQueueUrl": {"Condition": "IsProd", "Value": {"Ref": "ProdQueue"}},
        },
    }


def write_code(root: Path) -> None:
    """The throwaway functions: two recorders with different sibling modules, one broken."""
    _code(root, "alpha", "alpha")
    _code(root, "beta", "beta")
    _code(root, "broken", "broken", app="raise RuntimeError('import-time failure')\n")
    (root / "out").mkdir(exist_ok=True)


def read_entries(path: Path, tag: str | None = None) -> list[dict[str, Any]]:
    """Invocations recorded in ``path``; with ``tag``, only those with a record carrying it."""
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if tag is None:
        return entries
    return [e for e in entries if any(f'"{tag}"' in r["body"] for r in e["records"])]


def records_of(entries: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    return [r for e in entries for r in e["records"] if f'"{tag}"' in r["body"]]
