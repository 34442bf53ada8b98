"""`tailor status` and `tailor submit` output as a person reads it: run ids whole at 80 columns,
spec errors labelled as such, report notes shown."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tailor.cli.main import app
from tailor.cli.status import SPEC_CODES, is_spec_error, render_run, render_runs
from tailor.jobs.run import HistoryEntry, RunRecord
from tailor.jobs.state import RunStatus

LONG_RUN_ID = "support-bot-broken-translations-x-0f3a9c2e4b1d5a6c7e8f"  # slug (32) + 20 hex


def _console(width: int = 80, *, soft_wrap: bool = True) -> Console:
    """As `tailor status RUN` prints (soft wrap: paths stay whole and copyable)."""
    return Console(file=io.StringIO(), width=width, color_system=None, highlight=False, soft_wrap=soft_wrap)


def _text(console: Console) -> str:
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _run(run_id: str = LONG_RUN_ID, status: RunStatus = RunStatus.REJECTED) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        label="support-bot",
        status=status,
        technique="fine-tuning",
        base_model_id="amazon.nova-lite-v1:0:300k",
        trigger_uri=f"s3://tailor-data-123456789012/datasets/{run_id}/job.json",
        history=[
            HistoryEntry(status=RunStatus.RECEIVED, at="2026-12-01T12:00:00.000Z"),
            HistoryEntry(status=status, at="2026-12-01T12:00:01.000Z", reason="dataset rejected"),
        ],
    )


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_run_list_never_cuts_a_run_id(width: int) -> None:
    console = _console(width, soft_wrap=False)
    render_runs([_run(), _run("a-1", RunStatus.VALIDATED)], console)
    lines = _text(console).splitlines()
    assert any(LONG_RUN_ID in line and "REJECTED" in line for line in lines)  # whole, beside its status
    assert "…" not in "".join(lines)
    assert all(len(line) <= width for line in lines)
    if width >= 120:
        assert "nova-lite" in lines[1] and "fine-tuning" in lines[1]  # everything fits: nothing hidden
    else:
        assert "not shown at this width; --json has every field" in "".join(lines)


def test_too_narrow_for_a_table_is_one_run_a_line() -> None:
    console = _console(40, soft_wrap=False)
    render_runs([_run()], console)
    assert _text(console) == f"{LONG_RUN_ID}  REJECTED\n"


def _report(*codes: str, notes: list[str] | None = None, valid: bool = False) -> dict[str, Any]:
    errors = [
        {"file": "s3://b/datasets/x/job.json", "line": 1, "code": c, "message": f"{c} here", "hint": "fix it"}
        for c in codes
    ]
    counts: dict[str, int] = {}
    for c in codes:
        counts[c] = counts.get(c, 0) + 1
    return {"valid": valid, "errors": errors, "error_counts": counts, "notes": notes or []}


@pytest.mark.parametrize("code", sorted(SPEC_CODES))
def test_a_spec_error_is_labelled_as_one(code: str) -> None:
    assert is_spec_error(_report(code))
    console = _console()
    render_run(_run(), _report(code), console)
    text = _text(console)
    assert "job.json rejected (spec error)" in text
    assert "spec error: " + code in text
    assert "(dataset rejected)" not in text


def test_the_spec_codes_are_report_codes() -> None:
    from tailor.datasets.codes import IssueCode

    assert {c.value for c in IssueCode} >= SPEC_CODES


def test_a_data_error_is_not_a_spec_error() -> None:
    report = _report("role_order", "json_invalid")
    assert not is_spec_error(report) and not is_spec_error(_report("spec_invalid", "role_order"))
    assert not is_spec_error(None) and not is_spec_error({"valid": True})
    console = _console()
    render_run(_run(), report, console)
    text = _text(console)
    assert "spec error" not in text and "errors: role_order x1, json_invalid x1" in text


def test_report_notes_are_shown() -> None:
    note = "Nova continued pre-training does not run on Bedrock: it runs on SageMaker HyperPod"
    console = _console()
    render_run(_run(status=RunStatus.VALIDATED), _report(valid=True, notes=[note]), console)
    text = _text(console)
    assert "note: " + note in text


def test_submit_labels_a_spec_error(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "job.json").write_text('{"technique": "fine-tuning", "baseModel": "nova-mega"}')
    (folder / "train.jsonl").write_text("{}\n")
    result = CliRunner().invoke(app, ["submit", str(folder)])
    assert result.exit_code == 1
    assert "job.json rejected (spec error)" in result.output and "unsupported_model" in result.output


def test_status_says_which_run_an_upload_joined_and_what_bedrock_is_given() -> None:
    from tailor.events.models import DatasetSnapshot, SnapshotFile
    from tailor.jobs.run import RunFacts

    snapshot = DatasetSnapshot(
        training=SnapshotFile(uri="s3://tailor-data/snapshots/sha256/ab12.jsonl", sha256="ab12", bytes=4096)
    )
    record = _run(status=RunStatus.VALIDATED).model_copy(
        update={
            "joined_uploads": 2,
            "facts": RunFacts(
                snapshot=snapshot,
                last_joined_upload="s3://tailor-data/datasets/x/job.json (version v3)",
                next_attempt=LONG_RUN_ID + "-a2",
                report_uri="s3://a/r",
            ),
        }
    )
    console = _console()
    render_run(record, _report(valid=True), console)
    text = _text(console)
    assert "identical uploads joined this run 2 times (no second job)" in text
    assert "(version v3)" in text
    assert "snapshot  training s3://tailor-data/snapshots/sha256/ab12.jsonl (4,096 bytes)" in text
    assert f"see tailor status {LONG_RUN_ID}-a2" in text
    assert "reportUri: s3://a/r" in text


def test_status_says_a_run_waits_for_quota_and_shows_its_job() -> None:
    from tailor.jobs.run import RunFacts

    waiting = _run(status=RunStatus.VALIDATED).model_copy(
        update={"facts": RunFacts(waiting_for_quota_since="2026-12-01T12:00:05.000Z", estimated_usd=12.5)}
    )
    console = _console()
    render_run(waiting, _report(valid=True), console)
    text = _text(console)
    assert "waiting for quota since 2026-12-01T12:00:05.000Z" in text and "$12.50" in text
    submitted = _run(status=RunStatus.SUBMITTED).model_copy(
        update={
            "facts": RunFacts(
                job_arn="arn:aws:bedrock:us-east-1:1:model-customization-job/x/abc", job_name="tailor-x"
            )
        }
    )
    console = _console()
    render_run(submitted, _report(valid=True), console)
    text = _text(console)
    assert "job       tailor-x (arn:aws:bedrock:us-east-1:1:model-customization-job/x/abc)" in text
    assert "waiting for quota" not in text
