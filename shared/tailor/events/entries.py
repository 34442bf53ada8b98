"""Build PutEvents entries from Tailor details."""

from __future__ import annotations

from typing import Any

import orjson

from tailor.events.catalog import spec_for_model
from tailor.events.envelope import TailorDetail
from tailor.events.models import EventData


def to_put_events_entry(
    detail: TailorDetail[EventData] | TailorDetail[Any], *, bus_name: str, resources: list[str] | None = None
) -> dict[str, Any]:
    """A PutEvents ``Entries`` item: source and detail-type come from the catalog."""
    spec = spec_for_model(type(detail.data))
    entry: dict[str, Any] = {
        "EventBusName": bus_name,
        "Source": spec.source.value,
        "DetailType": spec.detail_type.value,
        "Detail": orjson.dumps(detail.to_wire()).decode(),
    }
    if resources:
        entry["Resources"] = resources
    return entry
