"""The dispatcher plays Lambda as AWS does: event shape, batches, partial failures, redrive, schedules.

One local stack per mode (hand-made template, throwaway handlers in a tmp dir): every test runs
in-process (the default) and concurrently (poller threads, handlers in worker processes). Every
test uses its own tag in message bodies so the tests stay independent.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from local_stack_helpers import STACK_NAME, TIME_SCALE, make_template, read_entries, records_of, write_code

from tailor.local import DispatcherTimeoutError, LocalStack, LocalStackError
from tailor.local.moto_gaps import MOTO_S3_EVENT_ID, MOTO_S3_SEQUENCER

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module", params=[False, True], ids=["in-process", "concurrent"])
def concurrent(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(scope="module")
def code_root(concurrent: bool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("concurrent" if concurrent else "in-process")
    write_code(root)
    return root


@pytest.fixture(scope="module")
def stack(concurrent: bool, code_root: Path) -> Iterator[LocalStack]:
    template = make_template(code_root / "out")
    with LocalStack(
        template, stack_name=STACK_NAME, code_root=code_root, time_scale=TIME_SCALE, concurrent=concurrent
    ) as running:
        yield running


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _send(stack: LocalStack, queue: str, *bodies: dict[str, Any], **kwargs: Any) -> None:
    sqs = stack.client("sqs")
    url = stack.physical_id(queue)
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), **kwargs)


def _out(code_root: Path, name: str) -> Path:
    return code_root / "out" / f"{name}.jsonl"


# -- wiring -------------------------------------------------------------------------------------------


def test_function_env_resolves_exactly_like_cloudformation(stack: LocalStack) -> None:
    env = stack.function_env("BatchFunction")
    queue_url = stack.physical_id("BatchQueue")
    bus = f"{STACK_NAME}-bus"
    table = stack.physical_id("Table")
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
    rule_name = stack.provisioner.rules["BusRule"].name

    assert env["QUEUE_URL"] == queue_url
    assert env["QUEUE_ARN"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{env['QUEUE_NAME']}"
    assert env["BUS_NAME"] == bus
    assert env["SUBBED"] == f"{STACK_NAME}|{REGION}|{ACCOUNT}|aws|{bus_arn}|{table}|${{Literal}}"
    assert env["JOINED"] == f"{stack.physical_id('DataBucket')},b"
    assert env["STAGE"] == "dev"
    assert env["RULE_REF"] == f"{bus}|{rule_name}"  # CloudFormation's Ref of a rule on a custom bus
    assert env["ROLE_ARN"].startswith(f"arn:aws:iam::{ACCOUNT}:role/{STACK_NAME}-FunctionRole-")
    assert "MAYBE" not in env  # AWS::NoValue removes the variable
    assert env["NUMBER"] == "42"
    assert env["FLAG"] == "true"

    # ...and every name points at something that exists in moto.
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    assert attributes["Attributes"]["QueueArn"] == env["QUEUE_ARN"]
    assert stack.client("events").describe_event_bus(Name=env["BUS_NAME"])["Arn"] == bus_arn
    assert stack.client("dynamodb").describe_table(TableName=table)["Table"]["TableName"] == table
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_outputs_and_conditions(stack: LocalStack) -> None:
    assert stack.outputs == {
        "BusArn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{STACK_NAME}-bus",
        "BatchQueueUrl": stack.physical_id("BatchQueue"),
    }
    assert stack.provisioner.resources["ProdQueue"].status == "absent"
    with pytest.raises(Exception, match="Condition is false"):
        stack.physical_id("ProdQueue")


def test_queues_get_redrive_and_scaled_visibility(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.physical_id("SlowQueue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.attribute("SlowDLQ", "Arn"),
        "maxReceiveCount": 5,
    }
    assert attributes["VisibilityTimeout"] == "1"  # ceil(300 s x 0.002), SQS takes whole seconds
    assert stack.queue("SlowQueue").visibility_timeout == 300


def test_one_stack_per_process(stack: LocalStack) -> None:
    with pytest.raises(LocalStackError, match="another LocalStack"):
        LocalStack({"Resources": {}}).start()
    assert stack.running


# -- the Lambda event and context ---------------------------------------------------------------------


def test_event_and_context_are_lambda_shaped(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(
        stack,
        "BatchQueue",
        {"tag": tag},
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "demo"}},
    )
    stack.run_until_idle(timeout=10)

    (entry,) = read_entries(_out(code_root, "batch"), tag)
    (record,) = entry["records"]
    lambda_record = record["record"]
    assert set(lambda_record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert lambda_record["eventSource"] == "aws:sqs"
    assert lambda_record["eventSourceARN"] == stack.attribute("BatchQueue", "Arn")
    assert lambda_record["awsRegion"] == REGION
    assert lambda_record["md5OfBody"] == hashlib.md5(lambda_record["body"].encode()).hexdigest()
    assert lambda_record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        lambda_record["attributes"]
    )
    assert lambda_record["messageAttributes"] == {
        "kind": {"stringValue": "demo", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }

    function = stack.provisioner.functions["BatchFunction"]
    assert entry["function"] == function.name
    assert entry["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}"
    assert entry["memory"] == 256
    assert 0 < entry["remaining"] <= 5000
    assert entry["env"] == {
        "QUEUE_URL": stack.physical_id("BatchQueue"),
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_REGION": REGION,
    }
    assert "QUEUE_URL" not in os.environ  # the function's environment does not leak out
    assert any("handled 1 record(s)" in line for line in stack.logs("BatchFunction"))


def test_batch_size_is_honoured(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "BatchQueue", *({"tag": tag, "n": n} for n in range(7)))
    summary = stack.run_until_idle(timeout=10)

    entries = read_entries(_out(code_root, "batch"), tag)
    sizes = [len(e["records"]) for e in entries]
    assert sum(sizes) == 7
    assert max(sizes) <= 3  # BatchSize 3
    assert len(entries) >= 3
    assert summary.records >= 7


# -- failures -------------------------------------------------------------------------------------------


def test_partial_batch_failure_redelivers_only_the_failed_record(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(
        stack, "BatchQueue", {"tag": tag, "n": 1}, {"tag": tag, "n": 2, "fail_until": 2}, {"tag": tag, "n": 3}
    )
    summary = stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "batch"), tag), tag)
    seen: dict[int, list[int]] = {}
    for record in records:
        seen.setdefault(json.loads(record["body"])["n"], []).append(record["count"])
    assert seen == {1: [1], 2: [1, 2], 3: [1]}
    assert summary.failed >= 1
    assert not summary.errors


def test_an_exception_redelivers_the_whole_batch(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "BatchQueue", {"tag": tag, "n": 1, "raise_until": 2}, {"tag": tag, "n": 2})
    summary = stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "batch"), tag), tag)
    counts = sorted((json.loads(r["body"])["n"], r["count"]) for r in records)
    assert counts == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert any(f"RuntimeError: boom {tag}" in error for error in summary.errors)


def test_an_invalid_partial_response_fails_the_whole_batch(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "BatchQueue", {"tag": tag, "n": 1, "bogus_until": 2})
    summary = stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "batch"), tag), tag)
    assert [r["count"] for r in records] == [1, 2]
    assert any("invalid batchItemFailures" in error for error in summary.errors)


def test_without_report_batch_item_failures_the_response_is_ignored(
    stack: LocalStack, code_root: Path
) -> None:
    tag = _tag()
    _send(stack, "PlainQueue", {"tag": tag, "fail_until": 5})
    stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "plain"), tag), tag)
    assert [r["count"] for r in records] == [1]  # deleted although the handler listed it as failed


def test_redrive_to_the_dlq_after_max_receive_count(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "BatchQueue", {"tag": tag, "fail_until": 99})
    summary = stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "batch"), tag), tag)
    assert [r["count"] for r in records] == [1, 2, 3]  # maxReceiveCount 3, then SQS moves it
    dead = [m for m in stack.dlq_messages("BatchFunction") if tag in m["body"]]
    assert len(dead) == 1
    assert summary.dead_lettered["BatchDLQ"] >= 1
    # Peeking leaves the messages where they are, and the DLQ can be named directly.
    assert [m["messageId"] for m in stack.dlq_messages("BatchDLQ") if tag in m["body"]] == [
        dead[0]["messageId"]
    ]


def test_failed_messages_wait_out_the_scaled_visibility_timeout(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "SlowQueue", {"tag": tag, "fail_until": 2})
    started = time.monotonic()
    stack.run_until_idle(timeout=10)

    entries = read_entries(_out(code_root, "slow"), tag)
    assert [e["records"][0]["count"] for e in entries] == [1, 2]
    gap = entries[1]["at"] - entries[0]["at"]
    assert gap >= 0.55  # 300 s x 0.002 = 0.6 s
    assert time.monotonic() - started < 60  # scaled: far below the unscaled 300 s, whatever the load


def test_a_hold_set_by_the_handler_replaces_the_visibility_timeout(
    stack: LocalStack, code_root: Path
) -> None:
    """As on AWS, a failed record keeps the visibility its handler gave it (submission's quota wait),
    scaled like every timeout: 50 s x 0.002 = 0.1 s (not the queue's 0.6 s), 600 s → 1.2 s."""
    seen = stack.dispatcher.holds_seen
    gaps = {}
    for hold in (50, 600):
        tag = _tag()
        _send(stack, "SlowQueue", {"tag": tag, "hold_until": 2, "hold": hold})
        stack.run_until_idle(timeout=10)
        entries = read_entries(_out(code_root, "slow"), tag)
        assert [e["records"][0]["count"] for e in entries] == [1, 2]
        gaps[hold] = entries[1]["at"] - entries[0]["at"]
    # Which delay was used is read off the dispatcher; wall-clock gaps are only checked from
    # below (a loaded machine makes them longer, never shorter).
    assert stack.dispatcher.holds_applied[-2:] == [50, 600]
    assert gaps[50] >= 0.09 and gaps[600] >= 1.15, gaps
    assert stack.dispatcher.holds_seen == seen + 2


def test_a_timed_out_invocation_is_a_failed_batch(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "SlowQueue", {"tag": tag, "sleep_until": 2, "sleep": 1.1})  # Timeout is 1 s
    summary = stack.run_until_idle(timeout=10)

    entries = read_entries(_out(code_root, "slow"), tag)
    assert [e["records"][0]["count"] for e in entries] == [1, 2]
    assert any("Task timed out" in error for error in summary.errors), summary.errors


def test_an_import_error_fails_the_batch_and_dead_letters(stack: LocalStack) -> None:
    tag = _tag()
    _send(stack, "BrokenQueue", {"tag": tag})
    summary = stack.run_until_idle(timeout=10)

    assert any("Runtime.ImportModuleError" in e and "import-time failure" in e for e in summary.errors)
    assert [m for m in stack.dlq_messages("BrokenQueue") if tag in m["body"]]


def test_filter_criteria_drop_messages_that_match_no_filter(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    _send(stack, "FilterQueue", {"tag": tag, "kind": "keep"}, {"tag": tag, "kind": "drop"})
    summary = stack.run_until_idle(timeout=10)

    records = records_of(read_entries(_out(code_root, "plain"), tag), tag)
    assert [json.loads(r["body"])["kind"] for r in records] == ["keep"]
    assert summary.filtered == 1
    counts = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_id("FilterQueue"), AttributeNames=["All"]
    )["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_run_until_idle_times_out_with_a_clear_message(stack: LocalStack) -> None:
    tag = _tag()
    _send(stack, "SlowQueue", {"tag": tag, "fail_until": 2})
    with pytest.raises(DispatcherTimeoutError, match="SlowQueue") as raised:
        stack.run_until_idle(timeout=0.2)
    assert "did not become idle within 0.2 s" in str(raised.value)
    stack.run_until_idle(timeout=10)  # and it gets there in the end


# -- concurrency ----------------------------------------------------------------------------------------


def test_a_busy_queue_does_not_stall_another_in_concurrent_mode(
    stack: LocalStack, code_root: Path, concurrent: bool
) -> None:
    """BatchFunction's record waits (up to 4 s of its 5 s timeout) for a file that PlainFunction's
    record, on another queue and delayed by 1 s so it comes second, creates. Concurrently the second
    runs while the first waits; in-process, one batch at a time, the first gives up before."""
    tag = _tag()
    marker = code_root / "out" / f"{tag}.marker"
    _send(stack, "BatchQueue", {"tag": tag, "wait_for": str(marker), "wait": 4})
    _send(stack, "PlainQueue", {"tag": tag, "touch": str(marker)}, DelaySeconds=1)
    summary = stack.run_until_idle(timeout=30)

    assert not summary.errors
    assert records_of(read_entries(_out(code_root, "batch"), tag), tag)
    assert records_of(read_entries(_out(code_root, "plain"), tag), tag)
    assert marker.with_name(marker.name + ".seen").exists() is concurrent


def test_concurrent_mode_runs_handlers_in_warm_worker_processes(stack: LocalStack, concurrent: bool) -> None:
    first = stack.invoke("BatchFunction", {"return": {"pid": "?"}})
    assert first == {"pid": "?"}
    before = [line for line in stack.logs("BatchFunction") if "handled" in line]
    stack.invoke("BatchFunction", {"return": {"ok": 2}})
    after = [line for line in stack.logs("BatchFunction") if "handled" in line]
    assert len(after) == len(before) + 1  # a worker's output reaches the function's log
    workers = stack.dispatcher._workers
    if concurrent:
        assert [w.name for w in workers].count(stack.provisioner.functions["BatchFunction"].name) == 1
        assert all(w.alive for w in workers)
    else:
        assert workers == []


# -- handlers -------------------------------------------------------------------------------------------


def test_functions_with_the_same_file_names_stay_apart(stack: LocalStack, code_root: Path) -> None:
    stack.invoke("BatchFunction", {"probe": "alpha"})
    stack.invoke("BetaFunction", {"probe": "beta"})
    stack.invoke("BatchFunction", {"probe": "alpha-again"})

    alpha = [e for e in read_entries(_out(code_root, "batch")) if (e["event"] or {}).get("probe")]
    beta = read_entries(_out(code_root, "beta"))
    assert {e["helper"] for e in alpha} == {"alpha"}
    assert [e["helper"] for e in beta] == ["beta"]
    assert "helper" not in sys.modules and "app" not in sys.modules


def test_invoke_returns_the_response(stack: LocalStack) -> None:
    assert stack.invoke("BetaFunction", {"return": {"ok": 1}}) == {"ok": 1}
    with pytest.raises(RuntimeError, match="ImportModuleError"):
        stack.invoke("BrokenFunction", {})


# -- schedules ------------------------------------------------------------------------------------------


def test_fire_schedules_delivers_to_queues_and_functions(stack: LocalStack, code_root: Path) -> None:
    firings = stack.fire_schedules()
    assert {(f.schedule_id, f.error) for f in firings} == {("TickRule", None), ("NightlySchedule", None)}

    messages = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id("TickQueue"), MaxNumberOfMessages=10
    )["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    scheduled = [b for b in bodies if b.get("detail-type") == "Scheduled Event"]
    assert len(scheduled) == 1
    assert scheduled[0]["source"] == "aws.events"
    assert scheduled[0]["account"] == ACCOUNT
    assert scheduled[0]["resources"] == [stack.attribute("TickRule", "Arn")]
    assert {"hello": "tick"} in bodies  # the target's constant Input
    for message in messages:
        stack.client("sqs").delete_message(
            QueueUrl=stack.physical_id("TickQueue"), ReceiptHandle=message["ReceiptHandle"]
        )

    nightly = [e for e in read_entries(_out(code_root, "batch")) if e["event"] == {"from": "scheduler"}]
    assert len(nightly) == 1


def test_disabled_schedules_fire_only_when_named(stack: LocalStack) -> None:
    assert stack.fire_schedules(["DisabledSchedule"])[0].error is None
    messages = stack.client("sqs").receive_message(QueueUrl=stack.physical_id("TickQueue"))["Messages"]
    assert json.loads(messages[0]["Body"]) == {}  # a Scheduler schedule without Input
    stack.client("sqs").delete_message(
        QueueUrl=stack.physical_id("TickQueue"), ReceiptHandle=messages[0]["ReceiptHandle"]
    )
    with pytest.raises(KeyError):
        stack.fire_schedules(["NoSuchSchedule"])


def test_schedules_fire_on_their_clock(stack: LocalStack, code_root: Path) -> None:
    from tailor.local.scheduler import Scheduler

    scheduler = Scheduler(
        schedules={k: v for k, v in stack.provisioner.schedules.items() if k == "TickRule"},
        sqs=stack.client("sqs"),
        dispatcher=stack.dispatcher,
        region=REGION,
        account_id=ACCOUNT,
    )
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert scheduler.tick(start) == []  # first tick: schedules the next firing (rate(5 minutes))
    assert scheduler.tick(start + timedelta(minutes=4)) == []
    fired = scheduler.tick(start + timedelta(minutes=5, seconds=1))
    assert [f.schedule_id for f in fired] == ["TickRule", "TickRule"]  # two targets
    url = stack.physical_id("TickQueue")
    sqs = stack.client("sqs")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# -- moto gaps, repaired ----------------------------------------------------------------------------------


def test_s3_events_reach_handlers_as_aws_sends_them(stack: LocalStack, code_root: Path) -> None:
    tag = _tag()
    first = stack.upload(f"in/{tag}/a.json", b"{}")
    stack.upload(f"in/{tag}/b.json", b"[1]")
    stack.run_until_idle(timeout=10)

    records = [
        r for e in read_entries(_out(code_root, "plain")) for r in e["records"] if f"in/{tag}/" in r["body"]
    ]
    s3_queue = stack.attribute("S3Queue", "Arn")
    from_s3_queue = [json.loads(r["body"]) for r in records if r["record"]["eventSourceARN"] == s3_queue]
    created = [b for b in from_s3_queue if b["detail-type"] == "Object Created"]
    assert len(created) == len(from_s3_queue) == 2  # the rule's detail-type filter holds in moto
    for event in created:
        assert event["account"] == ACCOUNT
        assert event["id"] != MOTO_S3_EVENT_ID
        obj = event["detail"]["object"]
        assert "eTag" not in obj
        assert obj["sequencer"] != MOTO_S3_SEQUENCER
        assert {"key", "size", "etag", "version-id", "sequencer"} <= set(obj)
        assert event["detail"]["bucket"]["name"] == stack.physical_id("DataBucket")
    assert len({e["id"] for e in created}) == 2
    a = next(e for e in created if e["detail"]["object"]["key"].endswith("/a.json"))
    assert a["detail"]["object"]["etag"] == first["etag"]
    assert a["detail"]["object"]["version-id"] == first["versionId"]

    # A rule without a detail-type filter sees moto's extra "Object Tags Added" (and the summary
    # warns about it).
    all_types = {json.loads(r["body"])["detail-type"] for r in records}
    assert "Object Tags Added" in all_types


def test_the_observer_captures_bus_events_only(stack: LocalStack) -> None:
    stack.published_events()  # drain
    tag = _tag()
    stack.client("events").put_events(
        Entries=[
            {
                "Source": "test.app",
                "DetailType": "Ping",
                "Detail": json.dumps({"tag": tag}),
                "EventBusName": f"{STACK_NAME}-bus",
            }
        ]
    )
    stack.upload(f"observer/{tag}.json", b"{}")

    events = stack.published_events()
    assert [(e["source"], e["detail"]) for e in events] == [("test.app", {"tag": tag})]
    assert events[0]["account"] == ACCOUNT  # moto leaves it out
    assert events[0] in stack.published_events(history=True)
    sqs = stack.client("sqs")
    delivered = sqs.receive_message(QueueUrl=stack.physical_id("BusQueue"), MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert any(tag in m["Body"] for m in delivered)
    disabled = sqs.receive_message(QueueUrl=stack.physical_id("DisabledQueue")).get("Messages")
    assert not disabled  # moto would deliver to a disabled rule: its targets are not attached
    stack.run_until_idle(timeout=10)


def test_bucket_policy_conditions_do_not_lock_the_bucket(stack: LocalStack) -> None:
    info = stack.upload(f"policy/{_tag()}.txt", b"x")
    body = stack.client("s3").get_object(Bucket=info["bucket"], Key=info["key"])["Body"].read()
    assert body == b"x"
    stack.run_until_idle(timeout=10)


# -- the summary ------------------------------------------------------------------------------------------


def test_describe_says_what_is_emulated_simulated_and_skipped(stack: LocalStack) -> None:
    out = io.StringIO()
    summary = stack.describe(file=out)
    text = out.getvalue()

    assert text == summary.render() + "\n"
    assert {p.name for p in summary.emulated} >= {
        "S3",
        "SQS",
        "EventBridge",
        "DynamoDB",
        "Lambda",
        "Schedules",
    }
    assert "in-process dispatcher" in next(p.how for p in summary.emulated if p.name == "Lambda")
    # Honest: the deployments/runtime and the IoT Jobs data plane are stand-ins; training says so.
    assert [p.name for p in summary.simulated] == ["Bedrock deployments and runtime", "IoT Jobs data plane"]
    assert {p.name for p in summary.not_available} == {"Bedrock model customization"}
    assert (
        "SIMULATED (a local stand-in, no AWS API behind it):\n  - Bedrock deployments and runtime: SIMULATED"
        in text
    )
    assert any(s.startswith("Thing (AWS::IoT::Thing)") for s in summary.skipped)
    notes = "\n".join(summary.notes)
    assert "S3AllRule: aws.s3 pattern without detail-type" in notes
    assert "DisabledRule: DISABLED" in notes
    assert "DataBucketPolicy: 1 conditional statement(s) not applied" in notes
    statuses = {r.logical_id: r.status for r in summary.resources}
    assert statuses["BatchFunction"] == statuses["BatchMapping"] == statuses["TickRule"] == "played"
    assert statuses["FunctionRole"] == "resolved"
    assert statuses["LocalObserver"] == "local"
    for heading in (
        "EMULATED",
        "SIMULATED",
        "NOT AVAILABLE LOCALLY",
        "NOT EMULATED",
        "Resources:",
        "Skipped:",
        "Notes:",
    ):
        assert heading in text


def test_the_short_summary_says_what_runs_in_a_few_lines(stack: LocalStack) -> None:
    lines = stack.summary().short()
    assert len(lines) <= 6
    text = "\n".join(lines)
    assert "emulated: S3, SQS, EventBridge, DynamoDB" in text and "Lambda" in text
    assert "Bedrock deployments and runtime: SIMULATED (answers labelled, no model runs)" in text
    assert "not available locally: Bedrock model customization" in text
    assert "--verbose" in text and "Resources:" not in text
