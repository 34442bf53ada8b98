"""No secret and no dataset content in what the services log, over the whole demo (in-process).

One run of ``tailor.local.demo.run_demo`` (what ``make demo`` does: four sample datasets from upload
to a deployed model's answer and a device fleet) while capturing everything written: every log record
reaching the root logger at DEBUG, Python-level and file-descriptor-level stdout/stderr, each
function's own log (``LocalStack.logs``: Powertools JSON and EMF metrics, what CloudWatch Logs would
hold) and the demo's console. Then none of it may contain a sentence of the sample datasets, a
credential, a presigned-URL signature, a PEM private key or the KMS signature of the edge manifest.

botocore, urllib3, moto and friends dump whole requests and responses at DEBUG (headers with the
SigV4 Authorization, S3 bodies, the presigned job document a device receives). The product never
turns their DEBUG on (template Globals: LOG_LEVEL INFO; the last test checks no service code does),
so their DEBUG records are held to nothing, but they serve as the capture's positive control: the
same scanner must find the dataset and the signature there, or the capture saw nothing.

Also checks the IoT job the demo's export created: its presigned-URL lifetime within the bound and
a document of placeholders only (test_presigned_urls.py checks the same on the functions directly).
One test function uses the run, so that ``pytest -n`` runs the ~20 s demo once.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "samples" / "demo"
# Loggers that dump wire traffic at DEBUG (never enabled by the product).
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "werkzeug", "samtranslator")
MIN_SENTENCE = 30  # characters: long enough to be a dataset's own words, not a common phrase
MAX_URL_SECONDS = 3600

CREDENTIAL_PATTERNS = {
    "secret key (config form)": re.compile(r"aws_secret_access_key", re.I),
    "secret key (env form)": re.compile(r"AWS_SECRET_ACCESS_KEY\s*[=:]"),
    "session token (env form)": re.compile(r"AWS_SESSION_TOKEN\s*[=:]"),
    "secret key (API form)": re.compile(r"SecretAccessKey", re.I),
    "fake secret value": re.compile(r"(secret|token)[\"'\s:=]{1,6}testing\b", re.I),
    "presigned URL signature": re.compile(r"X-Amz-Signature", re.I),
    "presigned URL credential": re.compile(r"X-Amz-Credential|X-Amz-Security-Token|AWSAccessKeyId", re.I),
    "SigV4 Authorization header": re.compile(r"AWS4-HMAC-SHA256 Credential="),
    "PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def dataset_sentences() -> list[str]:
    """Every ``"text"`` value of at least MIN_SENTENCE characters in the sample datasets (the broken
    one's invalid lines included: read with a regex, not a JSON parser)."""
    sentences: set[str] = set()
    for path in sorted(SAMPLES.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)"', line):
                try:
                    text = json.loads(f'"{match.group(1)}"')
                except ValueError:
                    continue
                if len(text) >= MIN_SENTENCE:
                    sentences.add(text)
    return sorted(sentences)


@dataclass
class Capture:
    records: list[tuple[str, int, str]] = field(default_factory=list)  # (logger, level, text)
    function_logs: dict[str, list[str]] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)  # stdout, stderr, fd, console
    signatures: list[bytes] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)  # describe_job + its document
    ok: bool = False
    errors: list[str] = field(default_factory=list)


class _Recorder(logging.Handler):
    def __init__(self, capture: Capture) -> None:
        super().__init__(logging.DEBUG)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record still counts, as written
            text = f"{record.msg} {record.args}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.capture.records.append((record.name, record.levelno, text))


@contextlib.contextmanager
def _fd_capture() -> Iterator[Any]:
    """What native code writes to fds 1 and 2 (onnxruntime, C extensions), into a temp file."""
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _snapshot(stack: Any, capture: Capture) -> None:
    """Before the stack stops (moto is reset then): each function's log, the signatures, the jobs."""
    capture.function_logs = {lid: stack.logs(lid) for lid in stack.provisioner.functions}
    s3 = stack.client("s3")
    bucket = stack.env_value("ARTIFACTS_BUCKET")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="edge/"):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".sig"):
                capture.signatures.append(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    iot = stack.client("iot")
    for summary in iot.list_jobs().get("jobs", []):
        job = iot.describe_job(jobId=summary["jobId"])["job"]
        job["document"] = iot.get_job_document(jobId=summary["jobId"])["document"]
        capture.jobs.append(job)


@pytest.fixture(scope="module")
def demo_capture() -> Iterator[Capture]:
    from rich.console import Console

    import tailor.local.stack as stack_module
    from tailor.local.demo import run_demo

    capture = Capture()
    original = stack_module.LocalStack

    class RecordingStack(original):  # type: ignore[misc,valid-type]
        def stop(self) -> None:
            try:
                if self.running:
                    _snapshot(self, capture)
            finally:
                super().stop()

    recorder = _Recorder(capture)
    root = logging.getLogger()
    level = root.level
    console, out, err = io.StringIO(), io.StringIO(), io.StringIO()
    # Only our handler while the demo runs: pytest's own log capture would format and keep the
    # same ~15,000 wire records a second time (restored below).
    others = list(root.handlers)
    for handler in others:
        root.removeHandler(handler)
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stack_module, "LocalStack", RecordingStack)
            with _fd_capture() as sink, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                result = run_demo(Console(file=console, width=80))
                sink.seek(0)
                capture.streams["fd"] = sink.read().decode("utf-8", errors="replace")
    finally:
        root.removeHandler(recorder)
        for handler in others:
            root.addHandler(handler)
        root.setLevel(level)
    capture.streams.update(stdout=out.getvalue(), stderr=err.getvalue(), console=console.getvalue())
    capture.ok = result.ok
    capture.errors = list(result.errors)
    yield capture


def _forms(data: bytes) -> list[str]:
    """How bytes could appear in a log line: base64 (KMS's JSON), urlsafe base64, hex, repr."""
    return [
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        data.hex(),
        repr(data)[2:40],
    ]


def _findings(text: str, sentences: list[str], signatures: list[bytes]) -> list[str]:
    found = [name for name, pattern in CREDENTIAL_PATTERNS.items() if pattern.search(text)]
    flat = " ".join(text.split())  # the console wraps lines
    for sentence in sentences:
        for form in (sentence, json.dumps(sentence)[1:-1], json.dumps(sentence, ensure_ascii=False)[1:-1]):
            if form in text or " ".join(form.split()) in flat:
                found.append(f"dataset text {sentence[:50]!r}")
                break
    for index, signature in enumerate(signatures):
        if any(form in text for form in _forms(signature)):
            found.append(f"KMS signature #{index}")
    return found


def test_the_demo_logs_no_secret_and_no_dataset_content(demo_capture: Capture) -> None:
    """(One test, so that ``pytest -n`` runs the demo once; the IoT job is checked at its end.)"""
    capture = demo_capture
    assert capture.ok, capture.errors  # the whole story ran: every service logged its part
    sentences = dataset_sentences()
    assert len(sentences) >= 20
    assert len(capture.signatures) >= 1  # the demo's edge export was signed

    sources: dict[str, str] = {}
    for lid, lines in capture.function_logs.items():
        sources[f"function log {lid}"] = "\n".join(lines)
    for name, text in capture.streams.items():
        sources[name] = text
    wire_debug: list[str] = []
    for logger, level, text in capture.records:
        wire = logger.split(".", 1)[0] in WIRE_LOGGERS
        if wire and level < logging.INFO:
            wire_debug.append(text)
        else:
            sources.setdefault(f"log record {logger}", "")
            sources[f"log record {logger}"] += text + "\n"

    # Each function that ran left structured lines (Powertools JSON / EMF) to scan.
    ran = {lid for lid, lines in capture.function_logs.items() if lines}
    assert ran >= {"IngestionFunction", "SubmissionFunction", "StatusFunction", "EdgeExportFunction"}
    assert any('"level":"INFO"' in line for lines in capture.function_logs.values() for line in lines)

    leaks = {
        where: found
        for where, text in sources.items()
        if (found := _findings(text, sentences, capture.signatures))
    }
    assert leaks == {}, json.dumps(leaks, indent=1)

    # Positive control: the same scanner finds dataset text, signatures and SigV4 material in the
    # wire dumps (S3 bodies, KMS responses, request headers), so the capture did see the traffic.
    control = set(_findings("\n".join(wire_debug), sentences, capture.signatures))
    assert any(f.startswith("dataset text") for f in control), sorted(control)
    assert "KMS signature #0" in control and "SigV4 Authorization header" in control, sorted(control)

    _check_the_demo_job(capture)


def _check_the_demo_job(capture: Capture) -> None:
    """The IoT job the demo's export created: a bounded URL lifetime and placeholders only."""
    (job,) = [j for j in capture.jobs if j["jobId"].startswith("tailor-")]
    assert 60 <= job["presignedUrlConfig"]["expiresInSec"] <= MAX_URL_SECONDS
    assert job["presignedUrlConfig"]["roleArn"].split(":role/", 1)[1]  # the presign role, by ARN
    document = job["document"]
    assert not any(p.search(document) for p in CREDENTIAL_PATTERNS.values())
    urls = re.findall(r"https?://[^\"}\s]+", document)
    placeholders = re.findall(r"\$\{aws:iot:s3-presigned-url-v2:(https://[^}]+)\}", document)
    assert urls and urls == placeholders  # every URL is inside a placeholder
    assert all("/edge/" in url and "?" not in url for url in urls)


def test_no_service_turns_on_debug_logging() -> None:
    """The premise of excluding the wire loggers' DEBUG above: nothing shipped to Lambda enables it."""
    shipped = [
        *sorted((REPO_ROOT / "services").glob("*/*.py")),
        *sorted((REPO_ROOT / "shared" / "tailor").rglob("*.py")),
    ]
    laptop_only = (REPO_ROOT / "shared" / "tailor" / "cli", REPO_ROOT / "shared" / "tailor" / "local")
    pattern = re.compile(r"set_stream_logger|logging\.DEBUG|basicConfig\(|log_event\s*=\s*True")
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in shipped
        if not any(path.is_relative_to(p) for p in laptop_only)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    template = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    assert re.search(r"^\s+LOG_LEVEL: INFO\s*$", template, re.M)
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in template


def test_the_scanner_finds_each_kind_of_leak() -> None:
    """_findings on planted lines (no demo): each kind is reported, in the forms logs write it."""
    sentences = dataset_sentences()
    sentence = next(s for s in sentences if len(s) > 60)
    signature = bytes(range(70))
    planted = {
        "dataset text": json.dumps({"message": "bad record", "record": sentence}),
        "dataset text (wrapped)": sentence[:30] + "\n   " + sentence[30:],
        "secret key (env form)": "AWS_SECRET_ACCESS_KEY=testing",
        "secret key (config form)": "aws_secret_access_key = testing",
        "fake secret value": '{"secret": "testing"}',
        "presigned URL signature": "https://b.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=ab12",
        "PEM private key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE",
        "KMS signature #0": json.dumps({"Signature": base64.b64encode(signature).decode()}),
    }
    for kind, text in planted.items():
        found = _findings(text, sentences, [signature])
        expected = "dataset text" if kind.startswith("dataset text") else kind
        assert any(f.startswith(expected) for f in found), (kind, found)
    clean = '{"level":"INFO","message":"dataset validated","runId":"support-bot-0123"}'
    assert _findings(clean, sentences, [signature]) == []
