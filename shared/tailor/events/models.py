"""One model per Tailor detail-type: the ``data`` part of ``detail``.

Field names are snake_case in Python and camelCase on the wire (see ``WireModel``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from tailor.events.base import WireModel


class EventData(WireModel):
    """Base of every detail ``data`` model."""


# --- ingestion -------------------------------------------------------------------------------


class SnapshotFile(WireModel):
    """An immutable, content-addressed copy of exactly the bytes that were validated."""

    uri: str
    sha256: str
    bytes: int


class DatasetSnapshot(WireModel):
    """What Bedrock is given: never the user's key, which can be overwritten after validation."""

    training: SnapshotFile
    validation: SnapshotFile | None = None


class DatasetFiles(WireModel):
    # Where the user put the data (for people); Bedrock is given ``snapshot``.
    training_uri: str
    validation_uri: str | None = None
    spec_uri: str | None = None
    # The object that triggered the run and the exact version that was read.
    trigger_uri: str
    trigger_version: str
    # Version ids of the data files as validated (None on an unversioned bucket).
    training_version: str | None = None
    validation_version: str | None = None
    snapshot: DatasetSnapshot | None = None


class EdgeSpecData(WireModel):
    model: str
    targets: list[str] = Field(default_factory=list)
    name: str | None = None
    golden: str | None = None
    profiles: list[str] = Field(default_factory=list)
    quantize: str = "int8"
    fidelity: dict[str, Any] = Field(default_factory=dict)
    rollout: dict[str, Any] = Field(default_factory=dict)


class BudgetData(WireModel):
    """``budget`` of the job spec as carried in events (tolerant, like JobSpecData)."""

    max_training_cost_usd: float | None = None


class DeployData(WireModel):
    on_demand: bool = False


class JobSpecData(WireModel):
    """The job spec as carried in events: the wire model, not ``tailor.jobs.spec.JobSpec``.

    No catalog checks and no strictness (the producer already validated it): a consumer must not
    fail on a model alias it does not know yet or on a spec field added after it was deployed.
    Unknown fields are kept (``extra="allow"``) so that a newer producer's fields pass through.
    """

    model_config = ConfigDict(extra="allow")

    spec_version: str = "1"
    technique: str
    base_model: str
    teacher_model: str | None = None
    training: str = "train.jsonl"
    validation: str | None = None
    hyper_parameters: dict[str, int | float | str] = Field(default_factory=dict)
    custom_model_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    edge: EdgeSpecData | None = None
    budget: BudgetData | None = None
    deploy: DeployData | None = None


class RecordCounts(WireModel):
    training: int
    validation: int = 0


class IssueSummary(WireModel):
    """One validation error as carried in events (the full list is in the report)."""

    file: str | None = None
    line: int | None = None
    code: str
    message: str
    hint: str | None = None


class DatasetValidated(EventData):
    run_id: str
    spec: JobSpecData
    base_model_id: str
    dataset: DatasetFiles
    records: RecordCounts
    token_estimate: int
    report_uri: str
    warning_counts: dict[str, int] = Field(default_factory=dict)


class DatasetRejected(EventData):
    run_id: str
    dataset: DatasetFiles
    error_counts: dict[str, int]
    errors: list[IssueSummary] = Field(description="The first errors, with file and line.")
    truncated: bool = False
    report_uri: str


# --- submission ------------------------------------------------------------------------------


class CostEstimate(WireModel):
    """What a run's training is expected to cost, before anything is spent (tailor.jobs.pricing).

    ``estimated_usd`` covers training only (tokens x epochs x the price); for distillation the
    teacher's inference on the prompts is billed too and ``teacher_usd`` is None when unknown.
    """

    training_tokens: int
    epochs: int
    # The issue's spelling on the wire (to_camel would give "pricePer1KTokens").
    price_per_1k_tokens: float | None = Field(default=None, alias="pricePer1kTokens")  # None: unknown
    estimated_usd: float | None = None
    teacher_usd: float | None = None
    price_source: str
    price_as_of: str | None = None
    notes: list[str] = Field(default_factory=list)


class JobSubmitted(EventData):
    run_id: str
    job_arn: str
    job_name: str
    custom_model_name: str
    technique: str
    base_model_id: str
    teacher_model_id: str | None = None
    output_uri: str | None = None
    estimate: CostEstimate | None = None


class JobSubmissionFailed(EventData):
    run_id: str
    error_code: str
    message: str
    retryable: bool
    hint: str | None = None
    estimate: CostEstimate | None = None


# --- status ----------------------------------------------------------------------------------

JobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


class SubTaskStatuses(WireModel):
    validation: str | None = None
    data_processing: str | None = None
    training: str | None = None


class JobStatusChanged(EventData):
    run_id: str
    job_arn: str
    previous_status: JobStatus | None = None
    status: JobStatus
    sub_tasks: SubTaskStatuses = Field(default_factory=SubTaskStatuses)
    observed_via: Literal["event", "poll"] = "event"


class MetricPoint(WireModel):
    step: int
    epoch: int | None = None
    loss: float
    perplexity: float | None = None


class LossMetrics(WireModel):
    """A loss curve read from a job's metrics CSV (``step_wise_training_metrics.csv`` or
    ``validation_metrics.csv``, found by listing the output prefix)."""

    final_loss: float | None = None
    best_loss: float | None = None
    best_step: int | None = None
    steps: int | None = None  # the last step number
    epochs: int | None = None  # the last epoch number
    points: int = 0
    last: MetricPoint | None = None
    csv_uri: str | None = None
    # The curve itself, thinned to at most 200 points (for `tailor status` and `tailor metrics`).
    curve: list[MetricPoint] = Field(default_factory=list)


class JobCompleted(EventData):
    run_id: str
    job_arn: str
    output_model_arn: str
    output_model_name: str | None = None
    training_metrics: LossMetrics = Field(default_factory=LossMetrics)
    validation_metrics: LossMetrics | None = None
    end_time: datetime | None = None
    backend: str | None = Field(
        default=None, description="Where the job ran: bedrock or sagemaker-hyperpod (absent: bedrock)."
    )
    requires_provisioned_throughput: bool = Field(
        default=False,
        description="A full-rank model (HyperPod continued pre-training): Bedrock serves it only "
        "with Provisioned Throughput, not on demand.",
    )
    note: str | None = Field(default=None, description="What a person should know about the model.")


class JobFailed(EventData):
    run_id: str
    job_arn: str
    failure_message: str
    end_time: datetime | None = None


class JobStopped(EventData):
    run_id: str
    job_arn: str
    failure_message: str | None = None
    end_time: datetime | None = None


# --- deployment ------------------------------------------------------------------------------


class DeploymentRequested(EventData):
    """Put by ``tailor deploy RUN`` (or anyone): deploy a completed run's model on demand."""

    run_id: str
    requested_by: str | None = None


class ModelDeployed(EventData):
    run_id: str
    custom_model_arn: str
    deployment_arn: str = Field(description="The modelId to invoke (Converse / InvokeModel).")
    deployment_name: str


class ModelDeploymentFailed(EventData):
    run_id: str
    custom_model_arn: str | None = None
    error_code: str
    message: str
    retryable: bool = False
    hint: str | None = None


# --- edge ------------------------------------------------------------------------------------


class EdgeExportRequested(EventData):
    """Put by users or the CLI (``tailor export``): export a compact open model for a run or a model URI."""

    # Idempotency key chosen by the requester (the CLI prints it); else the event id is used.
    export_id: str | None = None
    run_id: str | None = None
    model_uri: str | None = None
    # The exact S3 version of ``model_uri`` (the CLI resolves it): what is read is what was named.
    model_version: str | None = None
    # Golden inputs shipped with the model (JSON); default: ``golden.json`` beside it, if present.
    golden_uri: str | None = None
    name: str | None = None
    targets: list[str] = Field(min_length=1)
    # Empty / absent: the run's job.json edge section says, else linux-x86_64 and int8.
    profiles: list[str] = Field(default_factory=list)
    quantize: Literal["int8", "none"] | None = None
    # Overrides of the spec's edge.fidelity / edge.rollout fields (camelCase); unknown keys are refused.
    fidelity: dict[str, Any] = Field(default_factory=dict)
    rollout: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_a_model(self) -> EdgeExportRequested:
        if not self.run_id and not self.model_uri:
            raise ValueError("EdgeExportRequested needs runId or modelUri")
        return self


class BundleSizes(WireModel):
    source_bytes: int
    model_bytes: int
    bundle_bytes: int


class Fidelity(WireModel):
    metric: str
    value: float
    threshold: float
    passed: bool
    cosine: float | None = None
    argmax_agreement: float | None = None
    profile: str | None = None


class EdgePackagePublished(EventData):
    export_id: str | None = None
    run_id: str | None = None
    name: str | None = None
    version: str | None = None
    bundle_uri: str
    manifest_uri: str | None = None
    signature_uri: str | None = None
    greengrass_recipe_uri: str | None = None
    manifest_digest: str
    sizes: BundleSizes
    # The worst profile's numbers; every profile's are in the manifest.
    fidelity: Fidelity
    profiles: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    iot_job_ids: list[str] = Field(default_factory=list)
    # The previous continuous job for the same model and targets, cancelled by this rollout.
    cancelled_job_ids: list[str] = Field(default_factory=list)


class EdgeExportFailed(EventData):
    export_id: str | None = None
    run_id: str | None = None
    stage: str
    error: str
    error_code: str | None = None
    hint: str | None = None
    # Measured numbers (e.g. fidelity per profile) when the failure is about them.
    details: dict[str, Any] = Field(default_factory=dict)
