"""Continued pre-training corpora: every line exactly ``{"text": "<non-empty string>"}``.

Corpora run to gigabytes, so the loop below is the whole per-line cost: one ``orjson.loads``, a
few type checks, a length, a digest. Anything unusual leaves the loop for ``_slow``.
"""

from __future__ import annotations

from typing import Any

import orjson

from tailor.datasets.codes import IssueCode
from tailor.datasets.lines import LineBatcher
from tailor.datasets.report import IssueCollector
from tailor.datasets.scan import Deduper, FileScan, bad_line, json_type

_HINT = 'each line must be exactly {"text": "<non-empty string>"}'


class CptChecker:
    def __init__(self, issues: IssueCollector, *, files: list[str], part: int | None = None) -> None:
        self.issues = issues
        self.dedupe = Deduper(files, part=part)
        self.tokens_total = 0
        self.tokens_max = 0

    def scan(self, file: str, batcher: LineBatcher, first_line: int = 1) -> FileScan:
        """Check every line the batcher yields; ``first_line`` is the number of the first one."""
        # The loop mirrors ConversationChecker.scan on purpose: a shared loop with a per-record
        # callback costs a Python call per line, measurable at ~800 MB/s (benchmarks/README.md).
        result = FileScan(file=file)
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        dedupe = self.dedupe
        base = dedupe.base(file)
        total = 0
        largest = 0
        number = batcher.lines_done = first_line - 1
        for stream in batcher.streams():
            remember = dedupe.remember()
            first_number = number + 1
            for number, line in enumerate(stream, first_number):
                try:
                    record = loads(line)
                except decode_error as error:
                    if bad_line(line, number, error, batcher, self.issues, file):
                        result.blank_lines += 1
                        if result.first_blank is None:
                            result.first_blank = number
                    continue
                if type(record) is dict and len(record) == 1:
                    text = record.get("text")
                    if type(text) is str and text and not text.isspace():
                        # tokens ≈ UTF-8 bytes / 4, rounded up (see tokens.py)
                        size = (
                            len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
                        ) + 3
                        total += size >> 2
                        if size > largest:
                            largest = size
                        tag = number * 256 + base
                        first = remember(hash(line), tag)
                        if first is not None and first != tag:
                            dedupe.report(self.issues, tag, first)
                        continue
                self._slow(record, file, number)
            batcher.lines_done = number
        self.tokens_total += total
        self.tokens_max = max(self.tokens_max, largest >> 2)
        result.finish(batcher, first_line)
        return result

    def absorb(self, other: CptChecker, offset: int, *, last: bool = False) -> None:
        """Merge a parallel scan worker's checker (its lines start after ``offset``)."""
        self.tokens_total += other.tokens_total
        self.tokens_max = max(self.tokens_max, other.tokens_max)
        self.dedupe.absorb(other.dedupe, offset, self.issues, last=last)

    def finish(self, training_file: str) -> None:
        """Nothing dataset-level beyond the record count for CPT."""

    def _slow(self, record: Any, file: str, line: int) -> None:
        issues = self.issues
        if type(record) is not dict:
            issues.error(
                IssueCode.NOT_OBJECT, file, line, f"the line is a JSON {json_type(record)}, not an object"
            )
            return
        if "text" not in record:
            if "input" in record:
                issues.error(
                    IssueCode.CPT_FORMAT,
                    file,
                    line,
                    "the record has 'input' (Titan's CPT format); Nova CPT recipes read 'text'",
                    'rename the field: {"text": "..."}',
                )
            elif "messages" in record:
                issues.error(
                    IssueCode.CPT_FORMAT,
                    file,
                    line,
                    "a conversation record in continued pre-training data",
                    "CPT takes raw text; use --technique fine-tuning for conversations",
                )
            else:
                issues.error(IssueCode.CPT_FORMAT, file, line, "the record has no 'text' field", _HINT)
            return
        text = record["text"]
        if type(text) is not str:
            issues.error(
                IssueCode.CPT_FORMAT,
                file,
                line,
                f"'text' must be a string, not a JSON {json_type(text)}",
                _HINT,
            )
        elif not text or text.isspace():
            issues.error(
                IssueCode.EMPTY_CONTENT, file, line, "'text' is empty", "remove the line or give it text"
            )
        if len(record) > 1:
            extra = ", ".join(repr(k) for k in sorted(record) if k != "text")
            issues.error(
                IssueCode.CPT_FORMAT, file, line, f"unexpected field(s) {extra} beside 'text'", _HINT
            )
