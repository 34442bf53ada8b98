"""Consumers survive newer producers: every ``data`` model that crosses the bus ignores unknown
fields, and the spec carried in events has no catalog checks (an alias this consumer does not
know yet is not an error)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tailor.events.catalog import CATALOG
from tailor.events.parse import parse_event

SAMPLES = Path(__file__).resolve().parents[3] / "events"


# Free-form maps (name → value), not objects with fields: an extra entry there is data, not a field.
MAPS = frozenset({"hyperParameters", "tags", "warningCounts", "errorCounts", "rollout"})


def _with_extras(value: Any) -> Any:
    """Add an unknown field to every object, at every depth."""
    if isinstance(value, dict):
        fields = {k: v if k in MAPS else _with_extras(v) for k, v in value.items()}
        return {**fields, "fieldFromTheFuture": {"x": 1}}
    if isinstance(value, list):
        return [_with_extras(v) for v in value]
    return value


@pytest.mark.parametrize("detail_type", sorted(d.value for d in CATALOG))
def test_every_event_parses_with_unknown_fields_everywhere(detail_type: str) -> None:
    event = json.loads((SAMPLES / f"{detail_type}.json").read_text())
    event["detail"] = _with_extras(event["detail"])
    parsed = parse_event(event)
    assert parsed.detail.data.model_dump()  # parsed, the extras ignored


def test_validated_spec_with_a_new_model_alias_and_new_fields_parses() -> None:
    event = json.loads((SAMPLES / "DatasetValidated.json").read_text())
    spec = copy.deepcopy(event["detail"]["data"]["spec"])
    spec |= {
        "baseModel": "nova-5-ultra",  # unknown to this consumer's catalog
        "teacherModel": "nova-9-teacher",
        "technique": "reinforcement-fine-tuning",
        "hyperParameters": {"epochCount": 2, "newKnob": "auto"},
        "evaluation": {"suite": "support-v2"},  # a spec section added after this consumer shipped
    }
    event["detail"]["data"]["spec"] = spec
    data = parse_event(json.dumps(event)).detail.data
    assert data.spec.base_model == "nova-5-ultra"
    assert data.spec.model_extra == {"evaluation": {"suite": "support-v2"}}  # passed through, not lost


def test_an_sqs_delivered_event_with_extras_parses() -> None:
    event = json.loads((SAMPLES / "JobStatusChanged.json").read_text())
    event["detail"] = _with_extras(event["detail"])
    assert parse_event({"messageId": "m1", "body": json.dumps(event), "unknownSqsField": 1})
