"""Is this ONNX file something a device can run? Validity, versions, signature — before any work.

The model checked here is an open compact model (e.g. a student trained on a Nova model's outputs);
Nova weights never leave AWS. The IR version and the ``ai.onnx`` opset decide the oldest
onnxruntime a device needs, so they are read here once and pinned for every file the bundle ships.
onnx is imported lazily: other handlers import ``tailor.edge`` and must not pay for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.edge.errors import ExportError, Stage
from tailor.edge.manifest import OnnxInfo, TensorSpec

if TYPE_CHECKING:
    import onnx

AI_ONNX = "ai.onnx"
MIN_AI_ONNX_OPSET = 7  # every onnxruntime release runs opsets back to 7, nothing older

# (onnxruntime release, newest ai.onnx opset it implements, newest IR version it loads), oldest
# first. From onnxruntime's docs/Versioning.md compatibility matrix, cross-checked against
# onnx.helper.VERSION_TABLE (which ONNX release introduced each IR/opset pair). A release runs
# every model whose IR and opset are at or below its row; the first such row is the minimum.
# Rows stop where we could verify them: newer IR/opsets are refused rather than guessed.
ORT_SUPPORT: tuple[tuple[str, int, int], ...] = (
    ("1.0", 11, 6),
    ("1.3", 12, 6),
    ("1.6", 13, 7),
    ("1.8", 14, 7),
    ("1.10", 15, 8),
    ("1.11", 16, 8),
    ("1.13", 17, 8),
    ("1.14", 18, 8),
    ("1.15", 18, 9),
    ("1.16", 19, 9),
    ("1.17", 20, 9),
    ("1.18", 21, 10),
    ("1.21", 22, 10),
    ("1.22", 23, 11),
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    path: Path
    size_bytes: int
    ir_version: int
    opsets: dict[str, int]  # "ai.onnx" for the default domain
    min_onnxruntime: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    def onnx_info(self) -> OnnxInfo:
        return OnnxInfo(
            ir_version=self.ir_version, opsets=dict(self.opsets), min_onnxruntime=self.min_onnxruntime
        )


def _fail(code: str, message: str, hint: str, **details: Any) -> ExportError:
    return ExportError(Stage.CHECK, code, message, hint=hint, details=details)


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _supported_rows() -> tuple[tuple[str, int, int], ...]:
    """The table, cut at the installed onnxruntime: we cannot vouch for what we cannot run."""
    import onnxruntime

    installed = _version_tuple(onnxruntime.__version__)
    return tuple(row for row in ORT_SUPPORT if _version_tuple(row[0]) <= installed) or ORT_SUPPORT[:1]


def min_onnxruntime(ir_version: int, opset: int, *, where: str = "model") -> str:
    """The oldest onnxruntime that loads this IR version and ``ai.onnx`` opset."""
    rows = _supported_rows()
    newest_release, newest_opset, newest_ir = rows[-1]
    if ir_version > newest_ir:
        raise _fail(
            "model_unsupported_ir",
            f"{where} has ONNX IR version {ir_version}; the newest this exporter supports is {newest_ir} "
            f"(onnxruntime {newest_release})",
            f"re-export with ir_version <= {newest_ir} (onnx.helper.make_model(..., ir_version=9) for "
            "onnxruntime >= 1.15; onnx >= 1.23 defaults to IR 14, which device runtimes reject)",
            irVersion=ir_version,
            maxIrVersion=newest_ir,
        )
    if opset > newest_opset:
        raise _fail(
            "model_unsupported_opset",
            f"{where} imports ai.onnx opset {opset}; the newest this exporter supports is {newest_opset} "
            f"(onnxruntime {newest_release})",
            f"re-export with opset <= {newest_opset} (e.g. torch.onnx.export(..., opset_version=17))",
            opset=opset,
            maxOpset=newest_opset,
        )
    if opset < MIN_AI_ONNX_OPSET:
        raise _fail(
            "model_unsupported_opset",
            f"{where} imports ai.onnx opset {opset}; onnxruntime runs opset {MIN_AI_ONNX_OPSET} and newer",
            "convert it with onnx.version_converter.convert_version(model, 17)",
            opset=opset,
        )
    for release, max_opset, max_ir in rows:
        if ir_version <= max_ir and opset <= max_opset:
            return release
    return newest_release  # unreachable: the last row covers everything that passed above


def _graph_tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto a graph holds: initializers, sparse ones, constants, and subgraphs'."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    yield from _node_tensors(graph.node)


def _node_tensors(nodes: Any) -> Iterator[Any]:
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _graph_tensors(attribute.g)
            for graph in attribute.graphs:
                yield from _graph_tensors(graph)


def _has_external_data(model: onnx.ModelProto) -> list[str]:
    from onnx.external_data_helper import uses_external_data

    tensors = itertools.chain(_graph_tensors(model.graph), *(_node_tensors(f.node) for f in model.functions))
    return [tensor.name for tensor in tensors if uses_external_data(tensor)]


def _tensor_spec(value: Any, where: str) -> TensorSpec:
    from onnx import helper

    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise _fail(
            "model_unsupported_io",
            f"{where} {value.name!r} is a {kind or 'untyped value'}, not a tensor",
            "export a model whose graph inputs and outputs are plain tensors",
            name=value.name,
        )
    tensor_type = value.type.tensor_type
    try:
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name
    except (KeyError, ValueError, TypeError):
        raise _fail(
            "model_unsupported_io",
            f"{where} {value.name!r} has element type {tensor_type.elem_type}, which has no numpy equivalent",
            "use float32, float16, int64, int32, int8, uint8 or bool for graph inputs and outputs",
            name=value.name,
        ) from None
    shape: list[int | str] = []
    for index, dim in enumerate(tensor_type.shape.dim):
        if dim.HasField("dim_value"):
            shape.append(int(dim.dim_value))
        else:
            shape.append(dim.dim_param or f"d{index}")
    return TensorSpec(name=value.name, elem_type=dtype, shape=shape)


def read_versions(model: onnx.ModelProto) -> tuple[int, dict[str, int]]:
    opsets: dict[str, int] = {}
    for entry in model.opset_import:
        domain = entry.domain or AI_ONNX
        opsets[domain] = max(opsets.get(domain, 0), int(entry.version))
    return int(model.ir_version), opsets


def inspect_model(path: Path, *, max_bytes: int | None = None) -> ModelInfo:
    """Check an ONNX file (``onnx.checker`` full check, by path) and read what the manifest needs.

    Raises ``ExportError(Stage.CHECK, ...)`` with what is wrong, where, and how to fix it.
    """
    import onnx

    path = Path(path)
    where = f"model {path.name}"
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise _fail(
            "model_too_large",
            f"{where} is {size:,} bytes; the limit is {max_bytes:,}",
            "ship a smaller student model, or raise the export function's model size limit",
            sizeBytes=size,
            maxBytes=max_bytes,
        )
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises several unrelated types
        raise _fail(
            "model_invalid",
            f"{where} is not a readable ONNX protobuf: {exc}",
            "upload the .onnx file itself (not a zip, a checkpoint or a Git LFS pointer)",
        ) from None
    external = _has_external_data(model)
    if external:
        raise _fail(
            "model_has_external_data",
            f"{where} keeps {len(external)} tensor(s) in external data files (first: {external[0]!r}); "
            "a bundle must be self-contained",
            "save it as one file: onnx.save_model(model, path, save_as_external_data=False) "
            "(possible below 2 GB)",
            tensors=external[:10],
        )
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise _fail(
            "model_invalid",
            f"{where} fails onnx.checker: {' '.join(str(exc).split())[:500]}",
            "fix the graph in the exporter that produced it (run onnx.checker.check_model(path, "
            "full_check=True) locally to see the full message)",
            checker=str(exc)[:2000],
        ) from None
    ir_version, opsets = read_versions(model)
    if AI_ONNX not in opsets:
        raise _fail(
            "model_unsupported_opset",
            f"{where} imports no ai.onnx opset",
            "export with a standard ai.onnx opset (e.g. 17)",
        )
    runtime = min_onnxruntime(ir_version, opsets[AI_ONNX], where=where)
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [v for v in model.graph.input if v.name not in initializers]
    if not graph_inputs:
        raise _fail(
            "model_no_inputs",
            f"{where} has no graph inputs (everything is a constant), so there is nothing to run on a device",
            "export the model with its real inputs (e.g. input_names=['features'])",
        )
    if not model.graph.output:
        raise _fail("model_no_outputs", f"{where} has no graph outputs", "export the model with its outputs")
    return ModelInfo(
        path=path,
        size_bytes=size,
        ir_version=ir_version,
        opsets=opsets,
        min_onnxruntime=runtime,
        inputs=[_tensor_spec(v, "input") for v in graph_inputs],
        outputs=[_tensor_spec(v, "output") for v in model.graph.output],
    )
