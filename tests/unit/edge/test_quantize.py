"""quantize: int8 weights, versions pinned, the same bytes for the same input and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
from edge_models import mlp, sample_model

from tailor.edge.errors import ExportError, Stage
from tailor.edge.profiles import PROFILES, DeviceProfile
from tailor.edge.quantize import quantize


def test_keeps_ir_and_opset_and_shrinks_the_model(tmp_path: Path) -> None:
    out = tmp_path / "q.onnx"
    settings = quantize(sample_model(), out, PROFILES["linux-x86_64"], per_channel=True)
    model = onnx.load(str(out))
    assert model.ir_version == 9
    assert {o.domain or "ai.onnx": o.version for o in model.opset_import}["ai.onnx"] == 17
    assert settings.mode == "int8-dynamic" and settings.weight_type == "QInt8"
    assert settings.per_channel and settings.reduce_range
    assert out.stat().st_size <= 0.30 * sample_model().stat().st_size


def test_same_input_same_bytes(tmp_path: Path) -> None:
    profile = PROFILES["linux-aarch64"]
    quantize(sample_model(), tmp_path / "a.onnx", profile, per_channel=True)
    quantize(sample_model(), tmp_path / "b.onnx", profile, per_channel=True)
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_profiles_with_the_same_settings_give_the_same_bytes(tmp_path: Path) -> None:
    quantize(sample_model(), tmp_path / "arm.onnx", PROFILES["linux-aarch64"], per_channel=True)
    quantize(sample_model(), tmp_path / "android.onnx", PROFILES["android-arm64"], per_channel=True)
    quantize(sample_model(), tmp_path / "x86.onnx", PROFILES["linux-x86_64"], per_channel=True)
    assert (tmp_path / "arm.onnx").read_bytes() == (tmp_path / "android.onnx").read_bytes()
    assert (tmp_path / "arm.onnx").read_bytes() != (tmp_path / "x86.onnx").read_bytes()


def test_an_ir_stamped_newer_by_the_quantizer_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime.quantization as q

    real = q.quantize_dynamic

    def stamping(source: str, out: str, **kwargs: Any) -> None:
        real(source, out, **kwargs)
        model = onnx.load(out)
        model.ir_version = 14  # what onnx >= 1.23's make_model would write
        onnx.save_model(model, out)

    monkeypatch.setattr(q, "quantize_dynamic", stamping)
    source = mlp(tmp_path / "m.onnx")
    quantize(source, tmp_path / "q.onnx", PROFILES["linux-aarch64"], per_channel=False)
    assert onnx.load(str(tmp_path / "q.onnx")).ir_version == 9


def test_an_opset_upgraded_by_the_quantizer_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime.quantization as q

    def upgrading(source: str, out: str, **kwargs: Any) -> None:
        mlp(Path(out), opset=18)

    monkeypatch.setattr(q, "quantize_dynamic", upgrading)
    with pytest.raises(ExportError) as caught:
        quantize(mlp(tmp_path / "m.onnx"), tmp_path / "q.onnx", PROFILES["linux-aarch64"], per_channel=True)
    assert caught.value.stage is Stage.QUANTIZE
    assert caught.value.code == "quantize_changed_opset"
    assert caught.value.details["opset"] == 18


def test_a_quantizer_crash_is_a_quantize_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime.quantization as q

    def crashing(source: str, out: str, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(q, "quantize_dynamic", crashing)
    with pytest.raises(ExportError) as caught:
        quantize(mlp(tmp_path / "m.onnx"), tmp_path / "q.onnx", PROFILES["linux-aarch64"], per_channel=True)
    assert caught.value.code == "quantize_failed"
    assert "boom" in caught.value.message and caught.value.hint


def test_unknown_weight_type_is_refused(tmp_path: Path) -> None:
    odd = DeviceProfile("odd", "linux", "x86_64", weight_type="QInt4")
    with pytest.raises(ExportError) as caught:
        quantize(mlp(tmp_path / "m.onnx"), tmp_path / "q.onnx", odd, per_channel=True)
    assert caught.value.code == "quantize_unsupported_weight_type"
