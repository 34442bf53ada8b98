"""Real ONNX models for the edge tests, built with onnx.helper (no downloads), and the sample model.

The sample intent classifier is built once per test process (it trains for about a second).
"""

from __future__ import annotations

import functools
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tailor.edge.manifest import Provenance

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@functools.cache
def sample_dir() -> Path:
    """intent-classifier.onnx, golden.json and labels.json, built once per process."""
    from tailor.edge.sample import build_intent_classifier

    out = Path(tempfile.mkdtemp(prefix="tailor-edge-sample-"))
    build_intent_classifier(out)
    return out


def sample_model() -> Path:
    return sample_dir() / "intent-classifier.onnx"


def provenance(export_id: str = "exp-1") -> Provenance:
    return Provenance(
        export_id=export_id, source_model_uri="s3://data/model.onnx", source_model_sha256="0" * 64
    )


def _save(model: onnx.ModelProto, path: Path, **kwargs: Any) -> Path:
    onnx.save_model(model, str(path), **kwargs)
    return path


def mlp(
    path: Path,
    *,
    ir_version: int = 9,
    opset: int = 17,
    dims: tuple[int, ...] = (64, 128, 8),
    seed: int = 0,
    weights: list[np.ndarray] | None = None,
    mask: np.ndarray | None = None,
) -> Path:
    """A MatMul/Add/Relu MLP: input ``x`` float32 [N, dims[0]] → ``y`` float32 [N, dims[-1]]."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    current = "x"
    if mask is not None:
        inits.append(numpy_helper.from_array(mask.astype(np.float32), "mask"))
        nodes.append(helper.make_node("Mul", ["x", "mask"], ["xm"]))
        current = "xm"
    layers = len(dims) - 1
    for i in range(layers):
        w = (
            weights[i]
            if weights is not None
            else rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i])
        )
        inits += [
            numpy_helper.from_array(w.astype(np.float32), f"W{i}"),
            numpy_helper.from_array(np.zeros(dims[i + 1], np.float32), f"B{i}"),
        ]
        last = i == layers - 1
        nodes.append(helper.make_node("MatMul", [current, f"W{i}"], [f"m{i}"]))
        nodes.append(helper.make_node("Add", [f"m{i}", f"B{i}"], ["y" if last else f"a{i}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"h{i}"]))
            current = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dims[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dims[-1]])],
        inits,
    )
    return _save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version), path
    )


def fragile(path: Path, dims: int = 64, out: int = 8) -> Path:
    """int8 breaks it: each weight column has one huge weight (on a feature the graph masks to 0),
    so the scale is huge and every useful, tiny weight rounds to zero, per channel and per tensor."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((dims, out)) * 0.01
    w[0, :] = 1000.0
    mask = np.ones(dims)
    mask[0] = 0.0
    return mlp(path, dims=(dims, out), weights=[w], mask=mask)


def broken(path: Path) -> Path:
    """MatMul reads a tensor that nothing produces."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "broken",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), path)


def no_inputs(path: Path) -> Path:
    value = numpy_helper.from_array(np.ones((2, 2), np.float32), "c")
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], value=value)],
        "constant",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), path)


def with_external_data(path: Path) -> Path:
    model = onnx.load(str(mlp(path.with_suffix(".inline.onnx"))))
    return _save(
        model,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
