"""EventBridgePublisher: chunks of 10, retries failed entries, raises if they still fail."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from tailor.adapters.bus import EventBridgePublisher, PublishError
from tailor.events.envelope import new_detail
from tailor.events.models import JobSubmissionFailed


def _details(n: int) -> list[Any]:
    return [
        new_detail(
            JobSubmissionFailed(
                run_id=f"r{i}", error_code="ThrottlingException", message="m", retryable=True
            ),
            producer="tailor.submission",
        )
        for i in range(n)
    ]


class FlakyEvents:
    """put_events that fails chosen entries a given number of times."""

    def __init__(self, failures_per_entry: int) -> None:
        self.failures_per_entry = failures_per_entry
        self.calls: list[list[dict[str, Any]]] = []
        self.seen: dict[str, int] = {}

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        assert len(Entries) <= 10
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            count = self.seen.get(entry["Detail"], 0)
            self.seen[entry["Detail"]] = count + 1
            if count < self.failures_per_entry:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": "ok"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


def test_chunks_of_ten() -> None:
    client = FlakyEvents(failures_per_entry=0)
    EventBridgePublisher("bus", client, sleep=lambda _: None).publish(_details(23))
    assert [len(c) for c in client.calls] == [10, 10, 3]


def test_failed_entries_are_retried_alone() -> None:
    client = FlakyEvents(failures_per_entry=1)
    EventBridgePublisher("bus", client, sleep=lambda _: None).publish(_details(3))
    assert [len(c) for c in client.calls] == [3, 3]
    assert all(v == 2 for v in client.seen.values())


def test_entries_that_keep_failing_raise() -> None:
    client = FlakyEvents(failures_per_entry=99)
    publisher = EventBridgePublisher("bus", client, max_attempts=3, sleep=lambda _: None)
    with pytest.raises(PublishError, match="3 event\\(s\\) were not published") as caught:
        publisher.publish(_details(3))
    assert len(caught.value.failures) == 3
    assert len(client.calls) == 3


def test_oversized_event_is_refused_before_sending() -> None:
    client = FlakyEvents(failures_per_entry=0)
    big = new_detail(
        JobSubmissionFailed(run_id="r", error_code="x", message="m" * 300_000, retryable=False), producer="p"
    )
    with pytest.raises(ValueError, match="put large content in S3"):
        EventBridgePublisher("bus", client).publish([big])
    assert client.calls == []


def test_publishes_to_a_real_bus_in_moto() -> None:
    with mock_aws():
        events = boto3.client("events")
        sqs = boto3.client("sqs")
        events.create_event_bus(Name="tailor")
        queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="all", EventBusName="tailor", EventPattern='{"source": ["tailor.submission"]}')
        events.put_targets(Rule="all", EventBusName="tailor", Targets=[{"Id": "q", "Arn": arn}])
        EventBridgePublisher("tailor", events).publish(_details(2))
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        assert len(messages) == 2
