"""The load run at a size CI affords (benchmarks/load.py runs 1,000): every upload becomes exactly
one run and one Bedrock job that completes, with a job quota small enough that submissions wait
for it; no duplicate, nothing dead-lettered, no handler error. No timing assertion."""

from __future__ import annotations

import pytest

from tailor.local.load import run_load

pytestmark = pytest.mark.integration


def test_a_reduced_load_ends_with_one_job_per_upload() -> None:
    result = run_load(12, job_quota=2, job_seconds=4.0, timeout=600.0)
    report = result.report()
    assert result.ok, report
    assert report["runs"] == report["bedrockJobs"] == report["completed"] == 12
    assert report["duplicateJobs"] == 0 and not any(report["deadLetters"].values())
    assert result.held_for_quota > 0, "the quota (2) never made a submission wait"
