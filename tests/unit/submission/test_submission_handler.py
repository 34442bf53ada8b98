"""The submission handler: a held message gets its visibility set and is a failed item; a message
that is not DatasetValidated is consumed; records are not started near the deadline."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tailor.adapters.queue import InMemoryQueue
from tailor.submission.service import HoldMessage, SubmissionResult, SubmitOutcome

ROOT = Path(__file__).resolve().parents[3]


class Context:
    function_name = "SubmissionFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SubmissionFunction"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_record(message_id: str, detail_type: str = "DatasetValidated") -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "DatasetValidated.json").read_text())
    event["detail-type"] = detail_type
    if detail_type != "DatasetValidated":
        event = json.loads((ROOT / "events" / f"{detail_type}.json").read_text())
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": json.dumps(event),
        "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1796029200000"},
        "eventSource": "aws:sqs",
    }


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, InMemoryQueue, list[Any]]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "submission")
    spec = importlib.util.spec_from_file_location(
        "submission_app_under_test", ROOT / "services/submission/app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    from tailor.adapters.bus import InMemoryPublisher
    from tailor.adapters.runs import InMemoryRunStore
    from tailor.jobs.pricing import price_table
    from tailor.submission.request import SubmissionSettings
    from tailor.submission.service import SubmissionDeps

    class Backend:
        name = "fake"

        def in_progress(self) -> int:
            return 0

    queue = InMemoryQueue()
    deps = SubmissionDeps(
        runs=InMemoryRunStore(),
        bus=InMemoryPublisher(),
        backends=(Backend(),),  # type: ignore[arg-type]
        settings=SubmissionSettings(role_arn="arn:aws:iam::123456789012:role/r", artifacts_bucket="a"),
        prices=price_table(),
    )
    calls: list[Any] = []
    monkeypatch.setattr(module, "_base_deps", lambda: (deps, queue))
    return module, queue, calls


def test_a_held_message_is_put_back_with_its_delay_and_reported_failed(
    app: tuple[ModuleType, InMemoryQueue, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, queue, _ = app

    def hold(data: Any, delivery: Any, deps: Any) -> SubmissionResult:
        assert delivery.receive_count == 3 and delivery.sent_at is not None
        raise HoldMessage(240, "waiting for quota")

    monkeypatch.setattr(module, "submit_run", hold)
    response = module.handler({"Records": [sqs_record("m1")]}, Context())
    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}]
    assert queue.held == [("handle-m1", 240)]


def test_other_events_are_consumed_and_submitted_runs_succeed(
    app: tuple[ModuleType, InMemoryQueue, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, queue, _ = app
    monkeypatch.setattr(
        module, "submit_run", lambda d, dl, dp: SubmissionResult(SubmitOutcome.SUBMITTED, d.run_id)
    )
    records = [sqs_record("m1"), sqs_record("m2", "JobFailed")]
    response = module.handler({"Records": records}, Context())
    assert response["batchItemFailures"] == [] and queue.held == []


def test_records_are_not_started_near_the_deadline(
    app: tuple[ModuleType, InMemoryQueue, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, _ = app
    started: list[str] = []
    monkeypatch.setattr(
        module,
        "submit_run",
        lambda d, dl, dp: started.append(d.run_id) or SubmissionResult(SubmitOutcome.SUBMITTED, d.run_id),
    )
    response = module.handler({"Records": [sqs_record("m1"), sqs_record("m2")]}, Context(remaining_ms=5_000))
    assert started == [] and len(response["batchItemFailures"]) == 2
