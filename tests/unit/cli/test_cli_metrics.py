"""`tailor metrics RUN`: the recorded loss curves in the terminal, as JSON, or as a PNG (matplotlib,
the optional plot extra); without matplotlib one line names the extra."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_runs import RUN_ID, RunFactory
from typer.testing import CliRunner

from tailor.adapters.runs import InMemoryRunStore
from tailor.cli.main import app
from tailor.jobs.state import RunStatus

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def store(make_run: RunFactory, monkeypatch: pytest.MonkeyPatch) -> InMemoryRunStore:
    for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "runs"}.items():
        monkeypatch.setenv(name, value)
    runs = InMemoryRunStore()
    runs.create(make_run(RunStatus.COMPLETED))
    runs.create(make_run(RunStatus.SUBMITTED, run_id="fresh-run"))
    monkeypatch.setattr("tailor.adapters.runs.DynamoRunStore", lambda table: runs)
    return runs


def test_png_is_written(store: InMemoryRunStore, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "loss.png"
    result = CliRunner().invoke(app, ["metrics", RUN_ID, "--png", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert out.stat().st_size > 5_000  # a drawn figure, not an empty canvas
    assert f"wrote {out}" in result.output


def test_json_and_png_together(store: InMemoryRunStore, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "loss.png"
    result = CliRunner().invoke(app, ["metrics", RUN_ID, "--json", "--png", str(out)])
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.stdout)
    assert body["runId"] == RUN_ID and body["status"] == "COMPLETED"
    assert len(body["training"]["curve"]) == 120 and body["training"]["bestStep"] == 120
    assert len(body["validation"]["curve"]) == 12
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_the_terminal_view(store: InMemoryRunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["metrics", RUN_ID])
    assert result.exit_code == 0, result.output
    assert "training loss  final 0.4366" in result.output and "┤" in result.output


def test_no_metrics_yet_and_unknown_run_exit_1(store: InMemoryRunStore, tmp_path: Path) -> None:
    fresh = CliRunner().invoke(app, ["metrics", "fresh-run", "--png", str(tmp_path / "x.png")])
    assert fresh.exit_code == 1
    assert "has no metrics yet (SUBMITTED)" in fresh.output
    assert not (tmp_path / "x.png").exists()
    unknown = CliRunner().invoke(app, ["metrics", "nope"])
    assert unknown.exit_code == 1 and unknown.output == "error: no run 'nope' in runs\n"


def test_without_matplotlib_one_line_names_the_extra(
    store: InMemoryRunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = CliRunner().invoke(app, ["metrics", RUN_ID, "--png", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert result.output == "error: matplotlib is not installed: pip install 'tailor[plot]'\n"


def test_matplotlib_is_not_in_the_lambda_layer() -> None:
    root = Path(__file__).resolve().parents[3]
    assert "matplotlib" not in (root / "shared" / "requirements.txt").read_text()
