"""The Tailor envelope (``detail = {metadata, data}``) and the EventBridge event around it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from tailor.events.base import WireModel

EVENT_VERSION = "1"
# Namespace for deterministic event ids: a re-published event keeps its id, so consumers can dedupe.
_EVENT_NAMESPACE = uuid.UUID("5f1d8f3e-7f5b-4c1e-9a59-3c2f6c1b7a10")

DataT = TypeVar("DataT", bound=BaseModel)
DetailT = TypeVar("DetailT")


class EventMetadata(WireModel):
    event_id: str
    event_version: str = EVENT_VERSION
    run_id: str | None = None
    correlation_id: str
    producer: str
    created_at: datetime


class TailorDetail(WireModel, Generic[DataT]):
    """``detail`` of every Tailor event."""

    metadata: EventMetadata
    data: DataT


class EventBridgeEvent(BaseModel, Generic[DetailT]):
    """An EventBridge event as delivered to a target (directly or as an SQS message body)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    id: str
    version: str = "0"
    account: str
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=list)
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: DetailT


def deterministic_event_id(detail_type: str, run_id: str | None, data: dict[str, Any]) -> str:
    """uuid5 over the event's identity: the same fact published twice carries the same id."""
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{detail_type}|{run_id or ''}|{body}"))


def new_detail(
    data: DataT,
    *,
    producer: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
    created_at: datetime | None = None,
) -> TailorDetail[DataT]:
    """Wrap ``data`` in the Tailor envelope. ``data`` must be one of the catalog models."""
    from tailor.events.catalog import spec_for_model

    spec = spec_for_model(type(data))
    run_id = getattr(data, "run_id", None)
    wire = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    metadata = EventMetadata(
        event_id=event_id or deterministic_event_id(spec.detail_type, run_id, wire),
        run_id=run_id,
        correlation_id=correlation_id or run_id or str(uuid.uuid4()),
        producer=producer,
        created_at=created_at or datetime.now(UTC),
    )
    # Parametrize with the concrete data model so serialization and schema use its fields.
    detail_model: type[TailorDetail[DataT]] = TailorDetail.__class_getitem__(type(data))  # type: ignore[assignment]
    return detail_model(metadata=metadata, data=data)
