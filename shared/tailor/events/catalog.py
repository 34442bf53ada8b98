"""detail-type → (source, model): the single table producers and consumers share."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tailor.events import models as m
from tailor.events.constants import DetailType, Source


@dataclass(frozen=True, slots=True)
class EventSpec:
    detail_type: DetailType
    source: Source
    model: type[m.EventData]
    description: str


CATALOG: dict[DetailType, EventSpec] = {
    spec.detail_type: spec
    for spec in (
        EventSpec(
            DetailType.DATASET_VALIDATED,
            Source.INGESTION,
            m.DatasetValidated,
            "A dataset passed every Nova rule; its run is ready for submission.",
        ),
        EventSpec(
            DetailType.DATASET_REJECTED,
            Source.INGESTION,
            m.DatasetRejected,
            "A dataset or job spec broke a rule; the report says where and how to fix it.",
        ),
        EventSpec(
            DetailType.JOB_SUBMITTED,
            Source.SUBMISSION,
            m.JobSubmitted,
            "A Bedrock model customization job was created for a run.",
        ),
        EventSpec(
            DetailType.JOB_SUBMISSION_FAILED,
            Source.SUBMISSION,
            m.JobSubmissionFailed,
            "Bedrock refused the job; retryable or not.",
        ),
        EventSpec(
            DetailType.JOB_STATUS_CHANGED,
            Source.STATUS,
            m.JobStatusChanged,
            "A customization job changed status (from Bedrock's event or the reconciling poll).",
        ),
        EventSpec(
            DetailType.JOB_COMPLETED,
            Source.STATUS,
            m.JobCompleted,
            "A customization job completed; carries the custom model ARN and loss metrics.",
        ),
        EventSpec(DetailType.JOB_FAILED, Source.STATUS, m.JobFailed, "A customization job failed."),
        EventSpec(DetailType.JOB_STOPPED, Source.STATUS, m.JobStopped, "A customization job was stopped."),
        EventSpec(
            DetailType.DEPLOYMENT_REQUESTED,
            Source.USER,
            m.DeploymentRequested,
            "Deploy a completed run's custom model on demand (put by tailor deploy).",
        ),
        EventSpec(
            DetailType.MODEL_DEPLOYED,
            Source.DEPLOYMENT,
            m.ModelDeployed,
            "An on-demand deployment is Active: invoke it with its deployment ARN as modelId.",
        ),
        EventSpec(
            DetailType.MODEL_DEPLOYMENT_FAILED,
            Source.DEPLOYMENT,
            m.ModelDeploymentFailed,
            "A deployment failed or was refused; the message says why and what to do instead.",
        ),
        EventSpec(
            DetailType.EDGE_EXPORT_REQUESTED,
            Source.USER,
            m.EdgeExportRequested,
            "Request an edge package for a run or a model URI.",
        ),
        EventSpec(
            DetailType.EDGE_PACKAGE_PUBLISHED,
            Source.EDGE,
            m.EdgePackagePublished,
            "A signed edge bundle was published and rolled out.",
        ),
        EventSpec(
            DetailType.EDGE_EXPORT_FAILED,
            Source.EDGE,
            m.EdgeExportFailed,
            "An edge export failed at the named stage.",
        ),
    )
}

_BY_MODEL: dict[type[BaseModel], EventSpec] = {spec.model: spec for spec in CATALOG.values()}


def model_for(detail_type: str) -> type[m.EventData]:
    """The data model of a detail-type; KeyError with the known names if unknown."""
    try:
        return CATALOG[DetailType(detail_type)].model
    except ValueError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown Tailor detail-type {detail_type!r}; known: {known}") from None


def spec_for_model(model: type[BaseModel]) -> EventSpec:
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise TypeError(f"{model.__name__} is not a Tailor event model (see tailor.events.catalog)") from None
