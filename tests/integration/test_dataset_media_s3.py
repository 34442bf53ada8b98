"""Datasets and their media in S3 (moto): streaming reads, HEAD and ranged GETs of media."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from moto import mock_aws

from tailor.adapters.object_store import S3ObjectStore
from tailor.datasets import DatasetSource, validate_dataset

pytestmark = pytest.mark.integration

BUCKET = "tailor-data"


def _png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">II", width, height)
        + b"\x08\x06"
    )


def _gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 8


def _record(i: int, *media: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {"role": "user", "content": [*media, {"text": f"What is in picture {i}?"}]},
            {"role": "assistant", "content": [{"text": f"A cat, number {i}."}]},
        ],
    }


def _image(key: str, fmt: str = "png", bucket: str = BUCKET) -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": f"s3://{bucket}/{key}"}}}}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _upload(client: Any, key: str, records: list[dict[str, Any]]) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=b"".join(orjson.dumps(r) + b"\n" for r in records))


def test_media_checks_against_s3(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="media/ok.png", Body=_png(320, 240))
    s3.put_object(Bucket=BUCKET, Key="media/ok.gif", Body=_gif(64, 64))
    s3.put_object(Bucket=BUCKET, Key="media/small.png", Body=_png(16, 300))
    s3.put_object(Bucket=BUCKET, Key="media/gif-as-png.png", Body=_gif(64, 64))
    s3.put_object(Bucket=BUCKET, Key="media/huge.png", Body=_png(64, 64) + bytes(10 * 1024 * 1024))
    records = [_record(i, _image("media/ok.png")) for i in range(8)]
    records += [
        _record(100, _image("media/ok.gif", "gif")),  # 9: fine
        _record(101, _image("media/absent.png")),  # 10: missing
        _record(102, _image("media/small.png")),  # 11: below 25 px
        _record(103, _image("media/gif-as-png.png")),  # 12: content is GIF
        _record(104, _image("media/huge.png")),  # 13: over 10 MiB
        _record(105, _image("media/ok.png", bucket="someone-else")),  # 14: other bucket
    ]
    _upload(s3, "datasets/cats/train.jsonl", records)
    report = validate_dataset(
        DatasetSource.s3(BUCKET, "datasets/cats/train.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=S3ObjectStore(s3),
    )
    found = {(e.code.value, e.line) for e in report.errors}
    assert found == {
        ("media_location", 10),
        ("media_limit", 11),
        ("media_format", 12),
        ("media_limit", 13),
        ("media_location", 14),
    }, [e.model_dump() for e in report.errors]
    assert all(e.file == f"s3://{BUCKET}/datasets/cats/train.jsonl" for e in report.errors)
    assert report.records == 14


def test_s3_dataset_streams_in_chunks_with_default_store(s3: Any) -> None:
    records = [_record(i) for i in range(3000)]  # ~400 KB: several 64 KiB chunks
    _upload(s3, "inbox/fine-tuning/nova-pro/data.jsonl", records)
    report = validate_dataset(
        DatasetSource.parse(f"s3://{BUCKET}/inbox/fine-tuning/nova-pro/data.jsonl"),
        technique="fine-tuning",
        model="nova-pro",
    )
    assert report.valid, report.errors
    assert report.records == 3000 and report.files[0].bytes > 300_000


def test_missing_s3_dataset_is_a_report_not_a_crash(s3: Any) -> None:
    report = validate_dataset(
        DatasetSource.s3(BUCKET, "datasets/none/train.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=S3ObjectStore(s3),
    )
    assert [(e.code.value, e.line) for e in report.errors] == [("file_missing", None)]
