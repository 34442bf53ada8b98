"""Tail the Tailor bus: a temporary EventBridge rule that targets a temporary SQS queue.

``bus_tail(bus, run_id=…)`` creates both (names ``tailor-tail-<random>``, unique per use), yields a
``BusTail`` to ``receive`` from, and always deletes them — the rule's targets first, then the rule,
then the queue — on a normal exit, on an exception and on KeyboardInterrupt. A rule only sees
events put after it exists (EventBridge may take a few seconds to start matching a new rule).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from tailor.adapters import aws

TAIL_PREFIX = "tailor-tail-"
_TARGET_ID = "tail-queue"


def tail_pattern(run_id: str | None = None) -> dict[str, Any]:
    """Every Tailor event (``source`` starts with ``tailor.``), or only one run's."""
    pattern: dict[str, Any] = {"source": [{"prefix": "tailor."}]}
    if run_id:
        pattern["detail"] = {"metadata": {"runId": [run_id]}}
    return pattern


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    statement = {
        "Sid": "TailorTailRule",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }
    return orjson.dumps({"Version": "2012-10-17", "Statement": [statement]}).decode()


@dataclass
class BusTail:
    """The temporary rule and queue; ``created`` lists what exists, for the clean-up."""

    bus_name: str
    name: str
    events: Any
    sqs: Any
    run_id: str | None = None
    queue_url: str | None = None
    rule_arn: str | None = None
    created: list[str] = field(default_factory=list)  # "queue", "rule", "targets"

    def create(self) -> None:
        self.queue_url = str(self.sqs.create_queue(QueueName=self.name)["QueueUrl"])
        self.created.append("queue")
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.rule_arn = str(
            self.events.put_rule(
                Name=self.name,
                EventBusName=self.bus_name,
                EventPattern=orjson.dumps(tail_pattern(self.run_id)).decode(),
                State="ENABLED",
                Description="tailor events: temporary tail of the Tailor bus (deleted on exit)",
            )["RuleArn"]
        )
        self.created.append("rule")
        self.sqs.set_queue_attributes(
            QueueUrl=self.queue_url, Attributes={"Policy": _queue_policy(queue_arn, self.rule_arn)}
        )
        response = self.events.put_targets(
            Rule=self.name, EventBusName=self.bus_name, Targets=[{"Id": _TARGET_ID, "Arn": queue_arn}]
        )
        self.created.append("targets")
        if response.get("FailedEntryCount"):
            failed = response.get("FailedEntries") or [{}]
            raise RuntimeError(f"could not target the tail queue: {failed[0].get('ErrorMessage', failed[0])}")

    def receive(self, wait_seconds: float) -> list[dict[str, Any]]:
        """The events that arrived (up to 10), waiting up to ``wait_seconds`` (≤ 20) for the first."""
        if self.queue_url is None:
            raise RuntimeError("the tail is not created")
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(0, min(20, round(wait_seconds))),
        )
        messages = response.get("Messages", [])
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        events = []
        for message in messages:
            with contextlib.suppress(orjson.JSONDecodeError):
                body = orjson.loads(message["Body"])
                if isinstance(body, dict):
                    events.append(body)
        return sorted(events, key=lambda e: str(e.get("time", "")))

    def delete(self) -> list[str]:
        """Remove the targets, the rule, then the queue; each step tried even if one before failed.
        What could not be removed, as lines to tell the user (empty when everything went)."""
        problems: list[str] = []
        if "targets" in self.created:
            try:
                self.events.remove_targets(Rule=self.name, EventBusName=self.bus_name, Ids=[_TARGET_ID])
                self.created.remove("targets")
            except Exception as error:
                problems.append(f"rule {self.name}: targets not removed: {error}")
        if "rule" in self.created:
            try:
                self.events.delete_rule(Name=self.name, EventBusName=self.bus_name)
                self.created.remove("rule")
            except Exception as error:
                problems.append(f"rule {self.name} on {self.bus_name} not deleted: {error}")
        if "queue" in self.created and self.queue_url:
            try:
                self.sqs.delete_queue(QueueUrl=self.queue_url)
                self.created.remove("queue")
            except Exception as error:
                problems.append(f"queue {self.queue_url} not deleted: {error}")
        return problems


class TailCleanupError(RuntimeError):
    """A temporary resource could not be removed (the message names it, to delete by hand)."""


@contextlib.contextmanager
def bus_tail(
    bus_name: str,
    *,
    run_id: str | None = None,
    events_client: Any | None = None,
    sqs_client: Any | None = None,
    name: str | None = None,
) -> Iterator[BusTail]:
    """Create the rule and queue, yield them, and always delete them (see the module's doc)."""
    tail = BusTail(
        bus_name=bus_name,
        name=name or TAIL_PREFIX + secrets.token_hex(6),
        events=events_client or aws.client("events"),
        sqs=sqs_client or aws.client("sqs"),
        run_id=run_id,
    )
    try:
        tail.create()
        yield tail
    except BaseException as error:
        problems = tail.delete()
        if problems:  # the original error goes on; what is left behind is named on it
            error.add_note("left behind: " + "; ".join(problems))
        raise
    problems = tail.delete()
    if problems:
        raise TailCleanupError("; ".join(problems))
