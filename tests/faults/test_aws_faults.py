"""Injected AWS and Lambda faults (issue "Prove it holds", item 2), each ending in its single right
outcome, through the embedded local stack built from template.yaml (Bedrock training SIMULATED):

- Bedrock throttling / ServiceQuotaExceeded / 5xx on CreateModelCustomizationJob → the message is
  held (its visibility set by the handler), then exactly one job;
- S3 SlowDown while validating → retried through the queue, then one validation, one job;
- PutEvents partial failure → the publisher retries the failed entry only: each event once;
- a handler exception on one record of a batch → only that record is retried;
- a handler running past its timeout (the dispatcher's ``enforce_timeouts``) → the batch is
  retried, the work it did is not done twice.

Races and Bedrock's unreliable events: test_races_and_events.py.

AWS errors are injected by patching Tailor's adapters (``tailor.adapters.*``) — the code the
handlers run — with botocore ``ClientError``s shaped as AWS sends them; no wall-clock assertions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from faults_helpers import (
    held_back,
    job_arn_of,
    jobs_of,
    of,
    records_handled,
    run_ids_of,
    settle,
    status_of,
    upload_dataset,
)

from tailor.adapters import bedrock as bedrock_adapter
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def aws_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def _run_tag(kwargs: dict[str, Any]) -> str:
    return next((t["value"] for t in kwargs.get("jobTags", []) if t["key"] == "tailor-run-id"), "")


def patch_creates(
    patch: pytest.MonkeyPatch, label: str, fault: Callable[[str, int], BaseException | None]
) -> list[str]:
    """Every CreateModelCustomizationJob of a run ``<label>-…`` goes through ``fault(run id,
    attempt)`` first (attempts count from 1; None: call Bedrock). Returns the run ids of the
    attempts, in order."""
    real = bedrock_adapter.call_bedrock
    attempts: list[str] = []

    def call(function: Any, **kwargs: Any) -> Any:
        run_id = _run_tag(kwargs)
        if getattr(function, "__name__", "") == "create_model_customization_job" and run_id.startswith(
            f"{label}-"
        ):
            attempts.append(run_id)
            error = fault(run_id, sum(1 for a in attempts if a == run_id))
            if error is not None:

                def failing(**_: Any) -> Any:
                    raise error

                return real(failing, **kwargs)  # classified exactly as a real ClientError is
        return real(function, **kwargs)

    patch.setattr(bedrock_adapter, "call_bedrock", call)
    return attempts


# -- Bedrock: throttling, quota, 5xx -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ServiceQuotaExceededException", 400),
        ("InternalServerException", 500),
        ("ServiceUnavailableException", 503),
    ],
)
def test_bedrock_throttling_quota_and_5xx_hold_the_message_then_one_job(
    stack: LocalStack, code: str, status: int
) -> None:
    label = f"bedrock-{code[:8].lower()}"
    holds = stack.dispatcher.holds_seen
    with pytest.MonkeyPatch.context() as patch:
        attempts = patch_creates(
            patch,
            label,
            lambda _, n: aws_error(code, "CreateModelCustomizationJob", status) if n <= 2 else None,
        )
        upload_dataset(stack, label)
        events = settle(stack)
    (run_id,) = run_ids_of(stack, label)
    assert attempts == [run_id] * 3  # two refusals, then the job
    assert stack.dispatcher.holds_seen - holds == 2  # each refusal held the message (its own visibility)
    assert len(of(events, "JobSubmitted", run_id)) == 1
    assert of(events, "JobSubmissionFailed", run_id) == []
    assert len(jobs_of(stack, run_id)) == 1
    assert status_of(stack, run_id) == "SUBMITTED"


# -- S3: SlowDown while validating -----------------------------------------------------------------


def test_s3_slowdown_while_validating_is_retried_then_one_validation(stack: LocalStack) -> None:
    from tailor.adapters.object_store import S3ObjectStore

    label = "slowdown"
    real = S3ObjectStore.iter_chunks
    faults = {"left": 2}

    def flaky(self: S3ObjectStore, bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith(f"{label}/train.jsonl") and faults["left"]:
            faults["left"] -= 1
            raise aws_error("SlowDown", "GetObject", 503)
        return real(self, bucket, key, *args, **kwargs)

    ingested = records_handled(stack, "IngestionFunction")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3ObjectStore, "iter_chunks", flaky)
        upload_dataset(stack, label)
        events = settle(stack)
    assert faults["left"] == 0
    assert records_handled(stack, "IngestionFunction") - ingested == 3  # two SlowDowns, one validation
    (run_id,) = run_ids_of(stack, label)
    assert len(of(events, "DatasetValidated", run_id)) == 1
    assert of(events, "DatasetRejected") == []
    assert len(of(events, "JobSubmitted", run_id)) == 1 and len(jobs_of(stack, run_id)) == 1


# -- EventBridge: PutEvents partial failure --------------------------------------------------------


class PartlyFailingEvents:
    """The events client, except that the first ``times`` PutEvents carrying ``detail_type`` for
    ``run_id`` fail that entry (InternalFailure, positionally, as EventBridge answers) and put the
    others; ``on_last_failure`` runs when the last injected failure is answered."""

    def __init__(
        self,
        real: Any,
        detail_type: str,
        run_id: str,
        times: int = 1,
        on_last_failure: Callable[[], None] | None = None,
    ) -> None:
        self.real, self.detail_type, self.run_id = real, detail_type, run_id
        self.left = times
        self.on_last_failure = on_last_failure
        self.calls: list[list[str]] = []

    @property
    def failed(self) -> bool:
        return self.left == 0

    def _target(self, entry: dict[str, Any]) -> bool:
        return entry["DetailType"] == self.detail_type and self.run_id in entry["Detail"]

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        mine = [e["DetailType"] for e in Entries if self.run_id in e["Detail"]]
        if mine:  # what was put for this run, call by call
            self.calls.append(mine)
        if not self.left or not any(self._target(e) for e in Entries):
            return dict(self.real.put_events(Entries=Entries))
        self.left -= 1
        sent = [e for e in Entries if not self._target(e)]
        results = iter(self.real.put_events(Entries=sent)["Entries"] if sent else [])
        entries = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if self._target(e) else next(results)
            for e in Entries
        ]
        if not self.left and self.on_last_failure is not None:
            self.on_last_failure()
        return {"FailedEntryCount": len(Entries) - len(sent), "Entries": entries}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_putevents_partial_failure_retries_the_failed_entry_only(stack: LocalStack) -> None:
    from tailor.adapters import aws
    from tailor.adapters.bus import EventBridgePublisher

    label = "partial"
    upload_dataset(stack, label)
    settle(stack)
    (run_id,) = run_ids_of(stack, label)
    events_client = PartlyFailingEvents(aws.client("events"), "JobCompleted", run_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EventBridgePublisher, "client", property(lambda self: events_client))
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        events = settle(stack)
    assert events_client.failed
    # The status service puts JobStatusChanged and JobCompleted together; only JobCompleted is retried.
    first = events_client.calls.index(["JobStatusChanged", "JobCompleted"])
    assert events_client.calls[first + 1 :] == [["JobCompleted"]]
    completed = [c for c in of(events, "JobStatusChanged", run_id) if c["status"] == "Completed"]
    assert len(completed) == 1 and len(of(events, "JobCompleted", run_id)) == 1
    assert status_of(stack, run_id) == "COMPLETED"


def test_putevents_failing_past_the_publisher_s_retries_is_published_once_by_the_retry(
    stack: LocalStack,
) -> None:
    """JobCompleted refused on all 4 attempts: the status record fails (the run is already
    COMPLETED, its event not recorded as published). SQS brings the record back after StatusQueue's
    visibility timeout (720 s on AWS: past REPAIR_AFTER); here the timeout is scaled down, so the
    run is aged when the last refusal is answered, as those 720 s would have aged it."""
    from tailor.adapters import aws
    from tailor.adapters.bus import EventBridgePublisher

    label = "refused"
    upload_dataset(stack, label)
    settle(stack)
    (run_id,) = run_ids_of(stack, label)
    events_client = PartlyFailingEvents(
        aws.client("events"), "JobCompleted", run_id, times=4, on_last_failure=lambda: _age(stack, run_id)
    )
    failed = stack.dispatcher.stats["StatusFunction"].failed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EventBridgePublisher, "client", property(lambda self: events_client))
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        events = settle(stack)
    assert events_client.failed and stack.dispatcher.stats["StatusFunction"].failed - failed == 1
    assert len(of(events, "JobCompleted", run_id)) == 1
    assert status_of(stack, run_id) == "COMPLETED"
    # At least once, recognisably: JobStatusChanged went out on the failed attempt and again with
    # its JobCompleted on the retry — the same fact, the same event id (docs/reliability.md).
    changed = [
        e["detail"]["metadata"]["eventId"]
        for e in events
        if e["detail-type"] == "JobStatusChanged"
        and e["detail"]["data"]["runId"] == run_id
        and e["detail"]["data"]["status"] == "Completed"
    ]
    assert len(changed) == 2 and len(set(changed)) == 1


def test_the_status_retry_always_comes_after_the_repair_window() -> None:
    """What the test above leans on, checked on the template: a failed status record returns after
    StatusQueue's visibility timeout, which must outlast REPAIR_AFTER (before it, a second sighting
    leaves the publishing to the first consumer; a COMPLETED run is never polled again)."""
    from tailor.local.sam_transform import load_template
    from tailor.local.stack import find_template
    from tailor.status.service import REPAIR_AFTER

    queue = load_template(find_template())["Resources"]["StatusQueue"]["Properties"]
    assert int(queue["VisibilityTimeout"]) > REPAIR_AFTER.total_seconds()


def _age(stack: LocalStack, run_id: str, minutes: int = 15) -> None:
    from datetime import UTC, datetime, timedelta

    old = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    stack.client("dynamodb").update_item(
        TableName=stack.env_value("RUNS_TABLE"),
        Key={"runId": {"S": run_id}},
        UpdateExpression="SET updatedAt = :old",
        ExpressionAttributeValues={":old": {"S": old.replace("+00:00", "Z")}},
    )


# -- Lambda: one failing record of a batch; a handler past its timeout ----------------------------


def test_an_exception_on_one_record_of_a_batch_retries_that_record_only(stack: LocalStack) -> None:
    with held_back(stack, "SubmitQueue"):
        upload_dataset(stack, "batch-a")
        upload_dataset(stack, "batch-b")
        settle(stack)
    (run_a,) = run_ids_of(stack, "batch-a")
    (run_b,) = run_ids_of(stack, "batch-b")
    stats = stack.dispatcher.stats["SubmissionFunction"]
    before = (stats.invocations, stats.records, stats.failed)
    with pytest.MonkeyPatch.context() as patch:
        # A plain exception (not a Bedrock error) on batch-a's first create: the handler raises for
        # that record; Powertools reports it alone in batchItemFailures.
        attempts = patch_creates(
            patch,
            "batch",
            lambda run, n: RuntimeError("injected: the handler broke") if (run, n) == (run_a, 1) else None,
        )
        events = settle(stack)
    # One invocation took both records; a's failure was retried alone, in a second invocation.
    assert (stats.invocations, stats.records, stats.failed) == (before[0] + 2, before[1] + 3, before[2] + 1)
    assert sorted(attempts) == sorted([run_a, run_a, run_b])
    for run_id in (run_a, run_b):
        assert len(of(events, "JobSubmitted", run_id)) == 1
        assert len(jobs_of(stack, run_id)) == 1


class SteppedClock:
    """``time`` for the dispatcher, with a monotonic clock a test can move forward (no sleeping)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_a_handler_past_its_timeout_is_retried_and_its_work_is_not_repeated(stack: LocalStack) -> None:
    from tailor.local import dispatcher as dispatcher_module

    with held_back(stack, "SubmitQueue"):
        upload_dataset(stack, "slow-a")
        upload_dataset(stack, "slow-b")
        settle(stack)
    (run_a,) = run_ids_of(stack, "slow-a")
    (run_b,) = run_ids_of(stack, "slow-b")
    timeout = stack.dispatcher.functions["SubmissionFunction"].timeout
    clock = SteppedClock()

    def slow_first(run: str, n: int) -> None:
        if (run, n) == (run_a, 1):
            clock.offset += timeout + 1  # this create "took" longer than the function's Timeout
        return

    errors_before = len(stack.dispatcher.errors)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dispatcher_module, "time", clock)
        attempts = patch_creates(patch, "slow", slow_first)
        events = settle(stack, timeout=600)  # on the stepped clock
    errors = stack.dispatcher.errors[errors_before:]
    assert any("Task timed out" in e for e in errors), errors
    # The timed-out invocation's create went through (Lambda would have killed it afterwards): the
    # retry found the run recorded (or its job by name and token) and created nothing new.
    assert sorted(set(attempts)) == sorted({run_a, run_b})
    for run_id in (run_a, run_b):
        assert len(jobs_of(stack, run_id)) == 1
        assert len(of(events, "JobSubmitted", run_id)) == 1
        assert status_of(stack, run_id) == "SUBMITTED"
