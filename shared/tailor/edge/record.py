"""The export record: one per export (a model can be exported many times; an export by model URI
has no run). Its status only moves forward: REQUESTED → PACKAGED → PUBLISHED, or → FAILED."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tailor.jobs.run import utcnow_iso


class ExportStatus(StrEnum):
    REQUESTED = "REQUESTED"  # recorded: version number and source (exact S3 version) fixed
    PACKAGED = "PACKAGED"  # bundle, manifest and signature are in S3
    PUBLISHED = "PUBLISHED"  # the IoT Job exists; EdgePackagePublished
    FAILED = "FAILED"  # EdgeExportFailed


RANK: dict[ExportStatus, int] = {
    ExportStatus.REQUESTED: 0,
    ExportStatus.PACKAGED: 1,
    ExportStatus.PUBLISHED: 2,
    ExportStatus.FAILED: 2,
}
TERMINAL = frozenset({ExportStatus.PUBLISHED, ExportStatus.FAILED})


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ExportFacts(_Model):
    """Facts added as the export advances; a None field in an update is left alone."""

    manifest_uri: str | None = None
    manifest_sha256: str | None = None
    signature_uri: str | None = None
    recipe_uri: str | None = None
    bundle_uri: str | None = None
    manifest_size: int | None = None
    blobs: dict[str, int] | None = None  # sha256 → size: what the job document points at
    sizes: dict[str, int] | None = None
    fidelity: dict[str, Any] | None = None  # the worst profile's numbers (the event's ``fidelity``)
    iot_job_id: str | None = None
    cancelled_job_ids: list[str] | None = None
    stage: str | None = None
    error_code: str | None = None
    message: str | None = None
    hint: str | None = None
    details: dict[str, Any] | None = None

    def set_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ExportRecord(_Model):
    export_id: str
    status: ExportStatus = ExportStatus.REQUESTED
    created_at: str = Field(default_factory=utcnow_iso)
    updated_at: str = Field(default_factory=utcnow_iso)
    run_id: str | None = None
    teacher_model_id: str | None = None  # the run's teacher, read from its job.json when planned
    name: str
    version: str
    source_uri: str
    source_version: str | None = None
    golden_uri: str | None = None
    golden_version: str | None = None
    targets: list[str]
    profiles: list[str]
    quantize: str = "int8"
    # The gate and rollout as validated (tailor.jobs.spec FidelitySpec / RolloutSpec, camelCase).
    fidelity_gate: dict[str, float] = Field(default_factory=dict)
    rollout: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None  # the trigger's event id
    facts: ExportFacts = Field(default_factory=ExportFacts)
    published: bool = False  # the outcome event went out

    def item(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
