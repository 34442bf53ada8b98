"""build_package: one call from an ONNX file to manifest, blobs, golden set and Greengrass recipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edge_models import NOW, fragile, provenance, sample_dir, sample_model

from tailor.edge.errors import ExportError, Stage
from tailor.edge.fidelity import FidelityGate, run_model
from tailor.edge.golden import GoldenSet
from tailor.edge.golden_inputs import generate, load_shipped
from tailor.edge.manifest import Manifest, TensorSpec, blob_key, manifest_key, sha256_hex, signature_key
from tailor.edge.package import Package, build_package

ALL = ["linux-x86_64", "linux-aarch64", "android-arm64"]


def _build(workdir: Path, source: Path | None = None, **overrides: Any) -> Package:
    kwargs: dict[str, Any] = {
        "name": "intent-classifier",
        "version": "1.0.3",
        "export_id": "exp-1",
        "profiles": ALL,
        "quantize": True,
        "gate": FidelityGate(),
        "golden_source": sample_dir() / "golden.json",
        "provenance": provenance(),
        "workdir": workdir,
        "now": NOW,
        "bucket": "tailor-artifacts",
        "max_model_bytes": 50_000_000,
    }
    kwargs.update(overrides)
    return build_package(source or sample_model(), **kwargs)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return _build(tmp_path_factory.mktemp("package"))


def test_manifest_round_trips_and_describes_every_blob(package: Package) -> None:
    assert package.manifest_bytes == package.manifest.to_bytes()
    manifest = Manifest.from_bytes(package.manifest_bytes)
    assert manifest == package.manifest
    assert (manifest.name, manifest.version, manifest.created_at) == ("intent-classifier", "1.0.3", NOW)
    assert manifest.onnx.ir_version == 9 and manifest.onnx.opsets["ai.onnx"] == 17
    assert manifest.onnx.min_onnxruntime == "1.15"
    assert [i.name for i in manifest.inputs] == ["features"] and [o.name for o in manifest.outputs] == [
        "logits"
    ]
    for blob in package.blobs:
        data = blob.path.read_bytes()
        entry = manifest.file(blob.name)
        assert (entry.sha256, entry.size) == (sha256_hex(data), len(data)) == (blob.sha256, blob.size)


def test_profiles_that_quantize_alike_share_one_blob(package: Package) -> None:
    names = sorted(blob.name for blob in package.blobs)
    assert names == ["golden.json", "model.int8-reduced.onnx", "model.int8.onnx"]
    files = {p.name: p.model_file for p in package.manifest.profiles}
    assert files == {
        "linux-x86_64": "model.int8-reduced.onnx",
        "linux-aarch64": "model.int8.onnx",
        "android-arm64": "model.int8.onnx",
    }
    x86 = package.manifest.profile("linux-x86_64")
    assert x86 is not None and x86.quantization.reduce_range and x86.quantization.per_channel
    assert len({blob.sha256 for blob in package.blobs}) == len(package.blobs)


def test_sizes_and_fidelity(package: Package) -> None:
    sizes = package.sizes
    assert sizes["sourceBytes"] == sample_model().stat().st_size
    assert sizes["modelBytes"] == max(b.size for b in package.blobs if b.name != "golden.json")
    assert sizes["modelBytes"] <= 0.30 * sizes["sourceBytes"]
    assert sizes["bundleBytes"] == sum(b.size for b in package.blobs) + len(package.manifest_bytes)
    assert set(package.fidelity) == set(ALL)
    for name, report in package.fidelity.items():
        assert report.passed and report.cosine >= 0.99, name
        assert package.manifest.profile(name).fidelity == report  # type: ignore[union-attr]
    assert set(package.timings) >= {"check", "quantize", "fidelity", "bundle"}


def test_golden_set_has_each_profiles_expected_outputs_from_the_shipped_file(package: Package) -> None:
    golden_blob = next(b for b in package.blobs if b.name == "golden.json")
    golden = GoldenSet.from_bytes(golden_blob.path.read_bytes())
    assert set(golden.expected) == {"fp32", *ALL}
    info = package.manifest.golden
    assert (info.file, info.samples, info.min_cosine, info.source) == ("golden.json", 32, 0.999, "shipped")
    shipped = GoldenSet.from_bytes((sample_dir() / "golden.json").read_bytes())
    assert golden.inputs == shipped.inputs and golden.expected["fp32"] == shipped.expected["fp32"]
    model = next(b.path for b in package.blobs if b.name == "model.int8-reduced.onnx")
    outputs = run_model(model, [golden.feeds(i) for i in range(3)])
    for i, out in enumerate(outputs):
        np.testing.assert_array_equal(out["logits"], golden.outputs("linux-x86_64", i)["logits"])


def test_recipe_shape(package: Package) -> None:
    recipe = package.recipe
    assert recipe["RecipeFormatVersion"] == "2020-01-25"
    assert recipe["ComponentName"] == "tailor.model.intent-classifier"
    assert recipe["ComponentVersion"] == "1.0.3"
    assert "not Nova" in recipe["ComponentDescription"]
    platforms = [m["Platform"] for m in recipe["Manifests"]]
    assert platforms == [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "aarch64"}]
    amd64 = recipe["Manifests"][0]
    uris = [a["URI"] for a in amd64["Artifacts"]]
    x86 = package.manifest.file("model.int8-reduced.onnx")
    golden = package.manifest.file("golden.json")
    assert uris == [
        f"s3://tailor-artifacts/{manifest_key('exp-1')}",
        f"s3://tailor-artifacts/{signature_key('exp-1')}",
        f"s3://tailor-artifacts/{blob_key(x86.sha256)}",
        f"s3://tailor-artifacts/{blob_key(golden.sha256)}",
    ]
    script = amd64["Lifecycle"]["install"]["Script"]
    assert "{work:path}" in script and f"{x86.sha256}  " in script and "model.int8-reduced.onnx" in script


def test_quantize_off_ships_the_fp32_file(tmp_path: Path) -> None:
    package = _build(tmp_path, profiles=["linux-aarch64", "linux-x86_64"], quantize=False)
    assert sorted(b.name for b in package.blobs) == ["golden.json", "model.fp32.onnx"]
    fp32 = next(b for b in package.blobs if b.name == "model.fp32.onnx")
    assert fp32.path.read_bytes() == sample_model().read_bytes()
    assert all(p.quantization.mode == "none" for p in package.manifest.profiles)
    assert package.sizes["modelBytes"] == package.sizes["sourceBytes"]


def test_generated_golden_inputs_when_none_are_shipped(tmp_path: Path) -> None:
    package = _build(tmp_path, profiles=["linux-aarch64"], golden_source=None)
    info = package.manifest.golden
    assert (info.source, info.samples) == ("generated", 32)
    golden = GoldenSet.from_bytes(next(b for b in package.blobs if b.name == "golden.json").path.read_bytes())
    assert golden.feeds(0)["features"].shape == (1, 512)
    again = _build(tmp_path / "again", profiles=["linux-aarch64"], golden_source=None)
    assert again.manifest_bytes == package.manifest_bytes  # deterministic end to end


def test_everything_is_written_under_workdir(tmp_path: Path) -> None:
    package = _build(tmp_path / "work", profiles=["linux-aarch64"])
    assert all(blob.path.is_relative_to(tmp_path / "work") for blob in package.blobs)


def test_int8_that_misses_the_gate_stops_the_export(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        _build(tmp_path, source=fragile(tmp_path / "fragile.onnx"), golden_source=None)
    assert caught.value.stage is Stage.FIDELITY and caught.value.code == "fidelity_below_threshold"
    assert caught.value.details["profile"] == "linux-x86_64"


def test_a_golden_file_for_another_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        _build(tmp_path, source=fragile(tmp_path / "fragile.onnx"))
    assert caught.value.stage is Stage.CHECK and caught.value.code == "golden_mismatch"


def test_an_unknown_profile_is_a_request_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        _build(tmp_path, profiles=["linux-riscv"])
    assert caught.value.stage is Stage.REQUEST and caught.value.code == "unknown_profile"


def test_importing_the_edge_modules_loads_no_onnx_or_numpy() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import tailor.edge.package, tailor.edge.checks, tailor.edge.quantize, tailor.edge.fidelity, "
        "tailor.edge.recipe, tailor.edge.golden_inputs, tailor.edge.sample; "
        "print(' '.join(sorted(sys.modules)))"
    )
    shared = Path(__file__).resolve().parents[3] / "shared"
    out = subprocess.run(
        [sys.executable, "-c", code, str(shared)], capture_output=True, text=True, check=True
    )
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & {"onnx", "onnxruntime", "numpy"}


def _golden_error(path: Path, specs: list[TensorSpec]) -> ExportError:
    with pytest.raises(ExportError) as caught:
        load_shipped(path, specs)
    assert caught.value.stage is Stage.CHECK and caught.value.hint
    return caught.value


FEATURES = [TensorSpec(name="features", elem_type="float32", shape=["N", 512])]


def test_shipped_golden_inputs_are_checked_against_the_signature(tmp_path: Path) -> None:
    assert len(load_shipped(sample_dir() / "golden.json", FEATURES)) == 32
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert _golden_error(bad, FEATURES).code == "golden_invalid"
    bad.write_text('{"schema": "tailor.edge.golden/1", "inputs": [], "expected": {}}')
    assert _golden_error(bad, FEATURES).code == "golden_invalid"
    other = [TensorSpec(name="ids", elem_type="int64", shape=["N", 512])]
    assert _golden_error(sample_dir() / "golden.json", other).code == "golden_mismatch"
    wrong_type = [TensorSpec(name="features", elem_type="float16", shape=["N", 512])]
    assert "float16" in _golden_error(sample_dir() / "golden.json", wrong_type).message
    wrong_shape = [TensorSpec(name="features", elem_type="float32", shape=["N", 256])]
    assert "shape" in _golden_error(sample_dir() / "golden.json", wrong_shape).message


def test_generated_inputs_follow_the_signature_and_the_seed() -> None:
    specs = [
        TensorSpec(name="x", elem_type="float32", shape=["batch", 3]),
        TensorSpec(name="ids", elem_type="int64", shape=[1, "seq"]),
        TensorSpec(name="mask", elem_type="bool", shape=[2]),
    ]
    first, again = generate(specs, samples=4), generate(specs, samples=4)
    assert len(first) == 4
    assert first[0]["x"].shape == (1, 3) and first[0]["x"].dtype == np.float32
    assert first[0]["ids"].shape == (1, 1) and first[0]["ids"].dtype == np.int64
    assert all(int(s["ids"].min()) >= 0 and int(s["ids"].max()) < 8 for s in first)
    assert first[0]["mask"].dtype == np.bool_
    for a, b in zip(first, again, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    with pytest.raises(ExportError) as caught:
        generate([TensorSpec(name="s", elem_type="str", shape=[1])])
    assert caught.value.code == "golden_unsupported_dtype"
