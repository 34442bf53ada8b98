"""The event catalog: every detail-type has a model, a schema on disk and a sample that parses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tailor.events import CATALOG, DetailType, model_for
from tailor.events.entries import to_put_events_entry
from tailor.events.envelope import new_detail
from tailor.events.models import DatasetFiles, DatasetRejected, EdgeExportRequested, IssueSummary
from tailor.events.parse import parse_event
from tailor.events.schemas import render_all

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "events" / "schemas"
SAMPLES = ROOT / "events"


def _rejected() -> DatasetRejected:
    return DatasetRejected(
        run_id="demo-0123456789abcdef0123",
        dataset=DatasetFiles(
            training_uri="s3://data/datasets/demo/train.jsonl",
            trigger_uri="s3://data/datasets/demo/job.json",
            trigger_version="v1",
        ),
        error_counts={"json_invalid": 1},
        errors=[
            IssueSummary(file="s3://data/datasets/demo/train.jsonl", line=3, code="json_invalid", message="x")
        ],
        report_uri="s3://artifacts/reports/demo-0123456789abcdef0123/validation.json",
    )


def test_every_detail_type_has_a_model() -> None:
    assert set(CATALOG) == set(DetailType)
    for detail_type in DetailType:
        assert model_for(detail_type.value) is CATALOG[detail_type].model


def test_unknown_detail_type_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="DatasetValidated"):
        model_for("Nope")


def test_checked_in_schemas_match_the_models() -> None:
    rendered = render_all()
    on_disk = {p.name for p in SCHEMAS.glob("*.json")}
    assert on_disk == set(rendered), "run `make schemas`"
    for name, body in rendered.items():
        assert (SCHEMAS / name).read_bytes() == body, f"{name} drifted from the models: run `make schemas`"


@pytest.mark.parametrize("detail_type", [d.value for d in DetailType])
def test_sample_event_parses_as_its_model(detail_type: str) -> None:
    sample = SAMPLES / f"{detail_type}.json"
    assert sample.is_file(), f"missing sample event {sample}"
    event = parse_event(sample.read_bytes())
    assert event.detail_type == detail_type
    assert event.source == CATALOG[DetailType(detail_type)].source.value
    assert isinstance(event.detail.data, CATALOG[DetailType(detail_type)].model)


def test_entry_round_trips_through_sqs_and_direct_delivery() -> None:
    detail = new_detail(_rejected(), producer="tailor.ingestion")
    entry = to_put_events_entry(detail, bus_name="bus")
    assert entry["Source"] == "tailor.ingestion" and entry["DetailType"] == "DatasetRejected"
    delivered = {
        "version": "0",
        "id": "e1",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-11-29T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": orjson.loads(entry["Detail"]),
    }
    direct = parse_event(delivered)
    via_sqs = parse_event({"messageId": "m1", "body": orjson.dumps(delivered).decode()})
    assert direct == via_sqs
    assert direct.detail.data == _rejected()
    assert direct.detail.metadata.run_id == "demo-0123456789abcdef0123"


def test_event_ids_are_deterministic_per_fact() -> None:
    first = new_detail(_rejected(), producer="p")
    again = new_detail(_rejected(), producer="p")
    assert first.metadata.event_id == again.metadata.event_id


def test_parse_rejects_garbage_clearly() -> None:
    with pytest.raises(ValueError, match="detail-type"):
        parse_event({"hello": "world"})
    with pytest.raises(ValueError, match="unknown Tailor detail-type"):
        parse_event({"detail-type": "Nope", "detail": {}})


def test_edge_export_request_needs_a_model() -> None:
    with pytest.raises(ValueError, match="runId or modelUri"):
        EdgeExportRequested(targets=["thinggroup/kiosks"])


def test_handler_input_sample_parses_as_an_s3_record() -> None:
    from tailor.events.aws import S3ObjectCreatedRecord

    sample = orjson.loads((SAMPLES / "handlers" / "ingestion-sqs.json").read_bytes())
    record = S3ObjectCreatedRecord.model_validate(sample["Records"][0])
    assert record.body.detail_type == "Object Created"
    assert record.body.detail.object.key == "datasets/support-bot/job.json"
    assert record.body.detail.object.version_id
    assert record.receive_count == 1


@pytest.mark.parametrize("detail_type", [d.value for d in DetailType])
def test_sample_event_validates_against_its_checked_in_schema(detail_type: str) -> None:
    """What a subscriber in another language would do with events/schemas/."""
    import jsonschema

    schema = orjson.loads((SCHEMAS / f"{detail_type}.json").read_bytes())
    sample = orjson.loads((SAMPLES / f"{detail_type}.json").read_bytes())
    jsonschema.validate(sample, schema)
    wrong = {**sample, "detail-type": "SomethingElse"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
