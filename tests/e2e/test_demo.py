"""``tailor local demo`` end to end, in-process: the story the README promises must happen."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_tells_the_story() -> None:
    from rich.console import Console

    from tailor.local.demo import BROKEN_LINES, BROKEN_NAME, GOOD_NAME, run_demo

    out = io.StringIO()
    result = run_demo(Console(file=out, width=160, color_system=None))
    text = out.getvalue()

    failed = [f"{c.what}: {c.detail}" for c in result.checks if not c.ok]
    assert result.ok, "\n".join(failed) + "\n\n" + text

    by_type = {e["detail-type"]: e for e in result.events}
    assert set(by_type) == {"DatasetValidated", "DatasetRejected", "JobSubmitted"}
    assert (
        f"datasets/{GOOD_NAME}/job.json"
        in by_type["DatasetValidated"]["detail"]["data"]["dataset"]["triggerUri"]
    )
    rejected = by_type["DatasetRejected"]["detail"]["data"]
    assert f"datasets/{BROKEN_NAME}/job.json" in rejected["dataset"]["triggerUri"]
    assert {(e["line"], e["code"]) for e in rejected["errors"]} >= set(BROKEN_LINES.items())
    assert all(e["file"] for e in rejected["errors"])

    assert sorted(r["status"] for r in result.runs) == ["REJECTED", "SUBMITTED"]
    submitted = by_type["JobSubmitted"]["detail"]["data"]
    assert submitted["runId"] == by_type["DatasetValidated"]["detail"]["data"]["runId"]
    assert len(result.reports) == 2

    for words in (
        "EMULATED",
        "SIMULATED  Bedrock deployments and runtime",
        "NOT AVAILABLE LOCALLY",
        "Bedrock model customization: no simulator yet",
        "DatasetValidated",
        "DatasetRejected",
        "json_invalid",
        "role_order",
    ):
        assert words in text
    assert "The story happened." in text


def test_the_demo_reads_well_at_80_columns() -> None:
    """No S3 location or run id is broken across lines, no line is wider than the terminal."""
    from rich.console import Console

    from tailor.local.demo import run_demo

    out = io.StringIO()
    result = run_demo(Console(file=out, width=80, color_system=None))
    assert result.ok
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(line for line in lines if len(line) > 80)
    text = "\n".join(lines)
    keys = [uri.split("/", 3)[3] for uri in result.reports]
    keys += [
        e["detail"]["data"]["dataset"]["triggerUri"].split("/", 3)[3]
        for e in result.events
        if "dataset" in e["detail"]["data"]
    ]
    run_ids = [str(r["runId"]) for r in result.runs]
    for whole in keys + run_ids:
        assert whole in text, f"{whole} is not printed whole (cut across lines?):\n{text}"


def test_the_demo_command_exits_zero() -> None:
    from typer.testing import CliRunner

    from tailor.cli.local import local_app

    result = CliRunner().invoke(local_app, ["demo"])
    assert result.exit_code == 0, result.output
