"""The run record: one per run, moved through ``tailor.jobs.state``."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tailor.jobs.state import RunStatus


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _RunModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class HistoryEntry(_RunModel):
    status: RunStatus
    at: str
    reason: str | None = None


class RunRecord(_RunModel):
    run_id: str
    status: RunStatus = RunStatus.RECEIVED
    label: str
    technique: str | None = None
    base_model_id: str | None = None
    trigger_uri: str
    created_at: str = Field(default_factory=utcnow_iso)
    updated_at: str = Field(default_factory=utcnow_iso)
    history: list[HistoryEntry] = Field(default_factory=list)
    # Free-form facts added along the way: reportUri, jobArn, outputModelArn, …
    attributes: dict[str, str] = Field(default_factory=dict)
    # Detail-types already put on the bus for this run (publish-once bookkeeping).
    published: list[str] = Field(default_factory=list)
