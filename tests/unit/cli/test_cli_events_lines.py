"""`tailor events` lines: time, detail-type, run id and a few words, tolerant of any event."""

from __future__ import annotations

from typing import Any

import pytest

from tailor.adapters.tail import tail_pattern
from tailor.cli.events import format_event


def _event(detail_type: str, data: dict[str, Any], run_id: str | None = "run-a") -> dict[str, Any]:
    return {
        "time": "2026-12-01T12:00:01Z",
        "source": "tailor.status",
        "detail-type": detail_type,
        "detail": {"metadata": {"runId": run_id}, "data": data},
    }


@pytest.mark.parametrize(
    ("detail_type", "data", "words"),
    [
        (
            "DatasetValidated",
            {"records": {"training": 10}, "tokenEstimate": 1234},
            "valid: 10 training records, ~1234 tokens",
        ),
        ("DatasetRejected", {"errorCounts": {"role_order": 2}}, "rejected: role_order x2"),
        ("JobSubmitted", {"jobName": "tailor-x"}, "job tailor-x"),
        ("JobSubmissionFailed", {"errorCode": "quota", "message": "later"}, "quota: later"),
        (
            "JobStatusChanged",
            {"previousStatus": "InProgress", "status": "Completed", "observedVia": "event"},
            "InProgress → Completed (event)",
        ),
        (
            "JobStatusChanged",
            {"status": "InProgress", "subTasks": {"training": "InProgress"}},
            "InProgress [training InProgress]",
        ),
        (
            "JobCompleted",
            {"outputModelArn": "arn:m", "trainingMetrics": {"finalLoss": 0.41234}},
            "model arn:m, training loss 0.4123",
        ),
        ("JobFailed", {"failureMessage": "Out of memory"}, "Out of memory"),
        ("JobStopped", {}, "stopped"),
        ("EdgeExportFailed", {"stage": "quantize", "error": "no"}, "quantize: no"),
    ],
)
def test_each_detail_type_has_its_words(detail_type: str, data: dict[str, Any], words: str) -> None:
    line = format_event(_event(detail_type, data))
    assert line.startswith("12:00:01  " + detail_type)
    assert "run-a" in line and line.endswith(words)


def test_an_unknown_or_odd_event_still_makes_a_line() -> None:
    assert format_event({}) == "--:--:--  ?                     -"
    odd = {"time": "x", "detail-type": "Later", "detail": {"metadata": "nope", "data": [1]}}
    assert format_event(odd) == "x  Later                 -"
    assert format_event(_event("Later", {"x": 1}, run_id=None)).endswith("Later                 -")


def test_the_rule_pattern() -> None:
    assert tail_pattern("run-a") == {
        "source": [{"prefix": "tailor."}],
        "detail": {"metadata": {"runId": ["run-a"]}},
    }
