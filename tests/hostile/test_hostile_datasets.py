"""Hostile dataset files through the real validation engine (``validate_dataset``): every input is
a report with its specific code, never an exception, a hang or memory that grows with the file."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tailor.adapters.object_store import InMemoryObjectStore
from tailor.datasets import DatasetSource, ValidationReport, validate_dataset
from tailor.datasets.lines import MAX_LINE_BYTES

SCHEMA = "bedrock-conversation-2024"
BIG_LINE_BYTES = 100 << 20  # 100 MB on one line
# What the scan may hold of an over-long line: MAX_LINE_BYTES (64 MiB, the longest line it reads)
# plus slack for chunks. Bounded by design, and far below the file size.
MEMORY_BOUND = MAX_LINE_BYTES + (8 << 20)


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA,
        "messages": [
            {"role": "user", "content": [{"text": f"How do I reset password number {i}?"}]},
            {"role": "assistant", "content": [{"text": f"Open settings and choose reset ({i})."}]},
        ],
        **extra,
    }


def line(value: object) -> bytes:
    return orjson.dumps(value) + b"\n"


GOOD = b"".join(line(record(i)) for i in range(8))  # nova-lite fine-tuning needs 8 records


def image_record(uri: str, i: int = 0) -> dict[str, Any]:
    image = {"image": {"format": "png", "source": {"s3Location": {"uri": uri}}}}
    return {
        "schemaVersion": SCHEMA,
        "messages": [
            {"role": "user", "content": [{"text": f"What is in picture {i}?"}, image]},
            {"role": "assistant", "content": [{"text": "A cat."}]},
        ],
    }


def replaced(i: int, old: bytes, new: bytes) -> bytes:
    return line(record(i)).replace(old, new)


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("train.jsonl", data)
    return buffer.getvalue()


def many_messages(count: int) -> bytes:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": f"turn {i}"}]}
        for i in range(count)
    ]
    return line({"schemaVersion": SCHEMA, "messages": turns})


def validate(path: Path, *, technique: str = "fine-tuning", workers: int | None = 1) -> ValidationReport:
    return validate_dataset(
        DatasetSource.local(path), technique=technique, model="nova-lite", workers=workers
    )


def errors(report: ValidationReport) -> set[tuple[str, int | None]]:
    return {(issue.code.value, issue.line) for issue in report.errors}


def warnings(report: ValidationReport) -> set[tuple[str, int | None]]:
    return {(issue.code.value, issue.line) for issue in report.warnings}


DEEP_ITEM = (
    b'{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": '
    b'[{"text": "q"}]}, {"role": "assistant", "content": [{"text": "a", "x": '
    + b"[" * 1000
    + b"]" * 1000
    + b"}]}]}\n"
)
DEEP_TOP = line(record(50))[:-2] + b', "x": ' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}\n"
FT, CPT = "fine-tuning", "continued-pre-training"

# (id, file bytes, technique, expected errors, expected warnings)
CASES: list[tuple[str, bytes, str, set[tuple[str, int | None]], set[tuple[str, int | None]]]] = [
    ("empty-file", b"", FT, {("record_count", None)}, set()),
    ("only-blank-lines", b"\n\n   \n\t\n", FT, {("record_count", None)}, {("blank_line", 1)}),
    ("crlf-lines", GOOD.replace(b"\n", b"\r\n"), FT, set(), {("line_endings", 1)}),
    ("a-line-of-nul-bytes", GOOD + b"\x00\x00\x00\n", FT, {("json_invalid", 9)}, set()),
    (
        "a-raw-nul-in-a-string",
        GOOD + replaced(9, b"password", b"pass\x00word"),
        FT,
        {("json_invalid", 9)},
        set(),
    ),
    ("invalid-utf8", GOOD + b'{"messages": "\xff\xfe"}\n', FT, {("encoding", 9)}, set()),
    ("latin1-text", GOOD + replaced(9, b"reset", "rését".encode("latin-1")), FT, {("encoding", 9)}, set()),
    ("a-utf8-bom", b"\xef\xbb\xbf" + GOOD, FT, {("encoding", 1)}, set()),
    ("a-bom-mid-file", GOOD + b"\xef\xbb\xbf" + line(record(9)), FT, {("encoding", 9)}, set()),
    ("gzip-named-jsonl", gzip.compress(GOOD), FT, {("file_compressed", None)}, set()),
    ("zip-named-jsonl", zipped(GOOD), FT, {("file_compressed", None)}, set()),
    ("zstd-magic", b"\x28\xb5\x2f\xfd" + b"\x00" * 64, FT, {("file_compressed", None)}, set()),
    (
        "a-json-array",
        orjson.dumps([record(i) for i in range(8)]),
        FT,
        {("not_object", 1), ("record_count", None)},
        set(),
    ),
    (
        "scalars-per-line",
        b'1\n"s"\nnull\ntrue\n',
        FT,
        {("not_object", 1), ("not_object", 2), ("not_object", 3), ("not_object", 4), ("record_count", None)},
        set(),
    ),
    ("a-truncated-record", GOOD + line(record(9))[:40] + b"\n", FT, {("json_invalid", 9)}, set()),
    ("100k-messages", GOOD + many_messages(100_000), FT, {("token_limit", 9)}, set()),
    (
        "10000-nested-arrays",
        GOOD + b'{"messages": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n",
        FT,
        {("json_invalid", 9)},
        set(),
    ),
    ("1000-nested-arrays-in-an-item", GOOD + DEEP_ITEM, FT, {("schema", 9)}, set()),
    ("1000-nested-objects-at-the-top", GOOD + DEEP_TOP, FT, set(), {("schema", 9)}),
    ("1e400", GOOD + b'{"messages": 1e400}\n', FT, {("json_invalid", 9)}, set()),
    ("a-500-digit-integer", GOOD + b'{"messages": ' + b"9" * 500 + b"}\n", FT, {("json_invalid", 9)}, set()),
    (
        "media-in-two-buckets",
        GOOD + line(image_record("s3://a/x.png")) + line(image_record("s3://b/y.png", 1)),
        FT,
        {("media_location", 10)},
        set(),
    ),
    (
        "media-as-a-file-uri",
        GOOD + line(image_record("file:///etc/passwd")),
        FT,
        {("media_location", 9)},
        set(),
    ),
    (
        "media-over-https",
        GOOD + line(image_record("https://evil.example/x.png")),
        FT,
        {("media_location", 9)},
        set(),
    ),
    (
        "reserved-User:",
        GOOD + replaced(9, b"How do I", b"User: how do I"),
        FT,
        {("reserved_token", 9)},
        set(),
    ),
    (
        "reserved-<image>",
        GOOD + replaced(9, b"How do I", b"<image> how do I"),
        FT,
        {("reserved_token", 9)},
        set(),
    ),
    (
        "reserved-in-system",
        GOOD + line(record(9, system=[{"text": "System: obey"}])),
        FT,
        {("reserved_token", 9)},
        set(),
    ),
    (
        "reserved-[EOS]-from-the-assistant",
        GOOD + replaced(9, b"choose reset", b"done [EOS]"),
        FT,
        set(),
        {("reserved_token", 9)},
    ),
    ("cpt-raw-nul", b'{"text": "\x00"}\n', CPT, {("json_invalid", 1)}, set()),
    ("cpt-an-array", line([{"text": "a"}]), CPT, {("not_object", 1)}, set()),
    (
        "cpt-10000-nested-arrays",
        b'{"text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n",
        CPT,
        {("json_invalid", 1)},
        set(),
    ),
]


@pytest.mark.parametrize(
    ("data", "technique", "expected_errors", "expected_warnings"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_hostile_dataset_gets_its_code(
    tmp_path: Path,
    data: bytes,
    technique: str,
    expected_errors: set[tuple[str, int | None]],
    expected_warnings: set[tuple[str, int | None]],
) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(data)
    report = validate(path, technique=technique)
    assert errors(report) == expected_errors
    assert warnings(report) == expected_warnings
    assert report.valid is (not expected_errors)


@pytest.mark.parametrize(
    ("model", "technique", "code"),
    [("$(rm -rf /)", FT, "unsupported_model"), ("nova-lite", "'; DROP TABLE runs", "unsupported_technique")],
    ids=["shell-as-model", "sql-as-technique"],
)
def test_hostile_model_and_technique_names(tmp_path: Path, model: str, technique: str, code: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(GOOD)
    report = validate_dataset(DatasetSource.local(path), technique=technique, model=model, workers=1)
    assert errors(report) == {(code, None)}


def test_media_in_another_bucket_or_with_dotdot_in_s3(tmp_path: Path) -> None:
    """The ingestion path (an S3 dataset): media must sit in the dataset's bucket, and a key with
    '..' is only a key (S3 does not resolve it): it does not exist."""
    store = InMemoryObjectStore()
    body = (
        GOOD
        + line(image_record("s3://other-bucket/cat.png"))
        + line(image_record("s3://data/../../etc/passwd", 1))
        + line(image_record("s3://data/media/../cat.png", 2))
    )
    store.put_bytes("data", "datasets/x/train.jsonl", body)
    report = validate_dataset(
        DatasetSource.s3("data", "datasets/x/train.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=store,
    )
    assert errors(report) == {("media_location", 9), ("media_location", 10), ("media_location", 11)}
    by_line = {issue.line: issue.message for issue in report.errors}
    assert "bucket 'other-bucket'" in by_line[9]
    assert "does not exist" in by_line[10] and "does not exist" in by_line[11]


# --- a 100 MB single line: bounded memory ---------------------------------------------------------


@pytest.fixture(scope="module")
def big_line_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 100 MB line (a record whose text never ends), written once per module."""
    path = tmp_path_factory.mktemp("big") / "train.jsonl"
    block = b"x" * (1 << 20)
    with path.open("wb") as handle:
        handle.write(b'{"messages": [{"role": "user", "content": [{"text": "')
        for _ in range(BIG_LINE_BYTES >> 20):
            handle.write(block)
        handle.write(b'"}]}]}\n')
    return path


def _peak(run: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _assert_big_line_report(report: ValidationReport) -> None:
    assert ("line_too_long", 1) in errors(report)
    assert "record_count" in report.error_counts


def test_a_100mb_line_sequential_scan_has_bounded_memory(big_line_file: Path) -> None:
    report, peak = _peak(lambda: validate(big_line_file, workers=1))
    _assert_big_line_report(report)
    assert peak < MEMORY_BOUND < BIG_LINE_BYTES


class GeneratedStore(InMemoryObjectStore):
    """An S3 object streamed from a generator: 100 MB that never exist in memory at once."""

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = 1 << 20, version_id: str | None = None
    ) -> Iterator[bytes]:
        yield b'{"messages": [{"role": "user", "content": [{"text": "'
        block = b"y" * chunk_size
        for _ in range(BIG_LINE_BYTES // chunk_size):
            yield block
        yield b'"}]}]}\n'


def test_a_100mb_line_streamed_from_s3_has_bounded_memory() -> None:
    source = DatasetSource.s3("data", "datasets/big/train.jsonl")
    report, peak = _peak(
        lambda: validate_dataset(
            source, technique="fine-tuning", model="nova-lite", object_store=GeneratedStore()
        )
    )
    _assert_big_line_report(report)
    assert report.files[0].bytes > BIG_LINE_BYTES
    assert peak < MEMORY_BOUND


def test_a_100mb_line_parallel_scan_has_bounded_memory(big_line_file: Path) -> None:
    report, peak = _peak(lambda: validate(big_line_file, workers=4))
    _assert_big_line_report(report)
    assert peak < MEMORY_BOUND
