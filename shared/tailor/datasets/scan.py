"""What every technique's scan shares: the error path of a line that did not parse, the
per-file hygiene warnings, duplicate detection and the file's tallies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from tailor.datasets.codes import IssueCode
from tailor.datasets.lines import BOM, LineBatcher, oversize_length
from tailor.datasets.report import IssueCollector

# Digests kept for duplicate detection. Fine-tuning data (<= 20,000 records) always fits; a CPT
# corpus is checked against its first DEDUPE_CAP records only (~30 MB at the cap).
DEDUPE_CAP = 200_000
MAX_PARTS = 32  # pieces of one file in a parallel scan (5 bits of a duplicate tag)


@dataclass(slots=True)
class FileScan:
    """Tallies of one file (or of one part of it, in a parallel scan)."""

    file: str
    records: int = 0
    blank_lines: int = 0
    first_blank: int | None = None
    bytes: int = 0
    had_bom: bool = False
    cr_lines: int = 0
    first_cr_line: int | None = None
    compressed: str | None = None  # gzip, zip, ...: the file was not scanned

    def finish(self, batcher: LineBatcher, first_line: int) -> None:
        self.records = batcher.lines_done - (first_line - 1) - self.blank_lines
        self.bytes = batcher.bytes_read
        self.had_bom = batcher.had_bom
        self.compressed = batcher.compressed
        self.cr_lines = batcher.cr_lines
        self.first_cr_line = batcher.first_cr_line

    def absorb(self, later: FileScan, offset: int) -> None:
        """Add the tallies of the next part of the same file, whose lines start after ``offset``."""
        self.records += later.records
        self.blank_lines += later.blank_lines
        if self.first_blank is None and later.first_blank is not None:
            self.first_blank = later.first_blank + offset
        self.bytes += later.bytes
        self.had_bom = self.had_bom or later.had_bom
        self.cr_lines += later.cr_lines
        if self.first_cr_line is None and later.first_cr_line is not None:
            self.first_cr_line = later.first_cr_line + offset
        self.compressed = self.compressed or later.compressed


class Deduper:
    """Exact duplicate lines across every file of the dataset, by a 64-bit digest of the raw line.

    Python's ``hash`` of bytes (SipHash) runs in C at GB/s; at 200,000 digests a false match has
    a probability near 1e-9, and duplicates only ever produce warnings. Digests map to a tag,
    ``line << 8 | part << 3 | file index``: ``part`` is the piece of a file that a parallel scan
    gave to one worker, whose lines are numbered from 1 until the parent knows the piece's
    offset; a worker (``part`` given) keeps its duplicates for the parent to report.
    """

    __slots__ = ("base_bits", "cap", "deferred", "deferred_count", "files", "offsets", "part", "seen")

    def __init__(self, files: list[str], cap: int = DEDUPE_CAP, part: int | None = None) -> None:
        self.cap = cap
        self.files = list(files)
        self.seen: dict[int, int] = {}
        self.part = part
        self.base_bits = 0  # a worker's: the low bits of its tags (it scans one part of one file)
        self.offsets = [0] * 256  # line offset of each (part, file): indexed by a tag's low bits
        self.deferred: list[tuple[int, int]] = []  # (tag, first tag): a worker's own duplicates
        self.deferred_count = 0

    def base(self, file: str) -> int:
        """The low bits of the tags of ``file``'s lines: tag = line * 256 + base."""
        self.base_bits = (self.part or 0) << 3 | self.files.index(file)
        return self.base_bits

    def remember(self) -> Callable[[int, int], int | None]:
        """The per-line call: ``remember(digest, tag)`` returns the tag stored for an earlier
        identical line (or ``tag`` itself when new). Past the cap it only looks up; consumers ask
        again per chunk, so the cap may be passed by one chunk's lines."""
        return self.seen.setdefault if len(self.seen) < self.cap else self.seen.get

    def where(self, tag: int) -> tuple[str, int]:
        return self.files[tag & 7], (tag >> 8) + self.offsets[tag & 0xFF]

    def report(self, issues: IssueCollector, tag: int, first: int) -> None:
        if self.part is not None:
            self.deferred_count += 1
            if len(self.deferred) < issues.limit:
                self.deferred.append((tag, first))
            return
        file, line = self.where(tag)
        first_file, first_line = self.where(first)
        place = f"line {first_line}" if first_file == file else f"{first_file} line {first_line}"
        issues.warning(IssueCode.DUPLICATE_RECORD, file, line, f"duplicate of the record at {place}")

    def absorb(self, part: Deduper, offset: int, issues: IssueCollector, *, last: bool = False) -> None:
        """Merge a worker's digests (its lines start after ``offset``), reporting duplicates.
        ``last``: no part follows, so its digests need not be kept."""
        if part.part is None:
            raise ValueError("only a worker's Deduper (part given) can be merged")
        self.offsets[part.base_bits] = offset
        for tag, first in part.deferred:
            self.report(issues, tag, first)
        issues.count_only("warning", IssueCode.DUPLICATE_RECORD, part.deferred_count - len(part.deferred))
        theirs = part.seen
        if not self.seen:  # the first part: adopt its digests, no copy
            self.seen = theirs
            return
        for digest in theirs.keys() & self.seen.keys():  # set algebra in C: only repeats loop here
            self.report(issues, theirs.pop(digest), self.seen[digest])
        if last:
            return
        room = self.cap - len(self.seen)
        if len(theirs) > room:
            theirs = dict(islice(theirs.items(), max(room, 0)))
        self.seen.update(theirs)


def bad_line(
    line: bytes,
    number: int,
    error: ValueError,
    batcher: LineBatcher,
    issues: IssueCollector,
    file: str,
) -> bool:
    """Report a line that did not parse as JSON. Returns True for a blank line (not a record)."""
    if not line.strip():
        return True
    size = oversize_length(line)
    if size is not None:
        issues.error(
            IssueCode.LINE_TOO_LONG,
            file,
            number,
            f"line is {size:,} bytes long; Tailor reads lines up to {batcher.max_line:,} bytes",
        )
        return False
    if line.startswith(BOM):
        issues.error(
            IssueCode.ENCODING,
            file,
            number,
            "a UTF-8 byte-order mark in the middle of the file (were files concatenated?)",
            "remove the byte-order mark (EF BB BF) at the start of this line",
        )
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        issues.error(
            IssueCode.ENCODING,
            file,
            number,
            f"byte 0x{line[bad.start]:02x} at byte {bad.start + 1} of the line is not valid UTF-8",
        )
        return False
    message = getattr(error, "msg", str(error))
    pos = getattr(error, "pos", None)  # in characters of the decoded line
    doc = getattr(error, "doc", None)
    if type(pos) is int and type(doc) is str:
        # The parser's own column is past the newline (line 2, column 1) when the line ends early:
        # count from the line's last character instead.
        end = len(doc.rstrip(" \t\r\n"))
        if pos >= end:
            issues.error(
                IssueCode.JSON_INVALID,
                file,
                number,
                f"not valid JSON: the line ends at column {end + 1} before the JSON is complete "
                f"({message}): it looks truncated",
                "the record was cut off: write each record whole, on one line (a newline inside "
                "a string must be written \\n; a pretty-printed object spans several lines)",
            )
            return False
        where = f" (column {pos + 1})"
    else:
        column = getattr(error, "colno", None)
        where = f" (column {column})" if column else ""
    issues.error(IssueCode.JSON_INVALID, file, number, f"not valid JSON: {message}{where}")
    return False


# How to decompress each format in place of a file named NAME (whatever its suffix).
_DECOMPRESS = {
    "gzip": "gunzip -c {name} > {plain}",
    "zip": "unzip -p {name} > {plain}",  # to stdout: extracting could overwrite the archive itself
    "zstd": "zstd -d -c {name} > {plain}",
    "bzip2": "bunzip2 -c {name} > {plain}",
    "xz": "unxz -c {name} > {plain}",
}


def hygiene_warnings(scan: FileScan, issues: IssueCollector) -> None:
    """Once-per-file observations, reported after the file is read."""
    if scan.compressed is not None:
        # One error, not one per line: nothing in an archive is JSON Lines.
        import shlex  # rare path: not paid at import (Lambda cold start)

        name = scan.file.rsplit("/", 1)[-1]
        plain = name.removesuffix(".jsonl") + ".decompressed.jsonl"
        command = _DECOMPRESS[scan.compressed].format(name=shlex.quote(name), plain=shlex.quote(plain))
        issues.error(
            IssueCode.FILE_COMPRESSED,
            scan.file,
            None,
            f"{name} is {scan.compressed}-compressed, not JSON Lines: it was not checked further",
            f"decompress it ({command}) and upload the .jsonl",
        )
        return
    if scan.had_bom:
        # Python's json (and so, likely, the training job's reader) rejects a BOM: an error.
        issues.error(
            IssueCode.ENCODING,
            scan.file,
            1,
            "the file starts with a UTF-8 byte-order mark",
            "save the file as UTF-8 without BOM (Tailor ignored it to check the rest)",
        )
    if scan.cr_lines:
        issues.warning(
            IssueCode.LINE_ENDINGS,
            scan.file,
            scan.first_cr_line,
            f"{scan.cr_lines:,} line(s) end with CRLF (Windows line endings); accepted",
            count=scan.cr_lines,
        )
    if scan.blank_lines:
        issues.warning(
            IssueCode.BLANK_LINE,
            scan.file,
            scan.first_blank,
            f"{scan.blank_lines:,} blank line(s) skipped (not counted as records)",
            count=scan.blank_lines,
        )


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
