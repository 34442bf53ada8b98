"""`tailor watch RUN`: polls the runs table until the run ends; exit 0 completed, 1 ended without a
model, 2 unknown run. The loop runs on an injected sleep that moves the run on between polls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cli_runs import RUN_ID, RunFactory, loss_metrics
from rich.console import Console
from typer.testing import CliRunner

from tailor.adapters.runs import InMemoryRunStore
from tailor.cli.main import app
from tailor.cli.watch import exit_code_for, follow, panel, progress_line
from tailor.events.models import SubTaskStatuses
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunStatus

NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)
Step = Callable[[InMemoryRunStore], None]


def _moves(store: InMemoryRunStore, steps: list[Step]) -> tuple[Callable[[float], None], list[float]]:
    """A sleep that applies the next step to the store (what the status service does meanwhile)."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if steps:
            steps.pop(0)(store)

    return sleep, slept


def _started(store: InMemoryRunStore) -> None:
    store.transition(
        RUN_ID,
        RunStatus.IN_PROGRESS,
        facts=RunFacts(
            job_status="InProgress",
            sub_tasks=SubTaskStatuses(validation="Completed", data_processing="InProgress"),
        ),
    )


def _training(store: InMemoryRunStore) -> None:
    store.add_facts(
        RUN_ID,
        RunFacts(
            sub_tasks=SubTaskStatuses(
                validation="Completed", data_processing="Completed", training="InProgress"
            ),
            training_metrics=loss_metrics(50),
        ),
    )


def _ends(status: RunStatus, **facts: object) -> Step:
    def end(store: InMemoryRunStore) -> None:
        store.transition(RUN_ID, status, facts=RunFacts(**facts))  # type: ignore[arg-type]

    return end


@pytest.fixture
def store(make_run: RunFactory) -> InMemoryRunStore:
    runs = InMemoryRunStore()
    runs.create(make_run(RunStatus.SUBMITTED))
    return runs


def test_a_completed_run_exits_0_with_a_summary(
    store: InMemoryRunStore, console: Console, printed: Callable[[], str]
) -> None:
    done = _ends(
        RunStatus.COMPLETED,
        job_status="Completed",
        output_model_name="support-bot-model",
        training_metrics=loss_metrics(120),
    )
    sleep, slept = _moves(store, [_started, lambda s: None, _training, done])
    code = follow(store, RUN_ID, console, interval=2.0, sleep=sleep, now=lambda: NOW, live=False)
    assert code == 0
    assert slept == [2.0, 2.0, 2.0, 2.0]
    lines = printed().splitlines()
    assert lines[0].endswith(" SUBMITTED")
    assert "IN_PROGRESS  bedrock InProgress (validation Completed, data processing InProgress)" in lines[1]
    assert "training InProgress)  loss 0.7778" in lines[2] and "at step 50" in lines[2]  # the loss so far
    assert len(lines) == 5  # one line per change: the unchanged poll printed nothing
    assert lines[-1].startswith(f"{RUN_ID} COMPLETED after ")
    assert "model support-bot-model; training loss 0.4366 (best 0.4366)" in lines[-1]


@pytest.mark.parametrize(
    ("status", "facts", "needle"),
    [
        (RunStatus.FAILED, {"failure_message": "Out of memory on step 12"}, "FAILED after"),
        (RunStatus.STOPPED, {}, "STOPPED after"),
    ],
)
def test_a_failed_or_stopped_run_exits_1(
    status: RunStatus,
    facts: dict[str, str],
    needle: str,
    store: InMemoryRunStore,
    console: Console,
    printed: Callable[[], str],
) -> None:
    sleep, _ = _moves(store, [_started, _ends(status, **facts)])
    assert follow(store, RUN_ID, console, sleep=sleep, now=lambda: NOW, live=False) == 1
    last = printed().splitlines()[-1]
    assert needle in last
    if facts:
        assert last.endswith(": Out of memory on step 12")


def test_an_ended_run_exits_at_once(
    make_run: RunFactory, console: Console, printed: Callable[[], str]
) -> None:
    store = InMemoryRunStore()
    store.create(make_run(RunStatus.REJECTED, with_job=False))
    sleep, slept = _moves(store, [])
    assert follow(store, RUN_ID, console, sleep=sleep, live=False) == 1
    assert slept == []
    assert "the dataset was rejected" in printed()


def test_an_unknown_run_exits_2(console: Console, capsys: pytest.CaptureFixture[str]) -> None:
    assert follow(InMemoryRunStore(), "nope", console, live=False) == 2
    assert capsys.readouterr().err == "error: no run 'nope' in the runs table\n"


def test_the_live_view_redraws_until_the_end(store: InMemoryRunStore, printed: Callable[[], str]) -> None:
    import io

    screen = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    sleep, _ = _moves(store, [_started, _training, _ends(RunStatus.COMPLETED, output_model_name="m")])
    assert follow(store, RUN_ID, screen, sleep=sleep, now=lambda: NOW) == 0
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    assert f"{RUN_ID} COMPLETED after" in out and "model m" in out


def test_the_panel_shows_sub_tasks_loss_and_elapsed(make_run: RunFactory) -> None:
    import io

    screen = Console(file=io.StringIO(), width=80, color_system=None)
    screen.print(panel(make_run(), NOW, 80))
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    assert RUN_ID in out and "IN_PROGRESS" in out
    assert "elapsed" in out and "10m00s" in out
    assert "✓ Completed" in out and "… InProgress" in out
    assert "0.4366 at step 120" in out and "loss loss" not in out and "▁" in out
    assert "last event" in out and "10s ago" in out
    assert all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (RunStatus.COMPLETED, 0),
        (RunStatus.EXPORTING, 0),
        (RunStatus.PUBLISHED, 0),
        (RunStatus.FAILED, 1),
        (RunStatus.STOPPED, 1),
        (RunStatus.REJECTED, 1),
        (RunStatus.SUBMISSION_FAILED, 1),
        (RunStatus.IN_PROGRESS, None),
        (RunStatus.STOPPING, None),
        (RunStatus.VALIDATED, None),
    ],
)
def test_exit_codes(status: RunStatus, code: int | None) -> None:
    assert exit_code_for(status) == code


def test_progress_line_without_bedrock_facts(make_run: RunFactory) -> None:
    assert progress_line(make_run(RunStatus.SUBMITTED)) == "SUBMITTED"


def test_the_command_polls_the_runs_table(store: InMemoryRunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "runs"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("tailor.adapters.runs.DynamoRunStore", lambda table: store)
    steps = [_started, _ends(RunStatus.FAILED, failure_message="boom")]
    monkeypatch.setattr("time.sleep", lambda seconds: steps.pop(0)(store) if steps else None)
    result = CliRunner().invoke(app, ["watch", RUN_ID, "--interval", "0.1"])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1].endswith(": boom")
    unknown = CliRunner().invoke(app, ["watch", "nope"])
    assert unknown.exit_code == 2
    assert "no run 'nope' in runs" in unknown.output
