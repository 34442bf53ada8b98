"""The event catalog: every event that crosses a service boundary is a model here.

Producers and consumers import the same models. ``tailor.events.schemas`` exports them as JSON
Schema into ``events/schemas/`` (checked in; a test fails when they drift).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Lazy attributes: importing one submodule (e.g. tailor.events.aws in a handler) must not build
# every event model. Cold start is a feature.
_HOMES = {
    "CATALOG": "catalog",
    "EventSpec": "catalog",
    "model_for": "catalog",
    "DetailType": "constants",
    "Source": "constants",
    "EventBridgeEvent": "envelope",
    "EventMetadata": "envelope",
    "TailorDetail": "envelope",
    "new_detail": "envelope",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'tailor.events' has no attribute {name!r}")
    module = importlib.import_module(f"tailor.events.{_HOMES.get(name, 'models')}")
    return getattr(module, name)
