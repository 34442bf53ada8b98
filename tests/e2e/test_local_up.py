"""`tailor local up` as a user runs it: a separate process serving the stack until SIGTERM,
driven from outside with plain boto3 and the environment it prints."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _read_until(lines: queue.Queue[str], marker: str, timeout: float) -> str:
    """Lines from the reader thread until one contains ``marker`` (select() on a buffered text
    pipe misses lines already buffered, so a thread does the reading)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed within {timeout}s:\n{''.join(seen)}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_local_up_serves_uploads_from_another_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    port, env_file = _free_port(), tmp_path / "local.env"
    command = ["local", "up", "--port", str(port), "--env-file", str(env_file), "--quiet"]
    process = subprocess.Popen(
        [sys.executable, "-c", "from tailor.cli.main import main; main()", *command],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "80"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        banner = _read_until(lines, "Dispatching", timeout=60)
        exported = dict(re.findall(r"^export (\w+)=(\S+)$", banner, flags=re.MULTILINE))
        assert {"AWS_ENDPOINT_URL", "DATA_BUCKET", "ARTIFACTS_BUCKET"} <= set(exported)
        assert exported["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"  # the fixed --port
        # --env-file holds the same export lines, ready for `source`
        assert dict(re.findall(r"^export (\w+)=(\S+)$", env_file.read_text(), flags=re.MULTILINE)) == exported
        # A short, honest summary; the full tables only with --verbose.
        assert "emulated: S3, SQS, EventBridge, DynamoDB" in banner
        # Bedrock training is simulated (labelled so), the IoT Jobs data plane a local stand-in.
        assert "Bedrock training: SIMULATED (jobs advance in" in banner
        assert "IoT Jobs data plane: SIMULATED (a local stand-in" in banner
        assert "TAILOR_EDGE_PUBLIC_KEY" in exported and exported["TAILOR_IOT_JOBS_ENDPOINT"].startswith(
            "http://127.0.0.1:"
        )
        assert "Resources:" not in banner and "--verbose" in banner
        assert len(banner.splitlines()) < 30, banner

        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=exported["AWS_ENDPOINT_URL"])
        record = orjson.dumps(
            {
                "schemaVersion": "bedrock-conversation-2024",
                "messages": [
                    {"role": "user", "content": [{"text": "Where is my parcel?"}]},
                    {"role": "assistant", "content": [{"text": "It ships tomorrow."}]},
                ],
            }
        )
        s3.put_object(
            Bucket=exported["DATA_BUCKET"], Key="inbox/fine-tuning/nova-lite/parcels.jsonl", Body=record
        )

        deadline = time.monotonic() + 30
        reports: list[Any] = []
        while time.monotonic() < deadline and not reports:
            reports = s3.list_objects_v2(Bucket=exported["ARTIFACTS_BUCKET"], Prefix="reports/").get(
                "Contents", []
            )
            time.sleep(0.2)
        assert reports, "no validation report appeared"
        body = s3.get_object(Bucket=exported["ARTIFACTS_BUCKET"], Key=str(reports[0]["Key"]))["Body"].read()
        report = orjson.loads(body)
        # One record is below Nova Lite's minimum of 8: a rejection that says so.
        assert report["valid"] is False and "record_count" in report["error_counts"]
        # The report is written inside the handler; the run line is printed by the serve loop after
        # the dispatch returns: wait for it, or SIGTERM could cut the batch (and its counts) short.
        transitions = _read_until(lines, " REJECTED (", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
    output = transitions + "".join(lines.queue)
    assert process.returncode == 0, output
    assert "1 invocation(s)" in output and "Local stack stopped" in output
    # One human line per run transition, with the whole run id.
    received = re.search(r"^\d\d:\d\d:\d\d run (parcels-[0-9a-f]{20}) RECEIVED$", output, flags=re.MULTILINE)
    assert received, output
    assert re.search(rf"^\d\d:\d\d:\d\d run {received.group(1)} REJECTED \(", output, flags=re.MULTILINE), (
        output
    )


def test_local_up_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from tailor.cli.main import main; main()",
                "local",
                "up",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr == f"error: port {port} on 127.0.0.1 is in use: pass another --port, or 0 for any\n"
