"""Snapshots: the validated bytes of a data file, copied server-side to an immutable,
content-addressed key in the dataset's own bucket (media URIs inside the records must stay in that
bucket for Bedrock). Bedrock's ``s3Uri`` carries no version: the snapshot is what it is given, so a
data file re-uploaded after validation can never be trained unvalidated.

``snapshots/sha256/<hex>.jsonl`` is never overwritten: a copy whose key exists already (same
content, by construction) is skipped. The bucket's lifecycle rule expires only snapshots tagged
released, which no live run's snapshot is (see docs/runs.md).
"""

from __future__ import annotations

from tailor.adapters.object_store import ObjectInfo, ObjectStore
from tailor.events.models import SnapshotFile

SNAPSHOT_PREFIX = "snapshots/sha256/"


def snapshot_key(sha256: str) -> str:
    return f"{SNAPSHOT_PREFIX}{sha256}.jsonl"


def take_snapshot(objects: ObjectStore, source: ObjectInfo, sha256: str) -> SnapshotFile:
    """Copy exactly ``source`` (its version; refused if its ETag changed) unless the snapshot exists."""
    key = snapshot_key(sha256)
    existing = objects.head(source.bucket, key)
    if existing is None or existing.size != source.size:
        existing = objects.copy(source, source.bucket, key)
    return SnapshotFile(uri=f"s3://{source.bucket}/{key}", sha256=sha256, bytes=existing.size)
