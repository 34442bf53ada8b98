"""ValidationReport: the public shape, the event summary, and the codes used by ingestion."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from tailor.datasets import IssueCode, TokenEstimate, ValidationIssue, ValidationReport
from tailor.datasets.codes import DEFAULT_HINTS
from tailor.datasets.report import SUMMARY_MAX_BYTES, FileCount, IssueCollector


def test_every_code_has_a_default_hint() -> None:
    assert set(DEFAULT_HINTS) == set(IssueCode)
    issue = ValidationIssue(file="f", line=3, code="role_order", message="m")
    assert issue.code is IssueCode.ROLE_ORDER and issue.hint == DEFAULT_HINTS[IssueCode.ROLE_ORDER]


def test_unknown_codes_and_bad_lines_are_rejected() -> None:
    with pytest.raises(ValidationError):
        ValidationIssue(file="f", line=1, code="made_up", message="m")
    with pytest.raises(ValidationError):
        ValidationIssue(file="f", line=0, code="schema", message="m")


def test_from_issues_for_ingestion_codes() -> None:
    report = ValidationReport.from_issues(
        technique=None,
        model=None,
        errors=[
            ValidationIssue(
                file="s3://b/k", line=None, code="spec_invalid", message="bad spec", hint="fix it"
            ),
            ValidationIssue(file="s3://b/k", line=None, code="not_a_trigger", message="wrong place"),
            ValidationIssue(file="s3://b/k", line=None, code="file_missing", message="gone"),
        ],
    )
    assert not report.valid
    assert report.error_counts == {"spec_invalid": 1, "not_a_trigger": 1, "file_missing": 1}
    assert report.training_records == report.validation_records == 0


def _big_report(errors: int) -> ValidationReport:
    issues = IssueCollector()
    for line in range(1, errors + 1):
        issues.error(IssueCode.SCHEMA, "s3://bucket/" + "k" * 900, line, "m" * 2_000, "h" * 2_000)
    files = [FileCount(file="s3://bucket/" + "k" * 900, role="training", records=errors)]
    return issues.build(technique="fine-tuning", model="x", files=files, token_estimate=TokenEstimate())


def test_summary_fits_in_an_event() -> None:
    report = _big_report(500)
    assert report.truncated and len(report.errors) == 100 and report.error_counts == {"schema": 500}
    summary = report.summary(max_errors=10)
    assert len(orjson.dumps(summary)) <= SUMMARY_MAX_BYTES
    assert summary["valid"] is False and summary["truncated"] is True
    assert summary["errorCounts"] == {"schema": 500}
    assert 1 <= len(summary["errors"]) <= 10
    assert summary["errors"][0]["line"] == 1


def test_summary_of_a_valid_report() -> None:
    report = ValidationReport(valid=True, technique="fine-tuning", model="m", records=10)
    summary = report.summary()
    assert summary["valid"] is True and summary["errors"] == [] and summary["truncated"] is False


def test_dataset_level_issues_are_kept_and_listed_first() -> None:
    issues = IssueCollector(limit=2)
    for line in (5, 6, 7):
        issues.error(IssueCode.SCHEMA, "f", line, "m")
    issues.error(IssueCode.RECORD_COUNT, "f", None, "too few")
    report = issues.build(technique="t", model="m", files=[], token_estimate=TokenEstimate())
    assert [(e.code.value, e.line) for e in report.errors] == [
        ("record_count", None),
        ("schema", 5),
        ("schema", 6),
    ]
    assert report.truncated and report.error_counts == {"schema": 3, "record_count": 1}
