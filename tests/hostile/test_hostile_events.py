"""Hostile events: ``parse_event`` refuses anything that is not a well-formed Tailor event with a
``ValueError`` (pydantic's ``ValidationError`` is one) naming what is wrong, ignores extra fields,
and the SQS handlers turn every bad record into a failed batch item while the rest of the batch
goes on."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tailor.events.parse import parse_event

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "events"
STATUS = json.loads((SAMPLES / "JobStatusChanged.json").read_text())
VALIDATED = json.loads((SAMPLES / "DatasetValidated.json").read_text())
HUGE = "x" * (10 << 20)  # 10 MB, built once per module


def changed(mutate: Callable[[dict[str, Any]], object], sample: dict[str, Any] = STATUS) -> dict[str, Any]:
    event = copy.deepcopy(sample)
    mutate(event)
    return event


def deep_at(field: str, sample: dict[str, Any] = STATUS) -> str:
    """The sample as JSON text with ``detail.data[field]`` = 1000 nested arrays (too deep to build
    with json.dumps, within orjson's depth limit)."""
    event = changed(lambda e: e["detail"]["data"].__setitem__(field, "__DEEP__"), sample)
    return json.dumps(event).replace('"__DEEP__"', "[" * 1000 + "]" * 1000)


def nested_bodies(depth: int) -> str:
    """An SQS record whose body is a record whose body is ... (JSON text, within orjson's depth limit)."""
    return '{"body": ' * depth + "{}" + "}" * depth


# (id, raw event, pydantic error types expected at these locations)
INVALID_FIELDS: list[tuple[str, Any, list[tuple[str, tuple[str | int, ...]]]]] = [
    ("missing-detail", changed(lambda e: e.pop("detail")), [("missing", ("detail",))]),
    ("missing-id", changed(lambda e: e.pop("id")), [("missing", ("id",))]),
    ("missing-data", changed(lambda e: e["detail"].pop("data")), [("missing", ("detail", "data"))]),
    (
        "missing-metadata",
        changed(lambda e: e["detail"].pop("metadata")),
        [("missing", ("detail", "metadata"))],
    ),
    (
        "null-data",
        changed(lambda e: e["detail"].__setitem__("data", None)),
        [("model_type", ("detail", "data"))],
    ),
    ("null-detail", changed(lambda e: e.__setitem__("detail", None)), [("model_type", ("detail",))]),
    ("detail-a-string", changed(lambda e: e.__setitem__("detail", "{}")), [("model_type", ("detail",))]),
    (
        "time-not-a-time",
        changed(lambda e: e.__setitem__("time", "yesterday")),
        [("datetime_from_date_parsing", ("time",))],
    ),
    (
        "resources-a-string",
        changed(lambda e: e.__setitem__("resources", "arn")),
        [("list_type", ("resources",))],
    ),
    (
        "runId-a-list",
        changed(lambda e: e["detail"]["data"].__setitem__("runId", [1])),
        [("string_type", ("detail", "data", "runId"))],
    ),
    ("deep-runId", deep_at("runId"), [("string_type", ("detail", "data", "runId"))]),
    (
        "spec-null",
        changed(lambda e: e["detail"]["data"].__setitem__("spec", None), VALIDATED),
        [("model_type", ("detail", "data", "spec"))],
    ),
    (
        "createdAt-a-number-string",
        changed(lambda e: e["detail"]["metadata"].__setitem__("createdAt", "1e400")),
        [("datetime_from_date_parsing", ("detail", "metadata", "createdAt"))],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in INVALID_FIELDS], ids=[c[0] for c in INVALID_FIELDS]
)
def test_invalid_fields_are_a_validation_error_that_says_where(
    raw: Any, expected: list[tuple[str, tuple[str | int, ...]]]
) -> None:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    for form in (raw, text, {"messageId": "m1", "body": text}):
        with pytest.raises(ValidationError) as caught:
            parse_event(form)
        found = [(e["type"], tuple(e["loc"])) for e in caught.value.errors()]
        assert all(item in found for item in expected), found


# (id, raw, exception type, a needle of its message)
NOT_EVENTS: list[tuple[str, Any, type[ValueError], str]] = [
    ("no-detail-type", changed(lambda e: e.pop("detail-type")), ValueError, "no 'detail-type'"),
    (
        "detail-type-a-number",
        changed(lambda e: e.__setitem__("detail-type", 5)),
        ValueError,
        "no 'detail-type'",
    ),
    (
        "unknown-detail-type",
        changed(lambda e: e.__setitem__("detail-type", "$(rm -rf /)")),
        ValueError,
        "unknown Tailor detail-type",
    ),
    (
        "aws-s3-detail-type",
        changed(lambda e: e.__setitem__("detail-type", "Object Created")),
        ValueError,
        "unknown Tailor detail-type",
    ),
    ("a-json-array", [STATUS], ValueError, "must be a JSON object"),
    ("json-array-text", "[1, 2]", ValueError, "must be a JSON object"),
    ("json-null-text", "null", ValueError, "must be a JSON object"),
    ("non-json-text", "not json", orjson.JSONDecodeError, "invalid literal"),
    ("non-utf8-bytes", b"\xff\xfe{}", orjson.JSONDecodeError, "UTF-8"),
    ("empty-text", "", orjson.JSONDecodeError, "empty"),
    ("NaN-text", '{"detail-type": NaN}', orjson.JSONDecodeError, ""),
    ("10000-nested-arrays", "[" * 10_000 + "]" * 10_000, orjson.JSONDecodeError, "depth"),
    (
        "sqs-non-json-body",
        {"messageId": "m1", "body": "<html>502 Bad Gateway</html>"},
        orjson.JSONDecodeError,
        "",
    ),
    ("sqs-array-body", {"messageId": "m1", "body": "[1]"}, ValueError, "must be a JSON object"),
    ("sqs-empty-body", {"messageId": "m1", "body": ""}, orjson.JSONDecodeError, "empty"),
    ("sqs-body-without-detail-type", {"messageId": "m1", "body": "{}"}, ValueError, "no 'detail-type'"),
    ("900-nested-sqs-bodies", nested_bodies(900), ValueError, "'body' levels"),
]


@pytest.mark.parametrize(
    ("raw", "kind", "needle"), [c[1:] for c in NOT_EVENTS], ids=[c[0] for c in NOT_EVENTS]
)
def test_what_is_not_a_tailor_event_is_a_value_error(raw: Any, kind: type[ValueError], needle: str) -> None:
    with pytest.raises(kind) as caught:
        parse_event(raw)
    assert isinstance(caught.value, ValueError)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [{"messageId": "m1", "body": None}, {"messageId": "m1", "body": 5}],
    ids=["sqs-null-body", "sqs-number-body"],
)
def test_an_sqs_record_with_a_non_string_body_is_a_value_error(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_event(raw)


def test_1000_nested_sqs_bodies_are_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_event(nested_bodies(1000))


EXTRAS: list[tuple[str, dict[str, Any] | str]] = [
    ("extra-top-level-field", changed(lambda e: e.__setitem__("zzz", {"a": [1, 2]}))),
    ("extra-detail-field", changed(lambda e: e["detail"].__setitem__("fromTheFuture", True))),
    ("extra-metadata-field", changed(lambda e: e["detail"]["metadata"].__setitem__("traceId", "t"))),
    ("extra-data-field", changed(lambda e: e["detail"]["data"].__setitem__("newThing", {"x": None}))),
    ("10MB-extra-field", changed(lambda e: e["detail"]["data"].__setitem__("junk", HUGE))),
    ("deep-extra-field", deep_at("x")),
    (
        "injection-strings-in-values",
        changed(lambda e: e.__setitem__("resources", ["'; DROP TABLE", "<script>"])),
    ),
]


@pytest.mark.parametrize("raw", [c[1] for c in EXTRAS], ids=[c[0] for c in EXTRAS])
def test_extra_fields_are_ignored(raw: dict[str, Any] | str) -> None:
    event = parse_event(raw if isinstance(raw, str) else orjson.dumps(raw))
    assert event.detail_type == "JobStatusChanged"
    assert event.detail.data.run_id == STATUS["detail"]["data"]["runId"]
    assert "junk" not in event.detail.data.model_dump()


# --- the handlers: a bad record is a failed item, the batch goes on -----------------------------------


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", name)
    spec = importlib.util.spec_from_file_location(f"{name}_app_hostile", ROOT / f"services/{name}/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Context:
    function_name = "Function"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Function"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


def sqs(message_id: str, body: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1796029200000"},
        "eventSource": "aws:sqs",
    }


def s3_event(key: Any, bucket: str = "data") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e1",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-29T09:00:00Z",
        "region": "us-east-1",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1, "etag": "e"}},
    }


def test_the_ingestion_handler_fails_only_the_bad_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.adapters.bus import InMemoryPublisher
    from tailor.adapters.object_store import InMemoryObjectStore
    from tailor.adapters.runs import InMemoryRunStore
    from tailor.ingestion import IngestionDeps

    app = _load("ingestion", monkeypatch)
    deps = IngestionDeps(InMemoryObjectStore(), InMemoryRunStore(), InMemoryPublisher(), "artifacts")
    deps.objects.put_bytes("data", "datasets/x/job.json", b"{not json")
    monkeypatch.setattr(app, "_deps", lambda: deps)
    missing_object = s3_event("k")
    del missing_object["detail"]["object"]
    batch = {
        "Records": [
            sqs("non-json", "<html>502</html>"),
            sqs("empty", ""),
            sqs("array", [1, 2]),
            sqs("no-detail", {k: v for k, v in s3_event("k").items() if k != "detail"}),
            sqs("no-object", missing_object),
            sqs("null-key", s3_event(None)),
            sqs("key-a-list", s3_event(["datasets/x/job.json"])),
            sqs("unrelated-key", s3_event("other/x.csv")),
            sqs("huge-key", s3_event("other/" + "k" * (1 << 20))),
            sqs("good", {**s3_event("datasets/x/job.json"), "extra": {"ignored": True}}),
        ]
    }
    response = app.handler(batch, Context())
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert failed == [r["messageId"] for r in batch["Records"][:-1]]
    assert isinstance(deps.bus, InMemoryPublisher)
    assert [e["DetailType"] for e in deps.bus.entries] == ["DatasetRejected"]  # the good one: spec_invalid


def test_the_submission_handler_fails_unparseable_records_and_ignores_other_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tailor.adapters.bus import InMemoryPublisher
    from tailor.adapters.queue import InMemoryQueue
    from tailor.adapters.runs import InMemoryRunStore
    from tailor.jobs.pricing import price_table
    from tailor.submission.request import SubmissionSettings
    from tailor.submission.service import SubmissionDeps, SubmissionResult, SubmitOutcome

    app = _load("submission", monkeypatch)

    class Backend:
        name = "fake"

        def in_progress(self) -> int:
            return 0

    deps = SubmissionDeps(
        runs=InMemoryRunStore(),
        bus=InMemoryPublisher(),
        backends=(Backend(),),  # type: ignore[arg-type]
        settings=SubmissionSettings(role_arn="arn:aws:iam::123456789012:role/r", artifacts_bucket="a"),
        prices=price_table(),
    )
    monkeypatch.setattr(app, "_base_deps", lambda: (deps, InMemoryQueue()))
    submitted: list[str] = []

    def fake_submit(data: Any, delivery: Any, deps: Any) -> SubmissionResult:
        submitted.append(data.run_id)
        return SubmissionResult(SubmitOutcome.SUBMITTED, data.run_id)

    monkeypatch.setattr(app, "submit_run", fake_submit)
    batch = {
        "Records": [
            sqs("non-json", "not json"),
            sqs("unknown-type", changed(lambda e: e.__setitem__("detail-type", "Rm Rf"), VALIDATED)),
            sqs("null-data", changed(lambda e: e["detail"].__setitem__("data", None), VALIDATED)),
            sqs("missing-run", changed(lambda e: e["detail"]["data"].pop("runId"), VALIDATED)),
            sqs("nested-bodies", nested_bodies(1000)),  # parse_event's RecursionError: still one failed item
            sqs("other-event", STATUS),  # consumed, not submitted
            sqs("huge-extra", changed(lambda e: e["detail"]["data"].__setitem__("junk", HUGE), VALIDATED)),
        ]
    }
    response = app.handler(batch, Context())
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert failed == ["non-json", "unknown-type", "null-data", "missing-run", "nested-bodies"]
    assert submitted == [VALIDATED["detail"]["data"]["runId"]]
