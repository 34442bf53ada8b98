"""The validation report (pydantic, the public shape) and the cheap collector that fills it.

Checks never build pydantic objects per record: they append tuples to ``IssueCollector``, which
keeps the first ``MAX_DETAILS`` issues of each kind and exact counts per code; the report is built
once at the end.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from tailor.datasets.codes import DEFAULT_HINTS, IssueCode

MAX_DETAILS = 100  # detailed errors (and warnings) kept in a report
SUMMARY_MAX_BYTES = 8_000  # summary() must fit inside an EventBridge event with room to spare
_SUMMARY_TEXT = 300  # characters of message/hint kept per issue in summary()

FileRole = Literal["training", "validation"]


class ValidationIssue(BaseModel):
    """One problem: what (code, message), where (file, 1-based line; None = whole dataset), how to fix."""

    model_config = ConfigDict(frozen=True)

    file: str | None = None
    line: int | None = Field(default=None, ge=1)
    code: IssueCode
    message: str
    hint: str = ""

    @model_validator(mode="before")
    @classmethod
    def _default_hint(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("hint"):
            try:
                return {**data, "hint": DEFAULT_HINTS.get(IssueCode(str(data.get("code"))), "")}
            except ValueError:
                return data  # unknown code: field validation reports it
        return data


class FileCount(BaseModel):
    file: str
    role: FileRole
    records: int = 0
    bytes: int = 0
    # sha256 of the bytes validated (computed from the validation stream; None for a parallel scan).
    sha256: str | None = None


class TokenEstimate(BaseModel):
    """Estimated tokens (see docs/datasets.md, "Token estimate"): not a tokenizer count."""

    total: int = 0
    max_per_record: int = 0


class ValidationReport(BaseModel):
    valid: bool
    technique: str | None = None
    model: str | None = None  # the resolved Bedrock model id when the model is known
    files: list[FileCount] = Field(default_factory=list)
    records: int = 0  # training + validation
    token_estimate: TokenEstimate = Field(default_factory=TokenEstimate)
    errors: list[ValidationIssue] = Field(default_factory=list)
    warnings: list[ValidationIssue] = Field(default_factory=list)
    error_counts: dict[str, int] = Field(default_factory=dict)
    warning_counts: dict[str, int] = Field(default_factory=dict)
    truncated: bool = False  # more errors or warnings were found than are listed
    # Per-line errors (and warnings) listed at most, each; None: all of them. Counts are exact.
    detail_limit: int | None = MAX_DETAILS

    @computed_field  # type: ignore[prop-decorator]
    @property
    def notes(self) -> list[str]:
        """Facts a person must know that are not data problems: where the technique can run
        (Nova continued pre-training does not run on Bedrock)."""
        from tailor.jobs.catalog import UnknownModelError, backend_note, bedrock_supports

        if not self.technique:
            return []
        try:
            supported = bedrock_supports(self.technique, self.model)
        except (UnknownModelError, ValueError):
            return []
        note = None if supported else backend_note(self.technique)
        return [note] if note else []

    @property
    def training_records(self) -> int:
        return sum(f.records for f in self.files if f.role == "training")

    @property
    def validation_records(self) -> int:
        return sum(f.records for f in self.files if f.role == "validation")

    @classmethod
    def from_issues(
        cls,
        *,
        technique: str | None,
        model: str | None,
        errors: list[ValidationIssue],
        warnings: list[ValidationIssue] | None = None,
    ) -> ValidationReport:
        """A report for problems found before any data was read (spec errors, missing files)."""
        warnings = warnings or []
        return cls(
            valid=not errors,
            technique=technique,
            model=model,
            errors=errors[:MAX_DETAILS],
            warnings=warnings[:MAX_DETAILS],
            error_counts=_count(errors),
            warning_counts=_count(warnings),
            truncated=len(errors) > MAX_DETAILS or len(warnings) > MAX_DETAILS,
        )

    def summary(self, max_errors: int = 10) -> dict[str, Any]:
        """A compact dict for an event payload: at most ``SUMMARY_MAX_BYTES`` of JSON."""
        out: dict[str, Any] = {
            "valid": self.valid,
            "technique": self.technique,
            "model": self.model,
            "records": self.records,
            "files": [{"file": _cut(f.file), "role": f.role, "records": f.records} for f in self.files],
            "tokenEstimate": self.token_estimate.total,
            "errorCounts": self.error_counts,
            "warningCounts": self.warning_counts,
            "truncated": self.truncated or len(self.errors) > max_errors,
            "errors": [_compact(issue) for issue in self.errors[: max(max_errors, 0)]],
        }
        while len(orjson.dumps(out)) > SUMMARY_MAX_BYTES and out["errors"]:
            out["errors"].pop()
            out["truncated"] = True
        return out


def _count(issues: list[ValidationIssue]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue.code.value] = counts.get(issue.code.value, 0) + 1
    return counts


def _cut(text: str | None, limit: int = _SUMMARY_TEXT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _compact(issue: ValidationIssue) -> dict[str, Any]:
    return {
        "file": _cut(issue.file),
        "line": issue.line,
        "code": issue.code.value,
        "message": _cut(issue.message),
        "hint": _cut(issue.hint),
    }


# (file, line, code, message, hint)
_Row = tuple[str | None, int | None, IssueCode, str, str | None]


class IssueCollector:
    """Counts every issue and keeps the first ``limit`` per-line ones in detail; dataset-level
    issues (no line: a handful at most) are always kept and listed first. Plain Python: cheap."""

    __slots__ = ("detail_limit", "dropped", "error_counts", "errors", "limit", "warning_counts", "warnings")

    def __init__(self, limit: int | None = MAX_DETAILS) -> None:
        """``limit``: per-line issues kept in detail, each kind; None keeps all (memory then grows
        with the number of issues, which is why it is not the default)."""
        self.detail_limit = limit
        self.limit = sys.maxsize if limit is None else limit
        self.dropped = 0  # issues counted but not kept in detail
        self.errors: list[_Row] = []
        self.warnings: list[_Row] = []
        self.error_counts: dict[str, int] = {}
        self.warning_counts: dict[str, int] = {}

    def error(
        self,
        code: IssueCode,
        file: str | None,
        line: int | None,
        message: str,
        hint: str | None = None,
        *,
        count: int = 1,
        keep: bool = False,
    ) -> None:
        self._add(self.errors, self.error_counts, (file, line, code, message, hint), count, keep)

    def warning(
        self,
        code: IssueCode,
        file: str | None,
        line: int | None,
        message: str,
        hint: str | None = None,
        *,
        count: int = 1,
        keep: bool = False,
    ) -> None:
        self._add(self.warnings, self.warning_counts, (file, line, code, message, hint), count, keep)

    def _add(self, rows: list[_Row], counts: dict[str, int], row: _Row, count: int, keep: bool) -> None:
        """Count always; keep the details of the first ``limit`` (dataset-level ones, and those
        with ``keep``: a dataset-level finding that points at a line, always)."""
        code = row[2]
        counts[code] = counts.get(code, 0) + count
        if keep or row[1] is None or len(rows) < self.limit:
            rows.append(row)
        else:
            self.dropped += 1

    def count_only(self, kind: Literal["error", "warning"], code: IssueCode, count: int) -> None:
        """Count issues whose details were not kept (a parallel scan's worker dropped them)."""
        if count > 0:
            counts = self.error_counts if kind == "error" else self.warning_counts
            counts[code] = counts.get(code, 0) + count
            self.dropped += count

    def absorb(self, later: IssueCollector, offset: int) -> None:
        """Merge the issues of a later part of the dataset (a parallel scan's worker, whose lines
        are numbered from 1: ``offset`` is the number of lines before its part)."""
        for code, count in later.error_counts.items():
            self.error_counts[code] = self.error_counts.get(code, 0) + count
        for code, count in later.warning_counts.items():
            self.warning_counts[code] = self.warning_counts.get(code, 0) + count
        for rows, mine in ((later.errors, self.errors), (later.warnings, self.warnings)):
            for file, line, code, message, hint in rows:
                if line is None or len(mine) < self.limit:
                    mine.append((file, None if line is None else line + offset, code, message, hint))
                else:
                    self.dropped += 1
        self.dropped += later.dropped

    @property
    def has_errors(self) -> bool:
        return bool(self.error_counts)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def build(
        self,
        *,
        technique: str | None,
        model: str | None,
        files: list[FileCount],
        token_estimate: TokenEstimate,
    ) -> ValidationReport:
        return ValidationReport(
            valid=not self.error_counts,
            technique=technique,
            model=model,
            files=files,
            records=sum(f.records for f in files),
            token_estimate=token_estimate,
            errors=_issues(self.errors),
            warnings=_issues(self.warnings),
            error_counts={str(k): v for k, v in self.error_counts.items()},
            warning_counts={str(k): v for k, v in self.warning_counts.items()},
            truncated=self.truncated,
            detail_limit=self.detail_limit,
        )


def _issues(rows: list[_Row]) -> list[ValidationIssue]:
    # Dataset-level first (they explain the rest), then per-line issues by file and line.
    files: dict[str | None, int] = {}
    for row in rows:
        files.setdefault(row[0], len(files))
    ordered = sorted(rows, key=lambda r: (r[1] is not None, files[r[0]], r[1] or 0))
    return [
        ValidationIssue(file=file, line=line, code=code, message=message, hint=hint or "")
        for file, line, code, message, hint in ordered
    ]
