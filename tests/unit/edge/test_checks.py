"""inspect_model: what a device can run, refused early with a message that says how to fix it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from edge_models import broken, mlp, no_inputs, sample_model, with_external_data

from tailor.edge.checks import ORT_SUPPORT, inspect_model, min_onnxruntime
from tailor.edge.errors import ExportError, Stage


def _code(path: Path, **kwargs: int) -> ExportError:
    with pytest.raises(ExportError) as caught:
        inspect_model(path, **kwargs)
    assert caught.value.stage is Stage.CHECK
    assert caught.value.hint
    return caught.value


def test_reads_versions_and_signature_of_the_sample() -> None:
    info = inspect_model(sample_model(), max_bytes=10_000_000)
    assert info.ir_version == 9
    assert info.opsets == {"ai.onnx": 17}
    assert info.min_onnxruntime == "1.15"
    assert [(s.name, s.elem_type, s.shape) for s in info.inputs] == [("features", "float32", ["N", 512])]
    assert [(s.name, s.elem_type, s.shape) for s in info.outputs] == [("logits", "float32", ["N", 8])]
    assert info.onnx_info().min_onnxruntime == "1.15"
    assert info.size_bytes == sample_model().stat().st_size


def test_broken_graph_is_invalid_with_the_checker_message(tmp_path: Path) -> None:
    error = _code(broken(tmp_path / "broken.onnx"))
    assert error.code == "model_invalid"
    assert "onnx.checker" in error.message and "'W'" in error.message


def test_garbage_bytes_are_invalid(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    assert _code(path).code == "model_invalid"


def test_ir_newer_than_supported_is_refused(tmp_path: Path) -> None:
    error = _code(mlp(tmp_path / "ir14.onnx", ir_version=14))
    assert error.code == "model_unsupported_ir"
    assert error.details["irVersion"] == 14
    assert "ir_version" in (error.hint or "")


def test_opset_newer_than_supported_is_refused(tmp_path: Path) -> None:
    error = _code(mlp(tmp_path / "opset25.onnx", ir_version=11, opset=25))
    assert error.code == "model_unsupported_opset"
    assert error.details["opset"] == 25


def test_external_data_is_refused(tmp_path: Path) -> None:
    path = with_external_data(tmp_path / "external.onnx")
    assert (tmp_path / "weights.bin").exists()
    error = _code(path)
    assert error.code == "model_has_external_data"
    assert "self-contained" in error.message


def test_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    path = mlp(tmp_path / "m.onnx")
    error = _code(path, max_bytes=1000)
    assert error.code == "model_too_large"
    assert error.details == {"sizeBytes": path.stat().st_size, "maxBytes": 1000}


def test_a_model_without_inputs_is_refused(tmp_path: Path) -> None:
    assert _code(no_inputs(tmp_path / "const.onnx")).code == "model_no_inputs"


@pytest.mark.parametrize(
    ("ir", "opset", "runtime"),
    [(7, 13, "1.6"), (8, 13, "1.10"), (8, 17, "1.13"), (9, 17, "1.15"), (9, 19, "1.16"), (10, 21, "1.18")],
)
def test_minimum_runtime_from_ir_and_opset(ir: int, opset: int, runtime: str) -> None:
    assert min_onnxruntime(ir, opset) == runtime


def test_the_support_table_only_grows() -> None:
    for older, newer in itertools.pairwise(ORT_SUPPORT):
        assert newer[1] >= older[1] and newer[2] >= older[2]
        assert (newer[1], newer[2]) != (older[1], older[2])


def test_opset_older_than_seven_is_refused() -> None:
    with pytest.raises(ExportError) as caught:
        min_onnxruntime(3, 5)
    assert caught.value.code == "model_unsupported_opset"
