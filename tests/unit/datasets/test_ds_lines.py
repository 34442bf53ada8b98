"""LineBatcher: lines, numbers and hygiene whatever the chunk boundaries."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from tailor.datasets.codes import IssueCode
from tailor.datasets.cpt import CptChecker
from tailor.datasets.lines import BOM, LineBatcher, compressed_format, oversize_length
from tailor.datasets.report import IssueCollector


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read_all(batcher: LineBatcher) -> list[bytes]:
    lines: list[bytes] = []
    for stream in batcher.streams():
        lines.extend(stream)
        batcher.lines_done = len(lines)
    return lines


def expected_lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [p + b"\n" for p in parts]


line_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x"))


@settings(max_examples=60, deadline=None)
@given(st.lists(line_bytes, max_size=30), st.integers(min_value=1, max_value=64), st.booleans())
def test_lines_survive_any_chunking(lines: list[bytes], size: int, trailing: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    if data.startswith(BOM) or compressed_format(data) is not None:
        data = b"x" + data  # those starts have their own tests
    batcher = LineBatcher(chunked(data, size))
    assert read_all(batcher) == expected_lines(data)
    assert batcher.bytes_read == len(data)
    assert not batcher.had_bom


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=8))
def test_bom_split_over_tiny_chunks(size: int) -> None:
    data = BOM + b'{"text": "a"}\n{"text": "b"}\n'
    batcher = LineBatcher(chunked(data, size))
    assert read_all(batcher) == [b'{"text": "a"}\n', b'{"text": "b"}\n']
    assert batcher.had_bom


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=8), st.sampled_from([b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh91AY"]))
def test_compressed_start_split_over_tiny_chunks(size: int, magic: bytes) -> None:
    data = magic + b"\x00\n" * 50
    batcher = LineBatcher(chunked(data, size))
    assert read_all(batcher) == []
    assert batcher.compressed == compressed_format(magic) and batcher.compressed is not None
    later_part = LineBatcher(chunked(data, size), strip_bom=False)  # not a file's start: not sniffed
    assert read_all(later_part) == expected_lines(data) and later_part.compressed is None


def test_crlf_counted_once_per_line_across_chunks() -> None:
    data = b"a\r\nb\nc\r\nd\r\n"
    for size in range(1, len(data) + 1):
        batcher = LineBatcher(chunked(data, size))
        read_all(batcher)
        assert (batcher.cr_lines, batcher.first_cr_line) == (3, 1), size


def test_first_crlf_line_number() -> None:
    batcher = LineBatcher(chunked(b"a\nb\nc\r\n", 2))
    read_all(batcher)
    assert batcher.first_cr_line == 3


def test_oversize_lines_are_replaced_not_held() -> None:
    data = b"short\n" + b"y" * 500 + b"\nafter\n" + b"z" * 300
    batcher = LineBatcher(chunked(data, 16), max_line=100)
    lines = read_all(batcher)
    assert lines[0] == b"short\n" and lines[2] == b"after\n"
    assert [oversize_length(line) for line in lines] == [None, 500, None, 300]


def test_line_too_long_is_reported_at_its_line() -> None:
    data = b'{"text": "a"}\n' + b'{"text": "' + b"b" * 400 + b'"}\n{"text": "c"}\n'
    issues = IssueCollector()
    checker = CptChecker(issues, files=["f"])
    scan = checker.scan("f", LineBatcher(chunked(data, 32), max_line=200))
    assert [(row[2], row[1]) for row in issues.errors] == [(IssueCode.LINE_TOO_LONG, 2)]
    assert scan.records == 3
