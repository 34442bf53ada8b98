"""The run record: one per run, moved through ``tailor.jobs.state``."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tailor.events.models import DatasetSnapshot, LossMetrics, SubTaskStatuses
from tailor.jobs.state import RunStatus


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_source_time(moment: datetime | str | None) -> str | None:
    """A source's timestamp in the one form stored on runs (UTC, milliseconds, ``Z``), so that
    string order is time order."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _RunModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class HistoryEntry(_RunModel):
    status: RunStatus
    at: str
    reason: str | None = None


class RunFacts(_RunModel):
    """What is known about a run, one typed field per fact. Facts are only ever added or
    overwritten with a newer value; a field left None in an update is left alone."""

    report_uri: str | None = None
    spec_uri: str | None = None
    trigger_version: str | None = None
    # Content identity: sha256 over (dataset location, spec digest, data digests); see docs/runs.md.
    content_digest: str | None = None
    attempt: int | None = None
    previous_attempt: str | None = None
    next_attempt: str | None = None
    snapshot: DatasetSnapshot | None = None
    last_joined_upload: str | None = None
    # Submission.
    waiting_for_quota_since: str | None = None  # set while submissions are held by the job quota
    error_code: str | None = None  # why submission failed (JobSubmissionFailed.errorCode)
    estimated_usd: float | None = None
    output_uri: str | None = None
    # Filled by later services: submission, status, deployment.
    job_arn: str | None = None
    job_name: str | None = None
    custom_model_name: str | None = None
    output_model_arn: str | None = None
    output_model_name: str | None = None
    failure_message: str | None = None
    # Status: Bedrock's own view, as last observed.
    job_status: str | None = None  # InProgress | Completed | Failed | Stopping | Stopped
    # The status before the last change: a retried publish says the same previousStatus (same event id).
    previous_job_status: str | None = None
    sub_tasks: SubTaskStatuses | None = None
    last_observed_at: str | None = None
    observed_via: str | None = None  # event | poll
    training_metrics: LossMetrics | None = None
    validation_metrics: LossMetrics | None = None
    # Deployment: a fact about a completed run, beside its status (docs/deployment.md).
    deploy_on_demand: bool | None = None  # job.json asked for it: deploy once Completed
    deployment_attempt: int | None = None  # 1, then +1 for each new request after an undeploy/failure
    deployment_request_id: str | None = None  # the DeploymentRequested event that started it
    deployment_arn: str | None = None
    deployment_name: str | None = None
    deployment_status: str | None = None  # Creating | Active | Failed | Deleted
    deployment_error: str | None = None
    # Edge export: job.json has an edge section, so JobCompleted starts an export (docs/edge.md).
    edge_export: bool | None = None
    # The run's latest edge export (the export service records it when the export ends).
    edge_export_id: str | None = None
    edge_export_status: str | None = None  # PUBLISHED | FAILED
    edge_export_version: str | None = None

    def set_fields(self) -> dict[str, object]:
        """The facts this update sets, camelCase, JSON-ready."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RunRecord(_RunModel):
    run_id: str
    status: RunStatus = RunStatus.RECEIVED
    label: str
    technique: str | None = None
    base_model_id: str | None = None
    trigger_uri: str
    created_at: str = Field(default_factory=utcnow_iso)
    updated_at: str = Field(default_factory=utcnow_iso)
    # The newest source timestamp applied (e.g. Bedrock's lastModifiedTime): older inputs are stale.
    source_time: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    facts: RunFacts = Field(default_factory=RunFacts)
    # Uploads of identical content that joined this run instead of starting a second job.
    joined_uploads: int = 0
    # Detail-types already put on the bus for this run (publish-once bookkeeping).
    published: list[str] = Field(default_factory=list)

    @property
    def attributes(self) -> dict[str, str]:
        """The scalar facts as strings, camelCase (for display)."""
        return {k: str(v) for k, v in self.facts.set_fields().items() if not isinstance(v, dict)}
