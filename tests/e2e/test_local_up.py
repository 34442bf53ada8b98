"""`tailor local up` as a user runs it: a separate process serving the stack until SIGTERM,
driven from outside with plain boto3 and the environment it prints."""

from __future__ import annotations

import os
import queue
import re
import signal
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


def test_local_up_serves_uploads_from_another_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from tailor.cli.main import main; main()", "local", "up"],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
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
        assert "SIMULATED" in banner and "EMULATED" in banner

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
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
    output = "".join(lines.queue)
    assert process.returncode == 0, output
    assert "1 invocation(s)" in output and "Local stack stopped" in output
