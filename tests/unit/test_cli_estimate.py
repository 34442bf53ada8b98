"""``tailor estimate DIR`` and the estimate in ``tailor submit``: nothing uploaded, no AWS call."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tailor.cli.main import app

sys.path.insert(0, str(Path(__file__).parent / "datasets"))
from ds_builders import filler, write

runner = CliRunner()
JSON_KEYS = {"trainingTokens", "epochs", "pricePer1kTokens", "estimatedUsd", "priceSource", "priceAsOf"}


def folder(tmp_path: Path, **spec: object) -> Path:
    path = tmp_path / "support-bot"
    path.mkdir()
    write(path / "train.jsonl", filler(20))
    document = {"technique": "fine-tuning", "baseModel": "nova-lite", **spec}
    (path / "job.json").write_bytes(orjson.dumps(document))
    return path


@pytest.fixture(autouse=True)
def _no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    # Any AWS call would fail fast: no credentials, an endpoint that refuses connections.
    monkeypatch.delenv("TRAINING_PRICES_JSON", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")


def test_human_output_shows_tokens_epochs_price_and_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", '{"nova-lite": 2}')
    result = runner.invoke(app, ["estimate", str(folder(tmp_path, hyperParameters={"epochCount": 3}))])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "20 records" in out and "x 3 epochs" in out
    assert "$2 per 1K tokens (TRAINING_PRICES_JSON" in out
    assert "= $2.64 for training" in out  # 440 tokens x 3 / 1000 x $2


def test_json_has_the_issue_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", '{"nova-lite": 2}')
    result = runner.invoke(app, ["estimate", str(folder(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) >= JSON_KEYS
    assert document["trainingTokens"] == 440 and document["epochs"] == 2
    assert document["pricePer1kTokens"] == 2 and document["estimatedUsd"] == 1.76
    assert document["priceAsOf"] and document["budgetUsd"] is None and document["withinBudget"] is None


def test_an_unknown_price_is_said_not_invented(tmp_path: Path) -> None:
    result = runner.invoke(app, ["estimate", str(folder(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["pricePer1kTokens"] is None and document["estimatedUsd"] is None
    assert document["priceSource"] == "no price known"
    assert any("TRAINING_PRICES_JSON" in note for note in document["notes"])


def test_over_budget_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", '{"nova-lite": 2}')
    path = folder(tmp_path, budget={"maxTrainingCostUsd": 1})
    human = runner.invoke(app, ["estimate", str(path)])
    assert human.exit_code == 1
    assert "estimated $1.76 for training exceeds the budget of $1.00 (maxTrainingCostUsd)" in human.stdout
    as_json = runner.invoke(app, ["estimate", str(path), "--json"])
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["withinBudget"] is False and document["budgetUsd"] == 1


def test_within_budget_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", '{"nova-lite": 2}')
    result = runner.invoke(app, ["estimate", str(folder(tmp_path, budget={"maxTrainingCostUsd": 5}))])
    assert result.exit_code == 0, result.output
    assert "within budget" in result.stdout


def test_a_budget_without_a_price_refuses(tmp_path: Path) -> None:
    result = runner.invoke(app, ["estimate", str(folder(tmp_path, budget={"maxTrainingCostUsd": 5}))])
    assert result.exit_code == 1
    assert "cannot be shown to stay within the budget" in result.stdout


def test_a_missing_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["estimate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such folder" in result.stderr


def test_a_broken_prices_variable_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", "{oops")
    result = runner.invoke(app, ["estimate", str(folder(tmp_path))])
    assert result.exit_code == 2
    assert "TRAINING_PRICES_JSON is not valid JSON" in result.stderr


def test_an_invalid_dataset_exits_1(tmp_path: Path) -> None:
    path = folder(tmp_path)
    write(path / "train.jsonl", [*filler(20), b"{nope"])
    result = runner.invoke(app, ["estimate", str(path)])
    assert result.exit_code == 1
    assert "dataset rejected" in result.stderr and "json_invalid" in result.stderr


def test_a_spec_error_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["estimate", str(folder(tmp_path, budget={"maxTrainingCostUsd": "5"}))])
    assert result.exit_code == 1
    assert "job.json rejected (spec error)" in result.stderr and "maxTrainingCostUsd" in result.stderr


def test_submit_shows_the_estimate_and_refuses_over_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINING_PRICES_JSON", '{"nova-lite": 2}')
    for name in ("DATA_BUCKET", "ARTIFACTS_BUCKET", "RUNS_TABLE"):
        monkeypatch.setenv(name, "tailor-test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = runner.invoke(app, ["submit", str(folder(tmp_path, budget={"maxTrainingCostUsd": 1}))])
    assert result.exit_code == 1, result.output
    assert "estimated $1.76 for training exceeds the budget" in result.stderr
    assert "not uploaded" in result.stderr and "uploaded s3://" not in result.output
    assert result.stdout == ""  # no run id: nothing started
