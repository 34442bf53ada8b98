"""Validator rules and messages (defect 10): schemaVersion, mixed media, truncated lines,
compressed uploads, the ``--json`` report's limit and a directory given to ``tailor validate``."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import typer
from ds_builders import codes, conversation, filler, image, msg, qa, run, video, warning_codes, write
from typer.testing import CliRunner

from tailor.cli.validate import validate
from tailor.datasets import DatasetSource, ValidationReport, validate_dataset
from tailor.datasets import parallel as parallel_scan
from tailor.datasets.fastpath import plain_text

FT = ["--technique", "fine-tuning", "--model", "nova-lite"]
app = typer.Typer(add_completion=False)
app.command()(validate)
runner = CliRunner()


def _parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel_scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel_scan, "MIN_RANGE_BYTES", 2_000)


def _comparable(report: ValidationReport) -> dict[str, object]:
    """The report without what only a sequential scan computes (a file's digest, if any)."""
    dump = report.model_dump()
    for entry in dump["files"]:
        entry.pop("sha256", None)
    return dump


# --- 1. schemaVersion "can be any string value" ----------------------------------------------------


def test_custom_schema_version_is_one_warning_not_an_error(tmp_path: Path) -> None:
    lines = filler(12)
    lines[3] = {**qa(3), "schemaVersion": "v2"}
    lines[7] = {**qa(7), "schemaVersion": "my-own-2025"}
    report = run(tmp_path, lines)
    assert report.valid, report.errors
    assert warning_codes(report) == {("schema", 4)}
    assert report.warning_counts == {"schema": 2}
    (warning,) = report.warnings
    assert "'v2'" in warning.message and "bedrock-conversation-2024" in warning.message
    assert warning.file == str(tmp_path / "train.jsonl")


@pytest.mark.parametrize("value", [2024, None, ["bedrock-conversation-2024"], {"v": 1}])
def test_non_string_schema_version_stays_an_error(tmp_path: Path, value: object) -> None:
    lines = filler(9)
    lines[4] = {**qa(4), "schemaVersion": value}
    report = run(tmp_path, lines)
    assert codes(report) == {("schema", 5)}
    assert "string" in report.errors[0].message


def test_fast_path_leaves_custom_schema_versions_to_the_thorough_path() -> None:
    documented = qa(1)
    assert plain_text(documented, False) is not None
    assert plain_text({**documented, "schemaVersion": "v2"}, False) is None


def test_custom_schema_version_parallel_matches_sequential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parallel(monkeypatch)
    lines = filler(300)
    for at in (40, 180, 290):
        lines[at] = {**qa(at), "schemaVersion": f"custom-{at}"}
    source = DatasetSource.local(write(tmp_path / "train.jsonl", lines))
    one = validate_dataset(source, technique="fine-tuning", model="nova-lite", workers=1)
    many = validate_dataset(source, technique="fine-tuning", model="nova-lite", workers=3)
    assert _comparable(many) == _comparable(one)
    assert one.valid and warning_codes(one) == {("schema", 41)} and one.warning_counts == {"schema": 3}


# --- 2. a dataset that mixes images and videos points at a line ------------------------------------


def _with_image(i: int) -> dict[str, object]:
    return conversation(msg("user", image(f"s3://data/img/{i}.png"), f"q{i}"), msg("assistant", f"a{i}"))


def _with_video(i: int) -> dict[str, object]:
    return conversation(msg("user", video(f"s3://data/vid/{i}.mp4"), f"q{i}"), msg("assistant", f"a{i}"))


def test_mixed_media_points_at_the_first_record_of_the_second_modality(tmp_path: Path) -> None:
    lines = [*filler(8), _with_image(1), _with_image(2), _with_video(3), _with_image(4), _with_video(5)]
    report = run(tmp_path, lines)
    assert codes(report) == {("mixed_media", 11)}
    (error,) = report.errors
    assert error.file == str(tmp_path / "train.jsonl")
    assert "line 9" in error.message and "line 11" in error.message

    videos_first = run(tmp_path, [*filler(8), _with_video(1), _with_image(2), _with_image(3)])
    assert codes(videos_first) == {("mixed_media", 10)}


def test_mixed_media_second_modality_in_the_validation_file(tmp_path: Path) -> None:
    report = run(tmp_path, [*filler(8), _with_image(1)], validation=[qa(50), _with_video(2)])
    assert codes(report) == {("mixed_media", 2)}
    assert report.errors[0].file == str(tmp_path / "val.jsonl")


def test_mixed_media_is_listed_even_past_the_detail_limit(tmp_path: Path) -> None:
    broken = [b"{broken"] * 120
    report = run(tmp_path, [*filler(8), *broken, _with_image(1), _with_video(2)])
    assert report.truncated and report.error_counts["mixed_media"] == 1
    assert [e.line for e in report.errors if e.code.value == "mixed_media"] == [8 + 120 + 2]


def test_mixed_media_parallel_matches_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _parallel(monkeypatch)
    lines = filler(300)
    lines[30] = _with_video(30)
    lines[250] = _with_image(250)
    source = DatasetSource.local(write(tmp_path / "train.jsonl", lines))
    one = validate_dataset(source, technique="fine-tuning", model="nova-lite", workers=1)
    many = validate_dataset(source, technique="fine-tuning", model="nova-lite", workers=3)
    assert _comparable(many) == _comparable(one)
    assert codes(one) == {("mixed_media", 251)}


# --- 3. a line cut off mid-object -----------------------------------------------------------------


TRUNCATED = b'{"messages": [{"role": "user"'


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""], ids=["newline", "crlf", "eof"])
def test_truncated_line_reports_where_the_json_ended(tmp_path: Path, ending: bytes) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in filler(8)) + TRUNCATED + ending)
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=1
    )
    assert codes(report) == {("json_invalid", 9)}
    (error,) = report.errors
    assert "column 30" in error.message, error.message  # just after the last character
    assert "column 1)" not in error.message
    assert "truncated" in error.message


def test_truncated_string_and_non_ascii_columns(tmp_path: Path) -> None:
    report = run(tmp_path, [*filler(8), '{"messages": "café', '{"é": x}'])
    by_line = {e.line: e.message for e in report.errors}
    assert "column 19" in by_line[9] and "truncated" in by_line[9]
    # Not truncated: the column of the bad character, counted in characters, and no such claim.
    assert "column 7" in by_line[10] and "truncated" not in by_line[10]


# --- 4. a compressed file uploaded as .jsonl ------------------------------------------------------


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.jsonl", data)
    return buffer.getvalue()


COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "gzip": (gzip.compress, "gunzip"),
    "zip": (_zip, "unzip"),
    "bzip2": (bz2.compress, "bunzip2"),
    "xz": (lzma.compress, "unxz"),
    # No zstd in the standard library: its frame magic and some bytes are what is sniffed.
    "zstd": (lambda data: b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 40, "zstd -d"),
}


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_compressed_file_is_one_error_and_not_scanned(tmp_path: Path, kind: str) -> None:
    compress, tool = COMPRESSORS[kind]
    plain = b"".join(orjson.dumps(r) + b"\n" for r in filler(50))
    path = tmp_path / "train.jsonl"
    path.write_bytes(compress(plain))
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=1
    )
    assert [(e.code.value, e.line) for e in report.errors] == [("file_compressed", None)]
    assert report.error_counts == {"file_compressed": 1} and not report.warnings
    message = report.errors[0].message + " " + report.errors[0].hint
    assert f"{kind}-compressed" in message and tool in message and "train.jsonl" in message
    assert report.files[0].records == 0


def test_compressed_file_parallel_scan_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _parallel(monkeypatch)
    plain = b"".join(orjson.dumps(r) + b"\n" for r in filler(2_000))
    path = tmp_path / "train.jsonl"
    path.write_bytes(gzip.compress(plain, compresslevel=1) + bytes(range(256)) * 400)
    report = validate_dataset(
        DatasetSource.local(path), technique="fine-tuning", model="nova-lite", workers=3
    )
    assert report.error_counts == {"file_compressed": 1} and not report.warnings


def test_compressed_validation_file_does_not_hide_the_training_file(tmp_path: Path) -> None:
    val = tmp_path / "val.jsonl"
    val.write_bytes(gzip.compress(b'{"text": "x"}\n'))
    train = write(tmp_path / "train.jsonl", [*filler(8), b"{broken"])
    report = validate_dataset(
        DatasetSource.local(train),
        technique="fine-tuning",
        model="nova-lite",
        validation=DatasetSource.local(val),
        workers=1,
    )
    assert codes(report) == {("file_compressed", None), ("json_invalid", 9)}


# --- 5. --json: what it holds, and a way to get everything -----------------------------------------


@pytest.fixture
def many_errors(tmp_path: Path) -> Path:
    return write(tmp_path / "train.jsonl", [*filler(10), *[b"{broken"] * 150])


def test_json_default_keeps_the_first_100_and_says_so(many_errors: Path) -> None:
    result = runner.invoke(app, [str(many_errors), *FT, "--json"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert len(report["errors"]) == 100 and report["error_counts"] == {"json_invalid": 150}
    assert report["truncated"] is True and report["detail_limit"] == 100


def test_json_all_errors_lists_every_issue(many_errors: Path) -> None:
    result = runner.invoke(app, [str(many_errors), *FT, "--json", "--all-errors"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert len(report["errors"]) == 150 and report["truncated"] is False
    assert report["detail_limit"] is None
    assert [e["line"] for e in report["errors"]] == list(range(11, 161))


def test_max_errors_sets_the_limit(many_errors: Path) -> None:
    result = runner.invoke(app, [str(many_errors), *FT, "--json", "--max-errors", "5"])
    report = orjson.loads(result.stdout)
    assert len(report["errors"]) == 5 and report["truncated"] is True and report["detail_limit"] == 5
    both = runner.invoke(app, [str(many_errors), *FT, "--max-errors", "5", "--all-errors"])
    assert both.exit_code == 2 and both.stderr.count("\n") == 1
    zero = runner.invoke(app, [str(many_errors), *FT, "--max-errors", "0"])
    assert zero.exit_code == 2 and "--max-errors" in zero.stderr


def test_human_output_says_how_to_see_every_issue(many_errors: Path) -> None:
    result = runner.invoke(app, [str(many_errors), *FT])
    assert result.exit_code == 1
    assert "--all-errors" in result.stdout and "full report" not in result.stdout


def test_help_text_says_what_json_holds() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=200)
    flat = " ".join(result.stdout.split())
    assert "first 100" in flat and "--all-errors" in flat
    assert "full report" not in flat


def test_all_errors_in_a_parallel_scan(many_errors: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _parallel(monkeypatch)
    report = validate_dataset(
        DatasetSource.local(many_errors),
        technique="fine-tuning",
        model="nova-lite",
        workers=3,
        max_details=None,
    )
    assert len(report.errors) == 150 and not report.truncated


# --- 6. a directory given to tailor validate -------------------------------------------------------


@pytest.mark.parametrize("label", ["TRAIN", "--validation"])
def test_directory_is_a_usage_error_that_says_what_to_pass(tmp_path: Path, label: str) -> None:
    folder = tmp_path / "support-bot"
    folder.mkdir()
    good = write(tmp_path / "train.jsonl", filler(10))
    args = [str(folder), *FT] if label == "TRAIN" else [str(good), "--validation", str(folder), *FT]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert "is a directory" in result.stderr and "no such file" not in result.stderr
    assert ".jsonl" in result.stderr and f"tailor submit {folder}" in result.stderr
    assert result.stderr.startswith(f"error: {label}: ")


def test_s3_folder_is_a_usage_error_that_says_what_to_pass() -> None:
    result = runner.invoke(app, ["s3://my-bucket/datasets/support-bot/", *FT])
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert "s3://my-bucket/datasets/support-bot/ is an S3 folder" in result.stderr
    assert ".jsonl" in result.stderr and "tailor submit" in result.stderr


def test_compressed_s3_object_is_one_error(tmp_path: Path) -> None:
    from tailor.adapters.object_store import InMemoryObjectStore

    store = InMemoryObjectStore()
    plain = b"".join(orjson.dumps(r) + b"\n" for r in filler(5_000))
    store.put_bytes("data", "datasets/support/train.jsonl", gzip.compress(plain))
    report = validate_dataset(
        DatasetSource.s3("data", "datasets/support/train.jsonl"),
        technique="fine-tuning",
        model="nova-lite",
        object_store=store,
    )
    assert [(e.code.value, e.file) for e in report.errors] == [
        ("file_compressed", "s3://data/datasets/support/train.jsonl")
    ]
    assert "gunzip -c train.jsonl > train.decompressed.jsonl" in report.errors[0].hint
