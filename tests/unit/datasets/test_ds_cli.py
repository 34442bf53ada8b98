"""``tailor validate`` through typer's CliRunner (a throwaway app: main.py belongs to the CLI)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import typer
from ds_builders import filler, write
from typer.testing import CliRunner

from tailor.cli.validate import validate

app = typer.Typer(add_completion=False)
app.command()(validate)
runner = CliRunner()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path / "train.jsonl", filler(10))


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    return write(tmp_path / "bad.jsonl", [*filler(10), b"{nope"])


def test_valid_exit_0_human(good: Path) -> None:
    result = runner.invoke(app, [str(good), "--technique", "fine-tuning", "--model", "nova-lite"])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.stdout and "10 records" in result.stdout


def test_invalid_exit_1_human(bad: Path) -> None:
    result = runner.invoke(app, [str(bad), "--technique", "fine-tuning", "--model", "nova-lite"])
    assert result.exit_code == 1
    assert "INVALID" in result.stdout and "json_invalid" in result.stdout and ":11" in result.stdout


def test_json_prints_only_the_report(bad: Path, good: Path) -> None:
    result = runner.invoke(app, [str(bad), "--technique", "fine-tuning", "--model", "nova-lite", "--json"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert report["valid"] is False and report["error_counts"] == {"json_invalid": 1}
    assert report["errors"][0]["line"] == 11
    ok = runner.invoke(
        app,
        [str(good), "--validation", str(good), "--technique", "fine-tuning", "--model", "nova-pro", "--json"],
    )
    assert ok.exit_code == 0, ok.output
    assert orjson.loads(ok.stdout)["records"] == 20


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "missing TRAIN"),
        (["{good}", "--model", "nova-lite"], "missing --technique"),
        (["{good}", "--technique", "fine-tuning"], "missing --model"),
        (["{good}", "--technique", "sft", "--model", "nova-lite"], "unknown technique 'sft'"),
        (["{good}", "--technique", "fine-tuning", "--model", "gpt"], "unknown model 'gpt'"),
        (["/no/such.jsonl", "--technique", "fine-tuning", "--model", "nova-lite"], "no such file"),
        (
            ["{good}", "--validation", "/no/val.jsonl", "--technique", "fine-tuning", "--model", "nova-lite"],
            "no such file",
        ),
        (
            ["s3://bucket-only", "--technique", "fine-tuning", "--model", "nova-lite"],
            "not an s3://bucket/key URI",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(good: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, [a.replace("{good}", str(good)) for a in args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


def test_unknown_option_exit_2(good: Path) -> None:
    result = runner.invoke(app, [str(good), "--technique", "fine-tuning", "--model", "nova-lite", "--bogus"])
    assert result.exit_code == 2


def test_cpt_note_says_where_it_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", filler(3, "continued-pre-training"))
    result = runner.invoke(app, [str(path), "--technique", "continued-pre-training", "--model", "nova-lite"])
    assert result.exit_code == 0
    assert "SageMaker" in result.stdout and "HyperPod" in result.stdout
