"""The event catalog: every event that crosses a service boundary is a model here.

Producers and consumers import the same models. ``tailor.events.schemas`` exports them as JSON
Schema into ``events/schemas/`` (checked in; a test fails when they drift).
"""

from tailor.events.catalog import CATALOG, EventSpec, model_for
from tailor.events.constants import DetailType, Source
from tailor.events.envelope import EventBridgeEvent, EventMetadata, TailorDetail, new_detail
from tailor.events.models import (
    DatasetRejected,
    DatasetValidated,
    EdgeExportFailed,
    EdgeExportRequested,
    EdgePackagePublished,
    EventData,
    JobCompleted,
    JobFailed,
    JobStatusChanged,
    JobStopped,
    JobSubmissionFailed,
    JobSubmitted,
)

__all__ = [
    "CATALOG",
    "DatasetRejected",
    "DatasetValidated",
    "DetailType",
    "EdgeExportFailed",
    "EdgeExportRequested",
    "EdgePackagePublished",
    "EventBridgeEvent",
    "EventData",
    "EventMetadata",
    "EventSpec",
    "JobCompleted",
    "JobFailed",
    "JobStatusChanged",
    "JobStopped",
    "JobSubmissionFailed",
    "JobSubmitted",
    "Source",
    "TailorDetail",
    "model_for",
    "new_detail",
]
