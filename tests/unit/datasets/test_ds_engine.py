"""validate_dataset beyond single records: files, hygiene, S3 sources, parallel scans."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import orjson
import pytest
from ds_builders import codes, conversation, filler, image, msg, qa, run, video, warning_codes, write

from tailor.adapters.object_store import InMemoryObjectStore
from tailor.datasets import DatasetSource, validate_dataset
from tailor.datasets import parallel as parallel_scan


def test_validation_file_not_allowed_for_nova_2_lite(tmp_path: Path) -> None:
    report = run(tmp_path, filler(200), model="nova-2-lite", validation=filler(3))
    assert codes(report) == {("validation_not_allowed", None)}
    assert report.errors[0].file == str(tmp_path / "val.jsonl")
    assert [f.role for f in report.files] == ["training"]


def test_validation_file_not_allowed_for_distillation(tmp_path: Path) -> None:
    report = run(tmp_path, filler(100, "distillation"), technique="distillation", validation=filler(3))
    assert codes(report) == {("validation_not_allowed", None)}


def test_bom_is_an_error_but_the_rest_is_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [*filler(8), b"{oops"], prefix=b"\xef\xbb\xbf")
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=1
    )
    assert codes(report) == {("encoding", 1), ("json_invalid", 9)}


def test_bom_in_the_middle(tmp_path: Path) -> None:
    lines = [*filler(8), b"\xef\xbb\xbf" + orjson.dumps(qa(99))]
    report = run(tmp_path, lines)
    assert codes(report) == {("encoding", 9)}


def test_crlf_is_accepted_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", filler(8), newline=b"\r\n")
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=1
    )
    assert report.valid
    assert warning_codes(report) == {("line_endings", 1)}
    assert report.warning_counts == {"line_endings": 8}
    assert not report.truncated


def test_no_trailing_newline_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in filler(8)) + b"\n\n{bad")
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=1
    )
    assert codes(report) == {("json_invalid", 10)}
    assert warning_codes(report) == {("blank_line", 9)}
    assert report.records == 9


def test_file_extension_warning(tmp_path: Path) -> None:
    report = run(tmp_path, filler(8), name="train.json")
    assert report.valid
    assert warning_codes(report) == {("file_extension", None)}


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    missing = validate_dataset(
        DatasetSource.local(tmp_path / "nope.jsonl"), technique="fine-tuning", model="nova-lite"
    )
    assert codes(missing) == {("file_missing", None)}
    assert missing.files == []
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    unreadable = validate_dataset(DatasetSource.local(folder), technique="fine-tuning", model="nova-lite")
    assert codes(unreadable) == {("file_unreadable", None)}


def test_duplicates_across_files(tmp_path: Path) -> None:
    report = run(tmp_path, filler(8), validation=[qa(3)])
    assert warning_codes(report) == {("duplicate_record", 1)}
    assert "train.jsonl line 4" in report.warnings[0].message


def test_report_fields(tmp_path: Path) -> None:
    report = run(tmp_path, filler(10))
    assert report.valid and report.technique == "fine-tuning" and report.model == "amazon.nova-lite-v1:0:300k"
    assert report.records == 10 and report.files[0].records == 10 and report.files[0].bytes > 0
    assert 0 < report.token_estimate.max_per_record <= report.token_estimate.total
    dumped = orjson.loads(report.model_dump_json())
    assert set(dumped) == {
        "valid", "technique", "model", "files", "records", "token_estimate", "errors", "warnings",
        "error_counts", "warning_counts", "truncated", "detail_limit", "notes",
    }  # fmt: skip
    assert dumped["detail_limit"] == 100


def test_more_than_100_errors_are_counted_and_truncated(tmp_path: Path) -> None:
    report = run(tmp_path, [*filler(8), *[b"{" for _ in range(250)]])
    assert report.error_counts == {"json_invalid": 250}
    assert len(report.errors) == 100 and report.truncated
    assert report.errors[0].line == 9 and report.errors[-1].line == 108


def test_progress_reports_every_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", filler(50))
    seen: list[int] = []
    validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", progress=seen.append
    )
    assert sum(seen) == path.stat().st_size


def test_technique_names(tmp_path: Path) -> None:
    for name in ("FINE_TUNING", "fine_tuning", "Fine-Tuning"):
        assert run(tmp_path, filler(8), technique=name).technique == "fine-tuning"


# --- S3 sources through the in-memory object store ------------------------------------------------


def _png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">II", width, height)
        + b"\x08\x02"
    )


def _jsonl(records: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def test_s3_dataset_and_media_checks_in_memory() -> None:
    store = InMemoryObjectStore()
    store.put_bytes("data", "img/ok.png", _png(64, 64))
    store.put_bytes("data", "img/tiny.png", _png(10, 40))
    store.put_bytes("data", "img/really-jpeg.png", b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    store.put_bytes("data", "img/big.png", _png(64, 64) + b"\x00" * (10 * 1024 * 1024))
    records = [
        *filler(8),
        conversation(msg("user", image("s3://data/img/ok.png"), "q"), msg("assistant", "a")),  # 9
        conversation(msg("user", image("s3://data/img/missing.png"), "q"), msg("assistant", "a")),  # 10
        conversation(msg("user", image("s3://data/img/tiny.png"), "q"), msg("assistant", "a")),  # 11
        conversation(msg("user", image("s3://data/img/really-jpeg.png"), "q"), msg("assistant", "a")),  # 12
        conversation(msg("user", image("s3://data/img/big.png"), "q"), msg("assistant", "a")),  # 13
        conversation(msg("user", image("s3://other/img/ok.png"), "q"), msg("assistant", "a")),  # 14
    ]
    store.put_bytes("data", "datasets/x/train.jsonl", _jsonl(records))
    report = validate_dataset(
        DatasetSource.s3("data", "datasets/x/train.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=store,
    )
    assert codes(report) == {
        ("media_location", 10),
        ("media_limit", 11),
        ("media_format", 12),
        ("media_limit", 13),
        ("media_location", 14),
    }
    assert report.errors[0].file == "s3://data/datasets/x/train.jsonl"


def test_s3_missing_dataset_object() -> None:
    report = validate_dataset(
        DatasetSource.s3("data", "nope.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=InMemoryObjectStore(),
    )
    assert codes(report) == {("file_missing", None)}


def test_s3_video_container_families() -> None:
    store = InMemoryObjectStore()
    store.put_bytes("data", "v/a.mov", b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 16)
    store.put_bytes("data", "v/b.mkv", b"\x1a\x45\xdf\xa3" + b"\x00" * 8 + b"matroska")
    records = [
        *filler(8),
        conversation(msg("user", video("s3://data/v/a.mov", "mp4")), msg("assistant", "x")),  # same family
        conversation(msg("user", video("s3://data/v/b.mkv", "mp4")), msg("assistant", "x")),  # mismatch
    ]
    store.put_bytes("data", "t.jsonl", _jsonl(records))
    report = validate_dataset(
        DatasetSource.s3("data", "t.jsonl"), technique="fine-tuning", model="nova-pro", object_store=store
    )
    assert codes(report) == {("media_format", 10)}


# --- parallel scans give the sequential report -----------------------------------------------------


@pytest.mark.parametrize("technique", ["fine-tuning", "continued-pre-training"])
def test_parallel_scan_matches_sequential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, technique: str
) -> None:
    monkeypatch.setattr(parallel_scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel_scan, "MIN_RANGE_BYTES", 2_000)
    base = filler(300, technique)
    lines = []
    for i, record in enumerate(base):
        lines.append(record)
        if i % 37 == 5:
            lines.append(b"{broken")
        if i % 53 == 7:
            lines.append(b"")
        if i % 41 == 3:
            lines.append(base[i // 2])  # a duplicate, often of a line in an earlier range
    if technique == "fine-tuning":
        lines.append(conversation(msg("user", image("s3://a/x.png")), msg("assistant", "y")))
        lines.append(conversation(msg("user", image("s3://b/x.png")), msg("assistant", "y")))
    path = write(tmp_path / "train.jsonl", lines, prefix=b"\xef\xbb\xbf")
    source = DatasetSource.local(path)
    one = validate_dataset(source, technique=technique, model="nova-lite", workers=1)
    many = validate_dataset(source, technique=technique, model="nova-lite", workers=3)
    # Local files carry no digest (only S3 sources are snapshotted: ingestion's sha256 tests).
    assert one.files[0].sha256 is None and many.files[0].sha256 is None
    one_dump, many_dump = one.model_dump(), many.model_dump()
    for dump in (one_dump, many_dump):
        dump["files"][0].pop("sha256")
    assert many_dump == one_dump
    assert one.warning_counts["duplicate_record"] > 0 and one.error_counts["json_invalid"] > 0


def test_plan_ranges_start_at_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", filler(100))
    data = path.read_bytes()
    ranges = parallel_scan.plan_ranges(path, len(data), 7)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a < b for a, b in ranges)
    assert all(data[start - 1 : start] == b"\n" for start, _ in ranges[1:])
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(ranges))


def test_default_workers_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel_scan.ENV_WORKERS, "3")
    assert parallel_scan.default_workers() == 3
    monkeypatch.setenv(parallel_scan.ENV_WORKERS, "nonsense")
    assert parallel_scan.default_workers() == 1
