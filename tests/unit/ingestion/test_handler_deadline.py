"""The ingestion handler stops taking records before the Lambda deadline: records it did not
start are reported as failed items (retried later), never half-processed."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


class Context:
    function_name = "IngestionFunction"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IngestionFunction"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingestion")
    spec = importlib.util.spec_from_file_location(
        "ingestion_app_under_test", ROOT / "services/ingestion/app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def batch(n: int) -> dict[str, Any]:
    sample = json.loads((ROOT / "events/handlers/ingestion-sqs.json").read_text())
    record = sample["Records"][0]
    records = []
    for i in range(n):
        item = copy.deepcopy(record)
        item["messageId"] = f"m{i}"
        records.append(item)
    return {"Records": records}


@pytest.fixture
def started(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from tailor.adapters.bus import InMemoryPublisher
    from tailor.adapters.object_store import InMemoryObjectStore
    from tailor.adapters.runs import InMemoryRunStore
    from tailor.ingestion import IngestionDeps, IngestOutcome
    from tailor.ingestion.service import IngestResult

    keys: list[str] = []

    def fake_ingest(detail: Any, deps: Any) -> IngestResult:
        keys.append(detail.object.key)
        return IngestResult(IngestOutcome.VALIDATED, "run")

    deps = IngestionDeps(InMemoryObjectStore(), InMemoryRunStore(), InMemoryPublisher(), "artifacts")
    monkeypatch.setattr(app, "_deps", lambda: deps)
    monkeypatch.setattr(app, "ingest_object", fake_ingest)
    return keys


def test_records_are_not_started_when_the_deadline_is_near(app: ModuleType, started: list[str]) -> None:
    response = app.handler(batch(3), Context(remaining_ms=5_000))  # < the 20 s reserve
    assert started == []
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m0", "m1", "m2"]


def test_records_are_processed_when_there_is_time(app: ModuleType, started: list[str]) -> None:
    response = app.handler(batch(3), Context(remaining_ms=600_000))
    assert len(started) == 3 and response["batchItemFailures"] == []
