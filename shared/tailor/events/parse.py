"""One parser for Tailor events, delivered by EventBridge directly or as an SQS message body."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import orjson

from tailor.events.catalog import model_for
from tailor.events.envelope import EventBridgeEvent, TailorDetail
from tailor.events.models import EventData

TailorEvent = EventBridgeEvent[TailorDetail[EventData]]


@cache
def _event_model(data_model: type[EventData]) -> type[EventBridgeEvent[Any]]:
    return EventBridgeEvent[TailorDetail[data_model]]  # type: ignore[valid-type]


# An SQS record holds the EventBridge event as its body: one level, at most a few (a redrive).
_MAX_BODY_NESTING = 4


def _as_event_dict(raw: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    for _ in range(_MAX_BODY_NESTING + 1):
        if isinstance(raw, str | bytes):
            raw = orjson.loads(raw)
        if not isinstance(raw, Mapping):
            raise ValueError("an event must be a JSON object")
        if "body" not in raw or "detail-type" in raw:
            return dict(raw)
        body = raw["body"]  # an SQS record: the event is its body
        if not isinstance(body, str | bytes | Mapping):
            raise ValueError(f"an SQS record's body must be the event's JSON, not {type(body).__name__}")
        raw = body
    raise ValueError(f"an event nested in more than {_MAX_BODY_NESTING} 'body' levels")


def parse_event(raw: Mapping[str, Any] | str | bytes) -> EventBridgeEvent[TailorDetail[Any]]:
    """Parse a Tailor event from an EventBridge event, an SQS record, or their JSON text.

    The detail-type picks the data model. Raises ``ValueError`` (pydantic's ``ValidationError`` is
    one) for anything that is not a well-formed Tailor event.
    """
    event = _as_event_dict(raw)
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str):
        raise ValueError("not an EventBridge event: no 'detail-type'")
    try:
        data_model = model_for(detail_type)
    except KeyError as error:
        raise ValueError(str(error)) from None
    return _event_model(data_model).model_validate(event)
