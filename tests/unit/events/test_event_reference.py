"""docs/event-reference.md is generated from the catalog (tailor.events.reference): it must not drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.events import CATALOG, DetailType
from tailor.events.reference import data_fields, main, render

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "event-reference.md"
SAMPLES = ROOT / "events"


def test_checked_in_reference_matches_the_catalog() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(SAMPLES), (
        "docs/event-reference.md drifted from the event models or samples:"
        " run `.venv/bin/python -m tailor.events.reference docs/event-reference.md`"
    )


def test_every_detail_type_has_a_section_with_its_source_and_sample() -> None:
    text = render(SAMPLES)
    for detail_type in DetailType:
        spec = CATALOG[detail_type]
        section = text.split(f"\n## {detail_type.value}\n", 1)[1].split("\n## ", 1)[0]
        assert f"- source: `{spec.source.value}`" in section
        assert spec.description.split(";")[0] in section
        sample = json.loads((SAMPLES / f"{detail_type.value}.json").read_text(encoding="utf-8"))
        assert f'"detail-type": "{detail_type.value}"' in section
        assert sample["detail"]["metadata"]["eventId"] in section


@pytest.mark.parametrize("detail_type", list(DetailType))
def test_every_wire_field_is_listed(detail_type: DetailType) -> None:
    spec = CATALOG[detail_type]
    paths = {row.path for row in data_fields(spec)}
    wire = set(spec.model.model_json_schema(by_alias=True)["properties"])
    assert wire <= paths


def test_nested_fields_required_and_descriptions() -> None:
    rows = {r.path: r for r in data_fields(CATALOG[DetailType.DATASET_REJECTED])}
    assert rows["errors"].required and rows["errors"].type == "array of object (IssueSummary)"
    assert rows["errors"].description == "The first errors, with file and line."
    assert rows["errors[].code"].required and not rows["errors[].line"].required
    assert rows["truncated"].default == "false"
    validated = {r.path: r for r in data_fields(CATALOG[DetailType.DATASET_VALIDATED])}
    assert validated["dataset.snapshot"].type == "object (DatasetSnapshot) or null"
    assert "dataset.snapshot.training.sha256" in validated
    submitted = {r.path for r in data_fields(CATALOG[DetailType.JOB_SUBMITTED])}
    assert "estimate.pricePer1kTokens" in submitted  # the explicit alias, not to_camel's spelling
    changed = {r.path: r for r in data_fields(CATALOG[DetailType.JOB_STATUS_CHANGED])}
    assert changed["status"].type.startswith('one of "InProgress"')


def test_check_mode_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ref.md"
    assert main([str(out), "--samples", str(SAMPLES), "--check"]) == 1
    assert main([str(out), "--samples", str(SAMPLES)]) == 0
    assert main([str(out), "--samples", str(SAMPLES), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert main([str(out), "--samples", str(SAMPLES), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_a_missing_sample_is_said_plainly(tmp_path: Path) -> None:
    assert "_No sample: `events/JobFailed.json` is missing._" in render(tmp_path)
