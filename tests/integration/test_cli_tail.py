"""`tailor events` against moto: events put on the Tailor bus reach the output through the temporary
rule and queue, and no rule or queue is left after a normal exit, an error or Ctrl-C."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from tailor.adapters import aws
from tailor.adapters.bus import EventBridgePublisher
from tailor.adapters.tail import TAIL_PREFIX, bus_tail, tail_pattern
from tailor.cli.events import format_event, pump
from tailor.cli.main import app
from tailor.events.envelope import new_detail
from tailor.events.models import JobStatusChanged, JobStopped

pytestmark = pytest.mark.integration

BUS = "tailor-bus-test"
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/abc"


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        aws.reset_clients()
        aws.client("events").create_event_bus(Name=BUS)
        for name, value in {
            "DATA_BUCKET": "d",
            "ARTIFACTS_BUCKET": "a",
            "RUNS_TABLE": "runs",
            "TAILOR_BUS_NAME": BUS,
        }.items():
            monkeypatch.setenv(name, value)
        yield BUS
        aws.reset_clients()


def _leftovers() -> tuple[list[str], list[str]]:
    rules = [r["Name"] for r in aws.client("events").list_rules(EventBusName=BUS).get("Rules", [])]
    queues = aws.client("sqs").list_queues(QueueNamePrefix=TAIL_PREFIX).get("QueueUrls", [])
    return rules, queues


def _publish(run_id: str, status: str = "Completed") -> None:
    changed = JobStatusChanged(
        run_id=run_id, job_arn=ARN, previous_status="InProgress", status=status, observed_via="poll"
    )  # type: ignore[arg-type]
    EventBridgePublisher(BUS).publish(
        [
            new_detail(
                changed, producer="tailor.status", created_at=datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC)
            )
        ]
    )


def test_events_on_the_bus_reach_the_output_and_nothing_is_left(bus: str) -> None:
    seen: list[dict[str, Any]] = []
    with bus_tail(bus, run_id="run-a") as tail:
        rules, queues = _leftovers()
        assert rules == [tail.name] and len(queues) == 1 and tail.name.startswith(TAIL_PREFIX)
        _publish("run-a")
        _publish("run-b")  # another run: filtered out by the rule
        EventBridgePublisher(bus).publish(
            [new_detail(JobStopped(run_id="run-a", job_arn=ARN), producer="tailor.status")]
        )
        assert pump(tail, seen.append, follow=False, wait=1) == 2
    assert [e["detail-type"] for e in seen] == ["JobStatusChanged", "JobStopped"]
    assert {e["detail"]["metadata"]["runId"] for e in seen} == {"run-a"}
    line = format_event(seen[0])
    assert "JobStatusChanged" in line and "run-a" in line and "InProgress → Completed (poll)" in line
    assert _leftovers() == ([], [])


def test_every_tailor_source_without_a_run_filter(bus: str) -> None:
    assert tail_pattern() == {"source": [{"prefix": "tailor."}]}
    aws.client("events").put_events(
        Entries=[{"Source": "aws.bedrock", "DetailType": "x", "Detail": "{}", "EventBusName": bus}]
    )
    seen: list[dict[str, Any]] = []
    with bus_tail(bus) as tail:
        _publish("run-a")
        _publish("run-b")
        aws.client("events").put_events(
            Entries=[{"Source": "aws.bedrock", "DetailType": "x", "Detail": "{}", "EventBusName": bus}]
        )
        pump(tail, seen.append, follow=False, wait=1)
    assert sorted(e["detail"]["metadata"]["runId"] for e in seen) == ["run-a", "run-b"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_error_or_ctrl_c_removes_rule_and_queue(bus: str, error: BaseException) -> None:
    with pytest.raises(type(error)), bus_tail(bus) as tail:
        assert _leftovers()[0] == [tail.name]
        raise error
    assert _leftovers() == ([], [])


def test_a_failure_half_way_through_creation_removes_what_was_made(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = aws.client("events")

    def refuse(**kwargs: Any) -> Any:
        raise RuntimeError("PutTargets refused")

    monkeypatch.setattr(events, "put_targets", refuse)
    with pytest.raises(RuntimeError, match="PutTargets refused"), bus_tail(bus, events_client=events):
        pass
    assert _leftovers() == ([], [])


def test_the_command_prints_lines_then_cleans_up(bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.adapters import tail as tail_module

    original = tail_module.BusTail.create

    def create_then_publish(self: tail_module.BusTail) -> None:
        original(self)
        _publish("run-a")  # as soon as the rule exists, something happens on the bus

    monkeypatch.setattr(tail_module.BusTail, "create", create_then_publish)
    result = CliRunner().invoke(app, ["events", "--run", "run-a", "--wait", "1"])
    assert result.exit_code == 0, result.output
    assert "JobStatusChanged" in result.stdout and "run-a" in result.stdout
    assert "tailing tailor-bus-test (run run-a) through rule tailor-tail-" in result.stderr
    as_json = CliRunner().invoke(app, ["events", "--json", "--wait", "0"])
    assert as_json.exit_code == 0, as_json.output
    lines = as_json.stdout.splitlines()
    assert lines and orjson.loads(lines[0])["detail-type"] == "JobStatusChanged"
    assert _leftovers() == ([], [])


def test_ctrl_c_while_following_exits_0_and_cleans_up(bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.adapters import tail as tail_module

    calls = {"n": 0}

    def receive(self: tail_module.BusTail, wait_seconds: float) -> list[dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return []

    monkeypatch.setattr(tail_module.BusTail, "receive", receive)
    result = CliRunner().invoke(app, ["events", "--follow"])
    assert result.exit_code == 0, result.output
    assert "stopped: the temporary rule and queue are removed" in result.stderr
    assert _leftovers() == ([], [])


def test_no_bus_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "runs"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TAILOR_BUS_NAME", raising=False)
    result = CliRunner().invoke(app, ["events"])
    assert result.exit_code == 2 and "no Tailor bus to tail" in result.output


def test_through_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same tail against `tailor local up`'s moto server: the template's bus, real HTTP."""
    from tailor.local.stack import LocalStack

    with LocalStack(time_scale=0.001) as stack, pytest.MonkeyPatch.context() as env:
        # Undone before the stack restores the environment (a test-level monkeypatch would
        # "restore" the stack's endpoint after the stack is gone, for later tests to hit).
        for name, value in stack.client_env().items():
            env.setenv(name, value)
        aws.reset_clients()
        bus_name = stack.env_value("TAILOR_BUS_NAME")
        seen: list[dict[str, Any]] = []
        with bus_tail(bus_name, run_id="run-a") as tail:
            EventBridgePublisher(bus_name).publish(
                [new_detail(JobStopped(run_id="run-a", job_arn=ARN), producer="tailor.status")]
            )
            assert pump(tail, seen.append, follow=False, wait=2) == 1
        assert format_event(seen[0]).endswith("JobStopped            run-a  stopped")
        rules = aws.client("events").list_rules(EventBusName=bus_name).get("Rules", [])
        assert not [r for r in rules if r["Name"].startswith(TAIL_PREFIX)]
        assert not aws.client("sqs").list_queues(QueueNamePrefix=TAIL_PREFIX).get("QueueUrls")
    aws.reset_clients()


def _local_run(stack: Any, name: str) -> str:
    line = orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": "Is invoice 7 paid?"}]},
                {"role": "assistant", "content": [{"text": "Invoice 7 was paid on Friday."}]},
            ]
        }
    )
    stack.upload(f"datasets/{name}/train.jsonl", b"\n".join([line] * 12) + b"\n")
    stack.upload(
        f"datasets/{name}/job.json", orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"})
    )
    stack.run_until_idle(timeout=60)
    (submitted,) = [
        e
        for e in stack.published_events()
        if e["detail-type"] == "JobSubmitted" and e["detail"]["data"]["runId"].startswith(f"{name}-")
    ]
    return str(submitted["detail"]["data"]["runId"])


def test_watch_stop_status_metrics_and_events_with_the_bedrock_simulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The commands as a user runs them against `tailor local up`, the simulator playing Bedrock:
    watch ends 0 on a completed job and 1 on a stopped one; stop goes through the status service."""
    from types import SimpleNamespace

    from tailor.local.bedrock_sim import SimulatorConfig
    from tailor.local.stack import LocalStack

    config = SimulatorConfig(job_quota=20, late_probability=0.0, duplicate_probability=0.0, seed=3)
    with LocalStack(time_scale=0.0001, simulate_bedrock=config) as stack, pytest.MonkeyPatch.context() as env:
        # Undone before the stack restores the environment (a test-level monkeypatch would
        # "restore" the stack's endpoint after the stack is gone, for later tests to hit).
        for name, value in stack.client_env().items():
            env.setenv(name, value)
        aws.reset_clients()
        done_id, stop_id = _local_run(stack, "cli-done"), _local_run(stack, "cli-stop")
        runner = CliRunner()

        stopped = runner.invoke(app, ["stop", stop_id])
        assert stopped.exit_code == 0, stopped.output
        assert "becomes STOPPED when Bedrock reports the job stopped" in stopped.stdout

        def meanwhile(seconds: float) -> None:  # Bedrock (simulated) and the status service move on
            stack.bedrock_simulator.finish()
            stack.run_until_idle(timeout=60)

        monkeypatch.setattr("tailor.cli.watch.time", SimpleNamespace(sleep=meanwhile))
        watched = runner.invoke(app, ["watch", done_id, "--interval", "0.1"])
        assert watched.exit_code == 0, watched.output
        assert watched.stdout.splitlines()[-1].startswith(f"{done_id} COMPLETED after")
        assert "training loss" in watched.stdout.splitlines()[-1]
        watched = runner.invoke(app, ["watch", stop_id])
        assert watched.exit_code == 1, watched.output
        assert f"{stop_id} STOPPED" in watched.stdout.splitlines()[-1]

        shown = runner.invoke(app, ["status", done_id])
        assert shown.exit_code == 0, shown.output
        assert "bedrock   Completed" in shown.stdout and "training loss  final" in shown.stdout
        assert "┤" in shown.stdout
        png = tmp_path / "loss.png"
        drawn = runner.invoke(app, ["metrics", done_id, "--png", str(png)])
        assert drawn.exit_code == 0, drawn.output
        assert png.read_bytes()[:4] == b"\x89PNG"
        again = runner.invoke(app, ["stop", done_id])
        assert again.exit_code == 1 and "has already ended (COMPLETED)" in again.output

        listed = runner.invoke(app, ["status"])
        assert listed.exit_code == 0 and "last event" in listed.stdout

        # tailor events: the status service's own events for one run, as they happen.
        from tailor.adapters import tail as tail_module

        tail_id = _local_run(stack, "cli-tail")
        original = tail_module.BusTail.create

        def create_then_finish(self: tail_module.BusTail) -> None:
            original(self)
            meanwhile(0)

        monkeypatch.setattr(tail_module.BusTail, "create", create_then_finish)
        tailed = runner.invoke(app, ["events", "--run", tail_id, "--wait", "2"])
        assert tailed.exit_code == 0, tailed.output
        lines = tailed.stdout.splitlines()
        assert any("JobStatusChanged" in line and "→ Completed" in line for line in lines), lines
        assert any("JobCompleted" in line and "training loss" in line for line in lines), lines
        assert all(tail_id in line for line in lines)
        rules = aws.client("events").list_rules(EventBusName=stack.env_value("TAILOR_BUS_NAME"))["Rules"]
        assert not [r for r in rules if r["Name"].startswith(TAIL_PREFIX)]
        assert not aws.client("sqs").list_queues(QueueNamePrefix=TAIL_PREFIX).get("QueueUrls")
    aws.reset_clients()
