"""S3ObjectStore against moto: exact versions, error classes, server-side copies (multipart too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from tailor.adapters.object_store import ObjectNotFoundError, S3ObjectStore

pytestmark = pytest.mark.integration
BUCKET = "data"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def test_every_read_takes_a_version(s3: Any) -> None:
    store = S3ObjectStore(s3)
    v1 = store.put_bytes(BUCKET, "k", b"first version")
    store.put_bytes(BUCKET, "k", b"second")
    assert store.get_bytes(BUCKET, "k", version_id=v1.version_id) == b"first version"
    assert store.get_bytes(BUCKET, "k") == b"second"
    assert store.get_range(BUCKET, "k", 6, 7, version_id=v1.version_id) == b"version"
    assert b"".join(store.iter_chunks(BUCKET, "k", 4, version_id=v1.version_id)) == b"first version"
    head = store.head(BUCKET, "k", version_id=v1.version_id)
    assert head is not None and head.size == len(b"first version")


def test_a_deleted_key_keeps_its_versions_readable(s3: Any) -> None:
    store = S3ObjectStore(s3)
    v1 = store.put_bytes(BUCKET, "k", b"kept")
    s3.delete_object(Bucket=BUCKET, Key="k")  # a delete marker
    assert store.head(BUCKET, "k") is None
    assert store.get_bytes(BUCKET, "k", version_id=v1.version_id) == b"kept"


def test_missing_keys_and_versions_are_findings(s3: Any) -> None:
    store = S3ObjectStore(s3)
    store.put_bytes(BUCKET, "k", b"x")
    assert store.head(BUCKET, "nope") is None
    assert store.head(BUCKET, "k", version_id="3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY") is None
    with pytest.raises(ObjectNotFoundError):
        store.get_bytes(BUCKET, "nope")
    with pytest.raises(ObjectNotFoundError, match="version"):
        store.get_bytes(BUCKET, "k", version_id="3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")


def test_copy_takes_exactly_the_pinned_version(s3: Any) -> None:
    store = S3ObjectStore(s3)
    v1 = store.put_bytes(BUCKET, "train.jsonl", b'{"text": "validated"}\n')
    store.put_bytes(BUCKET, "train.jsonl", b'{"text": "uploaded later"}\n')
    copied = store.copy(v1, BUCKET, "snapshots/sha256/abc.jsonl")
    assert copied.size == v1.size
    assert store.get_bytes(BUCKET, "snapshots/sha256/abc.jsonl") == b'{"text": "validated"}\n'


def test_a_multipart_copy_keeps_the_bytes(s3: Any) -> None:
    store = S3ObjectStore(
        s3, transfer_config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    )
    body = bytes(range(256)) * (45 << 10)  # 11.25 MiB: three parts
    source = store.put_bytes(BUCKET, "big.jsonl", body)
    store.put_bytes(BUCKET, "big.jsonl", b"overwritten")
    store.copy(source, BUCKET, "snapshots/sha256/big.jsonl")
    assert store.get_bytes(BUCKET, "snapshots/sha256/big.jsonl") == body


def test_a_changed_object_is_not_copied(s3: Any) -> None:
    store = S3ObjectStore(s3)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    first = store.put_bytes(BUCKET, "u.jsonl", b"validated")
    store.put_bytes(BUCKET, "u.jsonl", b"changed since")  # unversioned: same key, new ETag
    with pytest.raises(Exception) as raised:
        store.copy(first, BUCKET, "snapshots/sha256/u.jsonl")
    assert not isinstance(raised.value, ObjectNotFoundError)  # transient: retried, then validated anew
    assert store.head(BUCKET, "snapshots/sha256/u.jsonl") is None
