"""The fidelity gate: fp32 vs int8 on the golden inputs; per-channel first, per-tensor fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edge_models import fragile, mlp, sample_dir, sample_model

import tailor.edge.fidelity as fidelity
from tailor.edge.errors import ExportError, Stage
from tailor.edge.fidelity import FidelityGate, quantize_gated, run_model
from tailor.edge.golden import GoldenSet
from tailor.edge.golden_inputs import generate
from tailor.edge.manifest import Quantization, TensorSpec
from tailor.edge.profiles import PROFILES, DeviceProfile
from tailor.edge.quantize import quantize as real_quantize
from tailor.jobs.spec import FidelitySpec

X = [TensorSpec(name="x", elem_type="float32", shape=["N", 64])]


def _out(*rows: list[float]) -> list[dict[str, np.ndarray]]:
    return [{"y": np.array([row], dtype=np.float32)} for row in rows]


def test_identical_outputs_pass_on_cosine() -> None:
    ref = _out([1, 2, 3], [3, 2, 1])
    report = FidelityGate().evaluate(ref, ref)
    assert (report.cosine, report.argmax_agreement, report.metric, report.passed) == (
        1.0,
        1.0,
        "cosine",
        True,
    )
    assert report.threshold == 0.99 and report.samples == 2


def test_drifting_logits_with_the_same_decisions_pass_on_argmax() -> None:
    report = FidelityGate().evaluate(_out([1, 0, 0], [0, 5, 0]), _out([1, 0.9, 0.9], [0, 5, 0]))
    assert report.cosine < 0.99
    assert (report.metric, report.threshold, report.passed, report.argmax_agreement) == (
        "argmax",
        0.99,
        True,
        1.0,
    )


def test_both_missing_fails_on_cosine() -> None:
    report = FidelityGate().evaluate(_out([1, 0, 0], [0, 1, 0]), _out([0, 1, 0], [0, 1, 0]))
    assert (report.metric, report.passed, report.argmax_agreement) == ("cosine", False, 0.5)
    assert report.cosine == 0.0


def test_gate_from_the_job_spec() -> None:
    assert FidelityGate.from_spec(FidelitySpec(min_cosine=0.95)) == FidelityGate(0.95, 0.99)


def test_sample_int8_keeps_fidelity_on_its_real_golden_inputs(tmp_path: Path) -> None:
    golden = GoldenSet.from_bytes((sample_dir() / "golden.json").read_bytes())
    feeds = [golden.feeds(i) for i in range(len(golden.inputs))]
    reference = run_model(sample_model(), feeds)
    for i, outputs in enumerate(reference):  # the shipped expected outputs are what onnxruntime gives
        np.testing.assert_array_equal(outputs["logits"], golden.outputs("fp32", i)["logits"])
    done = quantize_gated(
        sample_model(), tmp_path / "q.onnx", PROFILES["linux-x86_64"], FidelityGate(), feeds, reference
    )
    assert done.quantization.per_channel
    assert done.report.passed and done.report.cosine >= 0.99 and done.report.argmax_agreement == 1.0
    assert done.path.exists() and not list(tmp_path.glob("*.tmp"))


def test_a_model_int8_breaks_fails_with_measured_numbers(tmp_path: Path) -> None:
    source = fragile(tmp_path / "fragile.onnx")
    feeds = generate(X)
    reference = run_model(source, feeds)
    with pytest.raises(ExportError) as caught:
        quantize_gated(
            source, tmp_path / "q.onnx", PROFILES["linux-aarch64"], FidelityGate(), feeds, reference
        )
    error = caught.value
    assert error.stage is Stage.FIDELITY and error.code == "fidelity_below_threshold"
    assert error.details["cosine"] < 0.5 and error.details["argmaxAgreement"] < 0.99
    assert error.details["minCosine"] == 0.99 and error.details["minArgmaxAgreement"] == 0.99
    assert error.details["profile"] == "linux-aarch64"
    assert "per-channel" in error.message and "per-tensor" in error.message
    assert "quantize" in (error.hint or "") and "edge.fidelity" in (error.hint or "")
    assert not (tmp_path / "q.onnx").exists() and not list(tmp_path.glob("*.tmp"))


def test_falls_back_to_per_tensor_when_per_channel_misses_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = mlp(tmp_path / "other.onnx", seed=99)  # same signature, different weights: fails the gate

    def quantize(source: Path, out: Path, profile: DeviceProfile, per_channel: bool) -> Quantization:
        return real_quantize(other if per_channel else source, out, profile, per_channel)

    monkeypatch.setattr(fidelity, "quantize", quantize)
    source = mlp(tmp_path / "m.onnx")
    feeds = generate(X)
    reference = run_model(source, feeds)
    done = quantize_gated(
        source, tmp_path / "q.onnx", PROFILES["linux-aarch64"], FidelityGate(), feeds, reference
    )
    assert not done.quantization.per_channel and done.report.passed


def test_falls_back_to_per_tensor_when_per_channel_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quantize(source: Path, out: Path, profile: DeviceProfile, per_channel: bool) -> Quantization:
        if per_channel:
            raise ExportError(Stage.QUANTIZE, "quantize_failed", "per-channel unsupported here")
        return real_quantize(source, out, profile, per_channel)

    monkeypatch.setattr(fidelity, "quantize", quantize)
    source = mlp(tmp_path / "m.onnx")
    feeds = generate(X)
    done = quantize_gated(
        source, tmp_path / "q.onnx", PROFILES["linux-x86_64"], FidelityGate(), feeds, run_model(source, feeds)
    )
    assert not done.quantization.per_channel and done.report.passed


def test_when_the_quantizer_always_raises_its_error_surfaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quantize(*args: Any) -> Quantization:
        raise ExportError(Stage.QUANTIZE, "quantize_failed", "no")

    monkeypatch.setattr(fidelity, "quantize", quantize)
    source = mlp(tmp_path / "m.onnx")
    feeds = generate(X)
    with pytest.raises(ExportError) as caught:
        quantize_gated(
            source,
            tmp_path / "q.onnx",
            PROFILES["linux-x86_64"],
            FidelityGate(),
            feeds,
            run_model(source, feeds),
        )
    assert caught.value.code == "quantize_failed"


def test_running_on_wrong_inputs_is_reported(tmp_path: Path) -> None:
    source = mlp(tmp_path / "m.onnx")
    with pytest.raises(ExportError) as caught:
        run_model(source, [{"x": np.zeros((1, 3), np.float32)}])
    assert caught.value.code == "model_run_failed" and caught.value.stage is Stage.FIDELITY
