"""`tailor submit FILE … --wait --local` against the embedded local stack, served in a background
thread as `tailor local up` serves it (Bedrock training and deployments SIMULATED): a good file
completes (exit 0), a broken one is rejected with its first error's line (exit 1), `--deploy` waits
until the deployment is Active. The CLI finds the stack through `.tailor/local.env`, the file
`tailor local up` writes by default.

The CLI runs in its own process, as a user runs it in another shell: in this process the stack's
dispatcher thread swaps sys.stdout/sys.stderr while a function runs, which would steal its output."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from tailor.cli.local import write_env_file
from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.deployments_sim import DeploymentConfig
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration

# The `tailor_cli` fixture (tests/integration/conftest.py): the CLI in its own process.
TailorCli = Callable[..., subprocess.CompletedProcess[str]]

WAIT = ["--wait", "--local", "--interval", "0.1", "--timeout", "60"]


def record(i: int, *, assistant_first: bool = False) -> bytes:
    turns = [
        {"role": "user", "content": [{"text": f"Can I return order number {i}?"}]},
        {"role": "assistant", "content": [{"text": f"Yes, order {i} within 30 days."}]},
    ]
    return orjson.dumps({"messages": turns[::-1] if assistant_first else turns})


def data_file(path: Path, n: int = 12, *, broken_at: int | None = None) -> Path:
    path.write_bytes(b"\n".join(record(i, assistant_first=i == broken_at) for i in range(n)) + b"\n")
    return path


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        time_scale=0.0001,
        simulate_bedrock=SimulatorConfig.exact(job_quota=20, job_seconds=0.3),
        deployments=DeploymentConfig(active_after_gets=1, quota=5),
    ) as local:
        stop = threading.Event()
        server = threading.Thread(target=local.serve, args=(stop,), kwargs={"schedules": False}, daemon=True)
        server.start()
        try:
            yield local
        finally:
            stop.set()
            server.join(timeout=30)


@pytest.fixture
def tailor(tailor_cli: TailorCli) -> TailorCli:
    return tailor_cli


@pytest.fixture
def workdir(stack: LocalStack, tmp_path: Path) -> Path:
    """A working directory with the env file `tailor local up` writes there."""
    write_env_file(tmp_path / ".tailor" / "local.env", stack.client_env())
    return tmp_path


def test_a_good_file_completes(workdir: Path, tailor: TailorCli) -> None:
    train = data_file(workdir / "returns.jsonl")
    result = tailor(
        workdir, "submit", str(train), "--technique", "fine-tuning", "--model", "nova-lite", *WAIT
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip().splitlines()[0]
    assert run_id.startswith("returns-")
    assert f"{run_id} COMPLETED" in result.stderr

    again = tailor(workdir, "submit", str(train), "--technique", "fine-tuning", "--model", "nova-lite", *WAIT)
    assert again.returncode == 0, again.stderr
    assert "already submitted" in again.stderr and again.stdout.strip() == run_id


def test_a_broken_file_is_rejected_with_its_first_error(workdir: Path, tailor: TailorCli) -> None:
    train = data_file(workdir / "broken.jsonl", broken_at=9)
    flags = [str(train), "--technique", "fine-tuning", "--model", "nova-lite"]
    refused = tailor(workdir, "submit", *flags, *WAIT)  # local validation: nothing uploaded
    assert refused.returncode == 1 and f"{train}:10 role_order" in refused.stderr

    rejected = tailor(workdir, "submit", *flags, "--skip-validation", *WAIT)  # ingestion rejects it
    assert rejected.returncode == 1, rejected.stderr
    run_id = rejected.stdout.strip()
    assert f"{run_id} REJECTED" in rejected.stderr
    assert "train.jsonl:10 role_order" in rejected.stderr


def test_deploy_waits_until_the_deployment_is_active(
    stack: LocalStack, workdir: Path, tailor: TailorCli
) -> None:
    train = data_file(workdir / "deployed.jsonl", 14)
    result = tailor(
        workdir, "submit", str(train), "--technique", "fine-tuning", "--model", "nova-lite", "--deploy", *WAIT
    )
    assert result.returncode == 0, result.stderr
    run_id, arn = result.stdout.strip().splitlines()
    assert f"{run_id} COMPLETED" in result.stderr and f"run {run_id} is deployed" in result.stderr
    assert arn.startswith("arn:aws:bedrock:") and "deployment" in arn

    shown = tailor(workdir, "status", run_id, "--json", env=stack.client_env())  # status: the environment
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout)["run"]["facts"]["deploymentStatus"] == "Active"


def test_a_users_journey_with_local(workdir: Path, tailor: TailorCli) -> None:
    """submit --deploy --wait, then watch, deploy, invoke and events, each with --local only."""
    train = data_file(workdir / "journey.jsonl", 16)
    flags = ["--technique", "fine-tuning", "--model", "nova-lite", "--deploy"]
    submitted = tailor(workdir, "submit", str(train), *flags, *WAIT)
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip().splitlines()[0]

    watched = tailor(workdir, "watch", run_id, "--local", "--interval", "0.1")
    assert watched.returncode == 0, watched.stderr
    assert "COMPLETED" in watched.stdout + watched.stderr

    again = tailor(workdir, "deploy", run_id, "--local")
    assert again.returncode == 0 and "already deployed" in again.stdout, again.stderr

    answered = tailor(workdir, "invoke", run_id, "Can I return order 7?", "--local", "--json")
    assert answered.returncode == 0, answered.stderr
    answer = orjson.loads(answered.stdout)
    assert answer["simulated"] is True and answer["text"]

    events = tailor(workdir, "events", "--local", "--wait", "1", "--json")
    assert events.returncode == 0, events.stderr

    status = tailor(workdir, "status", run_id, "--local", "--json")
    assert status.returncode == 0, status.stderr
    facts = orjson.loads(status.stdout)["run"]["facts"]
    assert facts["deploymentStatus"] == "Active" and facts["jobStatus"] == "Completed"
