"""`tailor status` with the status service's facts: age and last event in the list; Bedrock's job
status, sub-tasks, losses and the loss curve (readable at 80 columns) for one run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cli_runs import JOB_ARN, RUN_ID, RunFactory, loss_metrics
from rich.console import Console

from tailor.cli.status import duration, loss_chart, render_run, render_runs, sparkline
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunStatus

NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (42, "42s"), (725, "12m05s"), (3 * 3600 + 720, "3h12m"), (5 * 86400 + 3 * 3600, "5d03h")],
)
def test_durations_are_short(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_the_list_shows_age_and_last_event(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    console.width = 120
    render_runs([make_run()], console, now=NOW)
    header, row = printed().splitlines()[:2]
    assert "age" in header and "last event" in header and "updated" not in header
    assert RUN_ID in row and "IN_PROGRESS" in row
    assert "10m00s" in row  # created 12:00:00
    assert "10s ago" in row  # Bedrock last observed 12:09:50, after the last transition (12:05)


def test_last_event_is_the_newest_transition_without_an_observation(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    console.width = 120
    render_runs([make_run(RunStatus.SUBMITTED)], console, now=NOW)
    assert "9m58s ago" in printed()  # SUBMITTED at 12:00:02


def test_a_run_shows_bedrock_s_view_and_its_losses(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    render_run(make_run(), None, console, now=NOW)
    text = printed()
    assert f"job       tailor-support-bot ({JOB_ARN})" in text
    assert "$3.25" in text
    assert (
        "bedrock   InProgress (validation Completed, data processing Completed, training InProgress)" in text
    )
    assert "seen 10s ago via poll" in text
    assert "training loss  final 0.4366  best 0.4366 (step 120)  120 steps, 2 epochs" in text
    assert "validation loss  final" in text
    assert "(age 10m00s, last event 10s ago)" in text
    chart = [line for line in text.splitlines() if "┤" in line]
    assert len(chart) == 8  # four rows for each curve
    assert all(len(line) <= 80 for line in chart)
    assert "jobStatus" not in text and "observedVia" not in text and "jobArn:" not in text  # worded once


def test_a_completed_run_shows_its_model_and_a_failed_one_its_message(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    done = make_run(
        RunStatus.COMPLETED,
        job_status="Completed",
        output_model_arn="arn:aws:bedrock:us-east-1:1:custom-model/x",
        output_model_name="support-bot-model",
    )
    render_run(done, None, console, now=NOW)
    assert "model     support-bot-model (arn:aws:bedrock:us-east-1:1:custom-model/x)" in printed()
    failed = make_run(RunStatus.FAILED, metrics=False, job_status="Failed", failure_message="Out of memory")
    render_run(failed, None, console, now=NOW)
    assert "failed: Out of memory" in printed()


def test_a_run_without_metrics_draws_no_chart(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    render_run(make_run(RunStatus.SUBMITTED), None, console, now=NOW)
    text = printed()
    assert "┤" not in text and "loss " not in text and "bedrock   " not in text


def test_the_chart_falls_from_left_to_right_and_fits() -> None:
    metrics = loss_metrics(200)
    lines = loss_chart(metrics, 80)
    assert len(lines) == 5 and all(len(line) <= 80 for line in lines)
    top = lines[0].split("┤")[1]
    assert top.startswith("█") and top.strip() == top.strip()[: len(top.strip())]
    assert len(top.rstrip()) < len(lines[3].split("┤")[1])  # the high values are on the left
    assert lines[0].lstrip().startswith("2.") and "0.40" in lines[3]
    assert "step 1" in lines[4] and lines[4].rstrip().endswith("200")
    assert loss_chart(loss_metrics(1), 80) == []


def test_sparkline_resamples_to_its_width() -> None:
    line = sparkline([5.0 - i / 10 for i in range(300)], 40)
    assert len(line) == 40 and line[0] == "█" and line[-1] == "▁"
    assert sparkline([1.0, 1.0], 10) == "▄▄"
    assert sparkline([], 10) == ""


def test_a_flat_curve_is_drawn() -> None:
    flat = loss_metrics(10).model_copy(
        update={"curve": [p.model_copy(update={"loss": 1.0}) for p in loss_metrics(10).curve]}
    )
    assert len(loss_chart(flat, 80)) == 5
    assert RunFacts(training_metrics=flat).training_metrics is not None
