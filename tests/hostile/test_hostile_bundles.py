"""Hostile edge bundles: manifests, IoT job documents, golden sets and ONNX files. Each is refused
with its specific error (a pydantic error type and location, the agent's reason, or the export
check's ``ExportError.code``), never another exception, a hang or a big allocation."""

from __future__ import annotations

import copy
import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import orjson
import pytest
from onnx import TensorProto, helper
from pydantic import ValidationError

from tailor.edge.agent import Agent, DeviceConfig, OutcomeStatus
from tailor.edge.checks import inspect_model
from tailor.edge.errors import ExportError, Stage
from tailor.edge.golden import MAX_GOLDEN_BYTES, GoldenSet, Tensor
from tailor.edge.manifest import MAX_MANIFEST_BYTES, JobDocument, Manifest, check_file_name

HEX = "ab" * 32
MANIFEST: dict[str, Any] = {
    "schema": "tailor.edge.manifest/1",
    "name": "intent",
    "version": "1.0.0",
    "createdAt": "2026-12-02T12:00:00Z",
    "files": [
        {"name": "model.onnx", "sha256": HEX, "size": 10, "role": "model"},
        {"name": "golden.json", "sha256": "cd" * 32, "size": 5, "role": "golden"},
    ],
    "onnx": {"irVersion": 9, "opsets": {"ai.onnx": 17}, "minOnnxruntime": "1.14"},
    "inputs": [{"name": "x", "elemType": "float32", "shape": ["N", 4]}],
    "outputs": [{"name": "y", "elemType": "float32", "shape": ["N", 2]}],
    "profiles": [
        {
            "name": "linux-x86_64",
            "os": "linux",
            "arch": "x86_64",
            "modelFile": "model.onnx",
            "quantization": {"mode": "none"},
        }
    ],
    "golden": {"file": "golden.json", "samples": 1},
    "provenance": {"exportId": "e1", "sourceModelUri": "s3://d/m.onnx", "sourceModelSha256": HEX},
}


def manifest_with(**changes: Any) -> bytes:
    document = copy.deepcopy(MANIFEST)
    document.update(changes)
    return orjson.dumps(document)


def with_file(**entry: Any) -> bytes:
    first = {**MANIFEST["files"][0], **entry}
    return manifest_with(files=[first, MANIFEST["files"][1]])


def test_the_baseline_manifest_parses() -> None:
    assert Manifest.from_bytes(orjson.dumps(MANIFEST)).version == "1.0.0"


NAME = ("files", 0, "name")
# (id, manifest bytes, pydantic error type, location)
MANIFEST_CASES: list[tuple[str, bytes, str, tuple[str | int, ...]]] = [
    ("dotdot-name", with_file(name="../evil.onnx"), "value_error", NAME),
    ("dotdot-alone", with_file(name=".."), "value_error", NAME),
    ("absolute-name", with_file(name="/etc/passwd"), "value_error", NAME),
    ("name-with-a-slash", with_file(name="models/model.onnx"), "value_error", NAME),
    ("name-with-a-backslash", with_file(name="..\\..\\evil.onnx"), "value_error", NAME),
    ("hidden-name", with_file(name=".bashrc"), "value_error", NAME),
    ("empty-name", with_file(name=""), "value_error", NAME),
    ("name-with-nul", with_file(name="model\x00.onnx"), "value_error", NAME),
    ("name-with-a-space", with_file(name="model .onnx"), "value_error", NAME),
    ("shell-name", with_file(name="$(rm -rf ~).onnx"), "value_error", NAME),
    ("129-char-name", with_file(name="m" * 129), "value_error", NAME),
    (
        "duplicate-names",
        manifest_with(files=[MANIFEST["files"][0], MANIFEST["files"][0]]),
        "value_error",
        ("files",),
    ),
    ("no-files", manifest_with(files=[]), "too_short", ("files",)),
    (
        "65-files",
        manifest_with(files=[{**MANIFEST["files"][0], "name": f"f{i}"} for i in range(65)]),
        "too_long",
        ("files",),
    ),
    ("semver-two-parts", manifest_with(version="1.0"), "value_error", ("version",)),
    ("semver-leading-v", manifest_with(version="v1.0.0"), "value_error", ("version",)),
    ("semver-leading-zero", manifest_with(version="01.0.0"), "value_error", ("version",)),
    ("semver-prerelease", manifest_with(version="1.0.0-rc1"), "value_error", ("version",)),
    ("semver-traversal", manifest_with(version="../../1.0.0"), "value_error", ("version",)),
    ("semver-a-number", manifest_with(version=1), "string_type", ("version",)),
    ("sha256-not-hex", with_file(sha256="g" * 64), "value_error", ("files", 0, "sha256")),
    ("sha256-upper-case", with_file(sha256=HEX.upper()), "value_error", ("files", 0, "sha256")),
    ("sha256-63-chars", with_file(sha256=HEX[:-1]), "value_error", ("files", 0, "sha256")),
    ("negative-size", with_file(size=-1), "greater_than_equal", ("files", 0, "size")),
    ("size-a-word", with_file(size="ten"), "int_parsing", ("files", 0, "size")),
    ("size-a-float", with_file(size=1.5), "int_from_float", ("files", 0, "size")),
    ("unknown-role", with_file(role="script"), "literal_error", ("files", 0, "role")),
    (
        "missing-provenance",
        orjson.dumps({k: v for k, v in MANIFEST.items() if k != "provenance"}),
        "missing",
        ("provenance",),
    ),
    ("truncated", orjson.dumps(MANIFEST)[:200], "json_invalid", ()),
    ("not-json", b"<manifest/>", "json_invalid", ()),
    ("a-json-array", b"[]", "model_type", ()),
    ("non-utf8", orjson.dumps(MANIFEST).replace(b'"intent"', b'"\xff\xfe"'), "json_invalid", ()),
    (
        "10000-nested-arrays",
        manifest_with()[:-1] + b',"x":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "json_invalid",
        (),
    ),
]


@pytest.mark.parametrize(
    ("raw", "kind", "loc"), [c[1:] for c in MANIFEST_CASES], ids=[c[0] for c in MANIFEST_CASES]
)
def test_hostile_manifest_gets_its_error(raw: bytes, kind: str, loc: tuple[str | int, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        Manifest.from_bytes(raw)
    first = caught.value.errors()[0]
    assert (first["type"], tuple(first["loc"])) == (kind, loc)


def test_an_oversized_manifest_is_refused_before_it_is_parsed() -> None:
    raw = manifest_with(padding="x" * MAX_MANIFEST_BYTES)
    with pytest.raises(ValueError, match=f"more than {MAX_MANIFEST_BYTES}") as caught:
        Manifest.from_bytes(raw)
    assert not isinstance(caught.value, ValidationError)


@pytest.mark.parametrize(
    "raw",
    [with_file(name="model.onnx\n"), manifest_with(version="1.0.0\n"), with_file(sha256=HEX + "\n")],
    ids=["name-with-a-trailing-newline", "semver-with-a-trailing-newline", "sha256-with-a-trailing-newline"],
)
def test_a_trailing_newline_is_not_a_safe_value(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        Manifest.from_bytes(raw)


def test_check_file_name_refuses_a_trailing_newline_too() -> None:
    # The agent's own path check uses the same function.
    with pytest.raises(ValueError):
        check_file_name("a\nb")


# --- the agent: job documents and unsafe names ---------------------------------------------------


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    return Agent(DeviceConfig(thing_name="kiosk-1", region="us-east-1"), tmp_path, jobs_client=object())  # type: ignore[arg-type]


JOB = {
    "schema": "tailor.edge.job/1",
    "exportId": "e1",
    "name": "intent",
    "version": "1.0.0",
    "profiles": ["linux-x86_64"],
    "manifest": {"url": "https://x/manifest.json"},
    "signature": {"url": "https://x/manifest.sig"},
    "blobs": {HEX: {"url": "https://x/b", "size": 10}},
}

JOB_CASES: list[tuple[str, Any, str]] = [
    ("not-a-string", {"schema": "x"}, "has no job document"),
    ("not-json", "rm -rf /", "Invalid JSON"),
    (
        "missing-manifest",
        orjson.dumps({k: v for k, v in JOB.items() if k != "manifest"}).decode(),
        "manifest",
    ),
    ("blobs-a-list", orjson.dumps({**JOB, "blobs": [1]}).decode(), "blobs"),
    ("unknown-operation", orjson.dumps({**JOB, "operation": "tailor.rm-rf"}).decode(), "operation"),
    ("other-schema", orjson.dumps({**JOB, "schema": "evil/1"}).decode(), "schema 'evil/1'"),
    ("size-a-string", orjson.dumps({**JOB, "blobs": {HEX: {"url": "u", "size": "big"}}}).decode(), "size"),
    (
        "10000-nested-arrays",
        orjson.dumps(JOB).decode()[:-1] + ',"x":' + "[" * 10_000 + "]" * 10_000 + "}",
        "recursion limit",
    ),
]


@pytest.mark.parametrize(("raw", "needle"), [c[1:] for c in JOB_CASES], ids=[c[0] for c in JOB_CASES])
def test_a_hostile_job_document_is_rejected(agent: Agent, raw: Any, needle: str) -> None:
    with pytest.raises(Exception) as caught:
        agent._document(raw)
    stop = caught.value
    assert (stop.status, stop.reason) == (OutcomeStatus.REJECTED, "bad document")  # type: ignore[attr-defined]
    assert needle in stop.detail  # type: ignore[attr-defined]


def test_a_job_document_with_extra_fields_is_read(agent: Agent) -> None:
    document = agent._document(orjson.dumps({**JOB, "fromTheFuture": {"x": 1}}).decode())
    assert isinstance(document, JobDocument) and document.version == "1.0.0"


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        ("model.onnx", "symlink"),
        ("manifest.json", None),
        ("manifest.sig", None),
        ("../outside.onnx", None),
        ("/etc/passwd", None),
        ("sub/model.onnx", None),
    ],
    ids=["a-symlink-name", "reserved-manifest.json", "reserved-manifest.sig", "dotdot", "absolute", "slash"],
)
def test_unsafe_names_never_leave_the_install_directory(tmp_path: Path, name: str, setup: str | None) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(b"precious")
    if setup == "symlink":
        (staging / name).symlink_to(outside)
    with pytest.raises(Exception) as caught:
        Agent._inside(staging, name)
    stop = caught.value
    assert (stop.status, stop.reason) == (OutcomeStatus.FAILED, "unsafe path")  # type: ignore[attr-defined]
    assert outside.read_bytes() == b"precious"


# --- golden sets -------------------------------------------------------------------------------------


def golden(inputs: list[dict[str, Any]], expected: dict[str, Any] | None = None) -> bytes:
    sample = inputs[0]
    return orjson.dumps(
        {"schema": "tailor.edge.golden/1", "inputs": inputs, "expected": expected or {"fp32": [sample]}}
    )


GOOD_TENSOR = Tensor.of(np.ones((2, 4), np.float32)).model_dump()
B64_8_BYTES = "AAAAAAAAAAA="

GOLDEN_TENSOR_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "shape-larger-than-the-bytes",
        {"dtype": "float32", "shape": [4, 4], "data": GOOD_TENSOR["data"]},
        "needs 64",
    ),
    (
        "shape-smaller-than-the-bytes",
        {"dtype": "float32", "shape": [1], "data": GOOD_TENSOR["data"]},
        "holds 32 bytes",
    ),
    (
        "a-2**80-element-shape",
        {"dtype": "float32", "shape": [2**40, 2**40], "data": B64_8_BYTES},
        "holds 8 bytes",
    ),
    (
        "a-negative-dimension",
        {"dtype": "float32", "shape": [-2, -1], "data": B64_8_BYTES},
        "negative dimension",
    ),
    ("an-object-dtype", {"dtype": "object", "shape": [1], "data": B64_8_BYTES}, "is not one of"),
    ("a-shell-dtype", {"dtype": "$(rm -rf /)", "shape": [1], "data": B64_8_BYTES}, "is not one of"),
    ("not-base64", {"dtype": "float32", "shape": [2], "data": "!!not base64!!"}, "base64"),
]


@pytest.mark.parametrize(
    ("tensor", "needle"), [c[1:] for c in GOLDEN_TENSOR_CASES], ids=[c[0] for c in GOLDEN_TENSOR_CASES]
)
def test_a_golden_tensor_that_does_not_match_its_bytes_is_refused(
    tensor: dict[str, Any], needle: str
) -> None:
    loaded = GoldenSet.from_bytes(golden([{"x": tensor}]))  # the set's shape is fine; the tensor is not
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=needle):
            loaded.feeds(0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the declared shape is never allocated


GOLDEN_SET_CASES: list[tuple[str, bytes, str]] = [
    ("oversized", b" " * (MAX_GOLDEN_BYTES + 1), "more than"),
    (
        "other-schema",
        orjson.dumps({"schema": "evil/1", "inputs": [{"x": GOOD_TENSOR}], "expected": {}}),
        "schema",
    ),
    ("expected-count-mismatch", golden([{"x": GOOD_TENSOR}], {"fp32": []}), "expected outputs"),
    (
        "no-inputs",
        orjson.dumps({"schema": "tailor.edge.golden/1", "inputs": [], "expected": {}}),
        "too_short",
    ),
    ("shape-a-string", golden([{"x": {**GOOD_TENSOR, "shape": "2x4"}}]), "list_type"),
    ("not-json", b"\x00\x01\x02", "json_invalid"),
    ("10000-nested-arrays", b"[" * 10_000 + b"]" * 10_000, "json_invalid"),
]


@pytest.mark.parametrize(
    ("raw", "needle"), [c[1:] for c in GOLDEN_SET_CASES], ids=[c[0] for c in GOLDEN_SET_CASES]
)
def test_a_hostile_golden_set_is_refused(raw: bytes, needle: str) -> None:
    with pytest.raises(ValueError) as caught:
        GoldenSet.from_bytes(raw)
    text = str(caught.value)
    if isinstance(caught.value, ValidationError):
        text = " ".join(e["type"] for e in caught.value.errors())
    assert needle in text


# --- ONNX files: inspect_model --------------------------------------------------------------------


def _io(dims: list[int | str]) -> tuple[Any, Any]:
    return (
        helper.make_tensor_value_info("x", TensorProto.FLOAT, dims),
        helper.make_tensor_value_info("y", TensorProto.FLOAT, dims),
    )


def relu(*, ir_version: int = 9, opset: int = 17) -> onnx.ModelProto:
    x, y = _io(["N", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def matmul_with(weight: TensorProto, width: int) -> bytes:
    x, y = _io(["N", width])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return bytes(model.SerializeToString())


def declared(dims: list[int], *, raw: bytes | None = None, external: str | None = None) -> TensorProto:
    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=dims)
    if raw is not None:
        tensor.raw_data = raw
    if external is not None:
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", external
    return tensor


GOOD_ONNX = relu().SerializeToString()


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.onnx", data)
    return buffer.getvalue()


ONNX_CASES: list[tuple[str, bytes, str]] = [
    ("garbage", b"\x00\xff" * 4096, "model_invalid"),
    ("empty-file", b"", "model_invalid"),
    ("truncated-in-half", GOOD_ONNX[: len(GOOD_ONNX) // 2], "model_invalid"),
    ("truncated-by-3-bytes", GOOD_ONNX[:-3], "model_invalid"),
    ("a-zip-named-onnx", zipped(GOOD_ONNX), "model_invalid"),
    (
        "a-git-lfs-pointer",
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + HEX.encode() + b"\nsize 9\n",
        "model_invalid",
    ),
    ("external-data", matmul_with(declared([4, 4], external="weights.bin"), 4), "model_has_external_data"),
    (
        "external-data-outside",
        matmul_with(declared([4, 4], external="../../../../etc/passwd"), 4),
        "model_has_external_data",
    ),
    (
        "a-2**40-element-initializer-without-data",
        matmul_with(declared([1 << 20, 1 << 20]), 1 << 20),
        "model_invalid",
    ),
    (
        "a-2**60-element-initializer-with-16-bytes",
        matmul_with(declared([1 << 30, 1 << 30], raw=b"\0" * 16), 1 << 30),
        "model_invalid",
    ),
    ("ir-version-12", relu(ir_version=12).SerializeToString(), "model_unsupported_ir"),
    ("ir-version-99", relu(ir_version=99).SerializeToString(), "model_invalid"),  # onnx.checker refuses first
    ("opset-99", relu(opset=99).SerializeToString(), "model_unsupported_opset"),
    ("opset-3", relu(opset=3).SerializeToString(), "model_unsupported_opset"),
]


@pytest.mark.parametrize(("data", "code"), [c[1:] for c in ONNX_CASES], ids=[c[0] for c in ONNX_CASES])
def test_a_hostile_onnx_file_gets_its_code(tmp_path: Path, data: bytes, code: str) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ExportError) as caught:
            inspect_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (caught.value.stage, caught.value.code) == (Stage.CHECK, code)
    assert caught.value.hint
    assert peak < 16 << 20  # a declared size is never allocated


def test_an_onnx_file_above_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(GOOD_ONNX)
    with pytest.raises(ExportError) as caught:
        inspect_model(path, max_bytes=len(GOOD_ONNX) - 1)
    assert caught.value.code == "model_too_large"


def test_the_baseline_onnx_passes(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(GOOD_ONNX)
    assert inspect_model(path).inputs[0].name == "x"
