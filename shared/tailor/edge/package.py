"""Build an edge bundle from one open ONNX model: check, quantize per profile, gate, golden, manifest.

This is what the export service calls after downloading the model (an open compact model such as a
student trained on a Nova model's outputs; Nova weights never leave AWS). Everything is written
under ``workdir``; nothing is signed or uploaded here — the service signs ``manifest_bytes`` and
uploads each blob to ``blob_key(sha256)``. Profiles that quantize alike share one file.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.edge.checks import AI_ONNX, ModelInfo, inspect_model, min_onnxruntime, read_versions
from tailor.edge.errors import ExportError, Stage
from tailor.edge.fidelity import FidelityGate, Outputs, quantize_gated, run_model
from tailor.edge.golden import GOLDEN_FILE_NAME, MAX_GOLDEN_BYTES, GoldenSet, Tensor
from tailor.edge.golden_inputs import generate, load_shipped
from tailor.edge.manifest import (
    FidelityReport,
    GoldenInfo,
    Manifest,
    ManifestFile,
    OnnxInfo,
    ProfileBuild,
    Provenance,
    Quantization,
)
from tailor.edge.profiles import DeviceProfile, UnknownProfileError
from tailor.edge.profiles import profile as device_profile
from tailor.edge.recipe import build_recipe

if TYPE_CHECKING:
    import numpy as np

DEVICE_SMOKE_MIN_COSINE = 0.999
FP32_FILE = "model.fp32.onnx"


@dataclass(frozen=True, slots=True)
class Blob:
    sha256: str
    path: Path
    size: int
    name: str


@dataclass(frozen=True, slots=True)
class Package:
    manifest: Manifest
    manifest_bytes: bytes
    blobs: list[Blob]
    recipe: dict[str, Any]
    sizes: dict[str, int]
    fidelity: dict[str, FidelityReport]
    timings: dict[str, float] = field(default_factory=dict)


def model_file_name(quantization: Quantization) -> str:
    """``model.int8.onnx``, ``model.int8-reduced.onnx``, ``model.uint8-pertensor.onnx``, ..."""
    if quantization.mode == "none":
        return FP32_FILE
    base = "uint8" if quantization.weight_type == "QUInt8" else "int8"
    suffix = ("-reduced" if quantization.reduce_range else "") + (
        "" if quantization.per_channel else "-pertensor"
    )
    return f"model.{base}{suffix}.onnx"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _same_bytes_as(path: Path, existing: Sequence[Path]) -> Path:
    """A file identical to one already made is dropped: one blob, one name."""
    digest = _file_sha256(path)
    for other in existing:
        if other != path and _file_sha256(other) == digest:
            path.unlink()
            return other
    return path


def _profiles(names: Sequence[str]) -> list[DeviceProfile]:
    if not names:
        raise ExportError(
            Stage.REQUEST, "no_profiles", "no device profile requested", hint="list at least one profile"
        )
    if len(set(names)) != len(names):
        raise ExportError(
            Stage.REQUEST, "duplicate_profile", f"profiles {list(names)} repeat a name", hint="list each once"
        )
    try:
        return [device_profile(name) for name in names]
    except UnknownProfileError as exc:
        raise ExportError(
            Stage.REQUEST, "unknown_profile", str(exc), hint="use a profile from tailor.edge.profiles"
        ) from None


def _golden_feeds(info: ModelInfo, golden_source: Path | None) -> list[dict[str, np.ndarray]]:
    if golden_source is not None:
        return load_shipped(golden_source, info.inputs)
    return generate(info.inputs)


def _shipped_onnx_info(info: ModelInfo, files: Sequence[Path]) -> OnnxInfo:
    """IR and opsets of the files as shipped (quantized files may add e.g. com.microsoft)."""
    import onnx

    opsets = dict(info.opsets)
    ir_version = info.ir_version
    for path in files:
        file_ir, file_opsets = read_versions(onnx.load(str(path), load_external_data=False))
        ir_version = max(ir_version, file_ir)
        for domain, version in file_opsets.items():
            opsets[domain] = max(opsets.get(domain, 0), version)
    runtime = min_onnxruntime(ir_version, opsets[AI_ONNX], where="shipped model")
    return OnnxInfo(ir_version=ir_version, opsets=opsets, min_onnxruntime=runtime)


def _samples_of(arrays: Sequence[dict[str, np.ndarray]]) -> list[dict[str, Tensor]]:
    return [{name: Tensor.of(array) for name, array in sample.items()} for sample in arrays]


def build_package(
    source: Path,
    *,
    name: str,
    version: str,
    export_id: str,
    profiles: Sequence[str],
    quantize: bool,
    gate: FidelityGate,
    golden_source: Path | None,
    provenance: Provenance,
    workdir: Path,
    now: datetime,
    bucket: str,
    max_model_bytes: int,
) -> Package:
    """Check, quantize (per profile, gated), write the golden set, and describe it all in a manifest."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    devices = _profiles(profiles)
    info = inspect_model(Path(source), max_bytes=max_model_bytes)
    out_dir = Path(workdir) / "bundle"
    out_dir.mkdir(parents=True, exist_ok=True)
    feeds = _golden_feeds(info, golden_source)
    timings["check"] = time.perf_counter() - started

    mark = time.perf_counter()
    reference = run_model(Path(source), feeds)
    fidelity_seconds = time.perf_counter() - mark
    builds: list[ProfileBuild] = []
    fidelity: dict[str, FidelityReport] = {}
    expected: dict[str, list[Outputs]] = {}
    model_paths: dict[str, Path] = {}  # file name → path, each distinct file once
    cache: dict[tuple[str, bool], tuple[Path, Quantization, FidelityReport, list[Outputs]]] = {}
    quantize_seconds = 0.0
    for device in devices:
        if quantize:
            key = (device.weight_type, device.reduce_range)
            if key not in cache:
                scratch = (
                    out_dir / f"{device.weight_type}-{'reduced' if device.reduce_range else 'full'}.onnx"
                )
                done = quantize_gated(Path(source), scratch, device, gate, feeds, reference)
                final = out_dir / model_file_name(done.quantization)
                done.path.replace(final)
                final = _same_bytes_as(final, [entry[0] for entry in cache.values()])
                cache[key] = (final, done.quantization, done.report, done.outputs)
                quantize_seconds += done.quantize_seconds
                fidelity_seconds += done.fidelity_seconds
            path, settings, report, outputs = cache[key]
        else:
            path = out_dir / FP32_FILE
            if FP32_FILE not in model_paths:  # a byte copy: the device runs exactly what was checked
                shutil.copyfile(source, path)
            settings, outputs = Quantization(mode="none"), reference
            report = gate.evaluate(reference, outputs)
        model_paths[path.name] = path
        fidelity[device.name] = report
        expected[device.name] = outputs
        builds.append(
            ProfileBuild(
                name=device.name,
                os=device.os,
                arch=device.arch,
                model_file=path.name,
                quantization=settings,
                fidelity=report,
            )
        )
    timings["quantize"] = quantize_seconds
    timings["fidelity"] = fidelity_seconds

    mark = time.perf_counter()
    golden = GoldenSet(
        inputs=_samples_of(feeds),
        expected={"fp32": _samples_of(reference), **{k: _samples_of(v) for k, v in expected.items()}},
    )
    golden_bytes = golden.to_bytes()
    if len(golden_bytes) > MAX_GOLDEN_BYTES:
        raise ExportError(
            Stage.BUNDLE,
            "golden_too_large",
            f"the golden set with every profile's outputs is {len(golden_bytes):,} bytes, more than "
            f"{MAX_GOLDEN_BYTES:,}",
            hint="ship fewer or smaller golden inputs (job.json edge.golden), or fewer profiles per export",
        )
    golden_path = out_dir / GOLDEN_FILE_NAME
    golden_path.write_bytes(golden_bytes)
    blobs = [
        Blob(_file_sha256(path), path, path.stat().st_size, file_name)
        for file_name, path in sorted(model_paths.items())
    ]
    blobs.append(Blob(_file_sha256(golden_path), golden_path, golden_path.stat().st_size, GOLDEN_FILE_NAME))
    files = [
        ManifestFile(
            name=blob.name,
            sha256=blob.sha256,
            size=blob.size,
            role="golden" if blob.name == GOLDEN_FILE_NAME else "model",
        )
        for blob in blobs
    ]
    manifest = Manifest(
        name=name,
        version=version,
        created_at=now,
        files=files,
        onnx=_shipped_onnx_info(info, list(model_paths.values())),
        inputs=info.inputs,
        outputs=info.outputs,
        profiles=builds,
        golden=GoldenInfo(
            file=GOLDEN_FILE_NAME,
            samples=len(feeds),
            min_cosine=DEVICE_SMOKE_MIN_COSINE,
            source="shipped" if golden_source is not None else "generated",
        ),
        provenance=provenance,
    )
    manifest_bytes = manifest.to_bytes()
    (out_dir / "manifest.json").write_bytes(manifest_bytes)
    recipe = build_recipe(manifest, bucket=bucket, export_id=export_id)
    timings["bundle"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    model_sizes = [blob.size for blob in blobs if blob.name != GOLDEN_FILE_NAME]
    sizes = {
        "sourceBytes": info.size_bytes,
        "modelBytes": max(model_sizes),
        "bundleBytes": sum(blob.size for blob in blobs) + len(manifest_bytes),
    }
    return Package(
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        blobs=blobs,
        recipe=recipe,
        sizes=sizes,
        fidelity=fidelity,
        timings=timings,
    )
