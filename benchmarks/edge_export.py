"""Edge export cost: the whole ``build_package`` (+ signing) vs a bare ``quantize_dynamic``.

In one process: build the sample intent classifier (an open student model, not Nova), time a bare
onnxruntime ``quantize_dynamic`` of it (median of several runs), then the full path the export
function runs for one profile — checks, quantize, fidelity gate, golden outputs, manifest, recipe,
and a P-256 signature of the manifest. Targets: int8/fp32 size ≤ 0.30 at cosine ≥ 0.99, and the
package path ≤ 2x the bare quantization.

    .venv/bin/python benchmarks/edge_export.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "shared"))

from tailor.edge.fidelity import FidelityGate  # noqa: E402
from tailor.edge.manifest import Provenance  # noqa: E402
from tailor.edge.package import Package, build_package  # noqa: E402
from tailor.edge.sample import build_intent_classifier  # noqa: E402
from tailor.edge.signing import LocalSigner, sign_manifest, verify_signature  # noqa: E402

TARGET_SIZE_RATIO = 0.30
TARGET_MIN_COSINE = 0.99
TARGET_PACKAGE_RATIO = 2.0
PROFILE = "linux-x86_64"
ALL_PROFILES = ["linux-x86_64", "linux-aarch64", "android-arm64"]


def _bare(source: Path, out: Path) -> float:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return time.perf_counter() - started


def _package(
    source: Path, golden: Path, workdir: Path, profiles: list[str], signer: LocalSigner
) -> tuple[float, Package]:
    from datetime import UTC, datetime

    started = time.perf_counter()
    package = build_package(
        source,
        name="intent-classifier",
        version="1.0.0",
        export_id="bench",
        profiles=profiles,
        quantize=True,
        gate=FidelityGate(),
        golden_source=golden,
        provenance=Provenance(
            export_id="bench", source_model_uri="s3://bench/model.onnx", source_model_sha256="0" * 64
        ),
        workdir=workdir,
        now=datetime(2026, 12, 2, tzinfo=UTC),
        bucket="bench",
        max_model_bytes=100_000_000,
    )
    signature = sign_manifest(signer, package.manifest_bytes)
    elapsed = time.perf_counter() - started
    verify_signature(signer.public_key_der(), package.manifest_bytes, signature)
    return elapsed, package


def measure(runs: int) -> dict[str, Any]:
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's "consider pre-processing" warning
    with tempfile.TemporaryDirectory(prefix="tailor-edge-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        source = build_intent_classifier(root / "sample")
        build_seconds = time.perf_counter() - started
        golden = source.parent / "golden.json"
        signer = LocalSigner()
        _bare(source, root / "warm.onnx")  # imports and first-call set-up out of both timings
        _package(source, golden, root / "warm", [PROFILE], signer)
        bare, full, full3 = [], [], []
        package: Package | None = None
        for i in range(runs):  # interleaved so machine noise hits both alike
            bare.append(_bare(source, root / f"bare{i}.onnx"))
            seconds, package = _package(source, golden, root / f"pkg{i}", [PROFILE], signer)
            full.append(seconds)
            full3.append(
                _package(
                    source,
                    golden,
                    root / f"pkg3-{i}",
                    ["linux-x86_64", "linux-aarch64", "android-arm64"],
                    signer,
                )[0]
            )
        assert package is not None
        build = package.manifest.profile(PROFILE)
        assert build is not None
        report = package.fidelity[PROFILE]
        sizes = package.sizes
        bare_s, full_s = statistics.median(bare), statistics.median(full)
        return {
            "sampleBuildSeconds": round(build_seconds, 3),
            "fp32Bytes": sizes["sourceBytes"],
            "int8Bytes": sizes["modelBytes"],
            "bundleBytes": sizes["bundleBytes"],
            "sizeRatio": round(sizes["modelBytes"] / sizes["sourceBytes"], 4),
            "cosine": report.cosine,
            "argmaxAgreement": report.argmax_agreement,
            "perChannel": build.quantization.per_channel,
            "bareQuantizeSeconds": round(bare_s, 4),
            "packageSeconds": round(full_s, 4),
            "packageOverBare": round(full_s / bare_s, 3),
            "package3ProfilesSeconds": round(statistics.median(full3), 4),
            "packageTimings": {k: round(v, 4) for k, v in package.timings.items()},
            "runs": runs,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    args = parser.parse_args()
    result = measure(args.runs)
    checks = {
        "size ratio <= 0.30": float(result["sizeRatio"]) <= TARGET_SIZE_RATIO,
        "cosine >= 0.99": float(result["cosine"]) >= TARGET_MIN_COSINE,
        "package <= 2x bare quantize": float(result["packageOverBare"]) <= TARGET_PACKAGE_RATIO,
    }
    result["pass"] = all(checks.values())
    print(json.dumps(result, indent=None if args.json else 2))
    if not args.json:
        for name, ok in checks.items():
            print(f"{name}: {'pass' if ok else 'MISS'}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
