"""What a handler pulls in at import (Lambda's INIT): only what the layer ships, nothing heavy.

The speed itself is measured in benchmarks/coldstart.py; this guards the cause: a stray import of
boto3, the CLI's libraries or the local stack's on the handler's import path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent.name for p in (ROOT / "services").glob("*/app.py"))
# boto3 and botocore's client machinery: built lazily by tailor.adapters (Powertools imports the
# bare botocore package for its user agent, which is cheap); typer/rich: CLI only, not in the
# layer; moto/yaml/samtranslator: local stack only; aws_xray_sdk: Powertools Tracer (~0.35 s).
FORBIDDEN = (
    "boto3",
    "botocore.client",
    "botocore.session",
    "typer",
    "rich",
    "moto",
    "yaml",
    "samtranslator",
    "aws_xray_sdk",
    # The ONNX stack: only the edge export function carries it, and even it imports it lazily.
    "onnx",
    "onnxruntime",
    "numpy",
    # The Kubernetes client: only the HyperPod function carries it, and imports it on first use.
    "kubernetes",
)


@pytest.mark.parametrize("service", HANDLERS)
def test_handler_import_stays_lean(service: str) -> None:
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "services" / service), str(ROOT / "shared")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": service},
    )
    loaded = set(out.stdout.split())
    stray = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN or m in FORBIDDEN)
    assert not stray, f"services/{service}/app.py imports {stray}"
    assert "tailor" in loaded and "aws_lambda_powertools" in loaded


def test_only_the_edge_export_function_carries_the_onnx_stack() -> None:
    carriers = {
        p.parent.name
        for p in (ROOT / "services").glob("*/requirements.txt")
        if any(name in p.read_text() for name in ("onnx", "onnxruntime", "numpy"))
    }
    assert carriers == {"edge_export"}
    layer = (ROOT / "shared" / "requirements.txt").read_text()
    assert "onnx" not in layer and "numpy" not in layer


def test_every_service_is_checked() -> None:
    assert "ingestion" in HANDLERS
