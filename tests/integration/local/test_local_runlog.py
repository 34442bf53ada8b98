"""`tailor local up` logs one human line per run transition, read from the runs table."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tailor.local import LocalStack
from tailor.local.runlog import RunWatcher, Transition

pytestmark = pytest.mark.integration


def _put(stack: LocalStack, run_id: str, history: list[dict[str, Any]]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    item = {"runId": run_id, "status": history[-1]["status"], "history": history}
    serializer = TypeSerializer()
    stack.client("dynamodb").put_item(
        TableName=stack.physical_id("Table"), Item={k: serializer.serialize(v) for k, v in item.items()}
    )


def test_each_transition_is_reported_once_in_order(stack: LocalStack) -> None:
    watcher = RunWatcher(stack.client("dynamodb"), stack.physical_id("Table"), interval=60)
    watcher.poll(force=True)  # whatever other tests left behind
    run_id = "support-bot-0f3a9c2e4b1d5a6c7e8f"
    received = {"status": "RECEIVED", "at": "2026-12-01T12:00:00.000Z"}
    _put(stack, run_id, [received])
    assert watcher.poll() == []  # polled less than `interval` ago
    assert watcher.poll(force=True) == [Transition("2026-12-01T12:00:00.000Z", run_id, "RECEIVED")]

    validated = {"status": "VALIDATED", "at": "2026-12-01T12:00:01.000Z", "reason": "dataset valid"}
    _put(stack, run_id, [received, validated])
    (transition,) = watcher.poll(force=True)
    assert transition == Transition("2026-12-01T12:00:01.000Z", run_id, "VALIDATED", "dataset valid")
    assert watcher.poll(force=True) == []

    clock = datetime.fromisoformat("2026-12-01T12:00:01+00:00").astimezone().strftime("%H:%M:%S")
    assert transition.line() == f"{clock} run {run_id} VALIDATED (dataset valid)"  # the whole run id


def test_a_run_created_without_history_starts_received(stack: LocalStack) -> None:
    from boto3.dynamodb.types import TypeSerializer

    watcher = RunWatcher(stack.client("dynamodb"), stack.physical_id("Table"))
    watcher.poll(force=True)
    item = {
        "runId": "kb-1",
        "status": "REJECTED",
        "createdAt": "2026-12-01T12:00:00.000Z",
        "history": [{"status": "REJECTED", "at": "2026-12-01T12:00:02.000Z", "reason": "dataset rejected"}],
    }
    serializer = TypeSerializer()
    stack.client("dynamodb").put_item(
        TableName=stack.physical_id("Table"), Item={k: serializer.serialize(v) for k, v in item.items()}
    )
    assert [(t.status, t.at) for t in watcher.poll(force=True)] == [
        ("RECEIVED", "2026-12-01T12:00:00.000Z"),
        ("REJECTED", "2026-12-01T12:00:02.000Z"),
    ]


@pytest.mark.parametrize("verbose", [False, True])
def test_the_banner_is_short_unless_verbose(stack: LocalStack, verbose: bool, tmp_path: Path) -> None:
    from rich.console import Console

    from tailor.cli.local import _print_banner

    out = io.StringIO()
    env_file = tmp_path / "local.env"
    _print_banner(Console(file=out, width=80, color_system=None), stack, verbose=verbose, env_file=env_file)
    text = out.getvalue()
    assert ("Resources:" in text) is verbose and ("Outputs" in text) is verbose
    assert "Bedrock deployments and runtime: SIMULATED" in text or "SIMULATED (a local stand-in" in text
    exports = [f"export {k}={v}" for k, v in stack.client_env().items()]
    assert env_file.read_text().splitlines()[1:] == exports
    assert f"`source {env_file}`" in text
