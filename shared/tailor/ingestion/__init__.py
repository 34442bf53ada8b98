"""Ingestion: an uploaded dataset becomes a validated (or rejected) run, with a report."""

from tailor.ingestion.service import IngestionDeps, IngestOutcome, ingest_object
from tailor.ingestion.triggers import (
    InboxTrigger,
    MisplacedTrigger,
    SpecTrigger,
    UnrelatedObjectError,
    classify_key,
)

__all__ = [
    "InboxTrigger",
    "IngestOutcome",
    "IngestionDeps",
    "MisplacedTrigger",
    "SpecTrigger",
    "UnrelatedObjectError",
    "classify_key",
    "ingest_object",
]
