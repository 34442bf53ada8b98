"""The edge bundle's contract: what the export function writes and the device agent trusts.

A bundle is a set of content-addressed blobs (``edge/blobs/sha256/<hex>``, never overwritten) plus
one ``manifest.json`` listing them with their digests and sizes, and a detached signature
(``manifest.sig``): DER-encoded ECDSA P-256 over SHA-256 of the manifest bytes *exactly as stored*
(KMS ``ECDSA_SHA_256``). The device verifies the signature with the public key it was provisioned
with, then every file it downloads against the manifest. Nothing in a bundle is trusted before that.

Everything here is pure pydantic + hashlib: the agent and the export function both import it, and
neither onnx nor onnxruntime is needed to read a manifest.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

import orjson
from pydantic import Field, field_validator

from tailor.events.base import WireModel

MANIFEST_SCHEMA = "tailor.edge.manifest/1"
JOB_DOCUMENT_SCHEMA = "tailor.edge.job/1"
SIGNATURE_ALGORITHM = "ECDSA_SHA_256"
# A manifest is small (the golden tensors live in their own blob): anything bigger is hostile.
MAX_MANIFEST_BYTES = 256 * 1024
MAX_SIGNATURE_BYTES = 256

BLOB_PREFIX = "edge/blobs/sha256/"
EXPORT_PREFIX = "edge/exports/"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
# One path segment made of safe characters: no separators, no "..", no leading dot.
# fullmatch everywhere: "$" would also match before a trailing newline ("1.0.0\n").
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def blob_key(sha256_hex: str) -> str:
    return f"{BLOB_PREFIX}{sha256_hex}"


def export_prefix(export_id: str) -> str:
    return f"{EXPORT_PREFIX}{export_id}/"


def manifest_key(export_id: str) -> str:
    return f"{export_prefix(export_id)}manifest.json"


def signature_key(export_id: str) -> str:
    return f"{export_prefix(export_id)}manifest.sig"


def recipe_key(export_id: str) -> str:
    return f"{export_prefix(export_id)}greengrass-recipe.json"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_file_name(name: str) -> str:
    """A bundle file name must stay inside the install directory: one safe segment, nothing else."""
    if not _SAFE_NAME.fullmatch(name) or name in {".", ".."} or ".." in PurePosixPath(name).parts:
        raise ValueError(
            f"file name {name!r} is not a single safe path segment (letters, digits, '_', '-', '.'; "
            "no '/', no '..', no leading '.')"
        )
    return name


class TensorSpec(WireModel):
    name: str
    elem_type: str  # numpy dtype name: "float32", "int64", ...
    # A dimension is an int, or a symbolic name (a batch dimension such as "N").
    shape: list[int | str]


class ManifestFile(WireModel):
    name: str
    sha256: str
    size: int = Field(ge=0)
    role: Literal["model", "golden", "other"] = "model"

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        return check_file_name(value)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _SHA256.fullmatch(value):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return value


class OnnxInfo(WireModel):
    ir_version: int
    # domain ("" = ai.onnx) → opset version, of the model as shipped.
    opsets: dict[str, int]
    # The oldest onnxruntime that loads every shipped model file (computed from IR and opsets).
    min_onnxruntime: str


class Quantization(WireModel):
    mode: Literal["int8-dynamic", "none"]
    weight_type: str | None = None  # "QInt8" | "QUInt8"
    per_channel: bool = False
    reduce_range: bool = False


class FidelityReport(WireModel):
    """fp32 vs the shipped model on the golden inputs."""

    cosine: float  # the lowest per-output, per-input cosine similarity
    argmax_agreement: float  # fraction of golden inputs whose argmax agrees (0..1)
    metric: Literal["cosine", "argmax"]
    threshold: float
    passed: bool
    samples: int


class ProfileBuild(WireModel):
    """One device profile: the model file it runs and how that file was made."""

    name: str
    os: str
    arch: str
    model_file: str
    quantization: Quantization
    fidelity: FidelityReport | None = None


class GoldenInfo(WireModel):
    """Where the golden inputs and each profile's expected outputs are (a JSON blob in ``files``)."""

    file: str
    samples: int
    # The device's smoke test passes when its outputs match the expected ones this closely.
    min_cosine: float = 0.999
    source: Literal["shipped", "generated"] = "generated"


class Provenance(WireModel):
    export_id: str
    run_id: str | None = None
    base_model_id: str | None = None
    teacher_model_id: str | None = None
    job_arn: str | None = None
    dataset_snapshot_sha256: str | None = None
    source_model_uri: str
    source_model_version: str | None = None
    source_model_sha256: str


class Manifest(WireModel):
    schema_: str = Field(default=MANIFEST_SCHEMA, alias="schema")
    name: str
    version: str
    created_at: datetime
    files: list[ManifestFile] = Field(min_length=1, max_length=64)
    onnx: OnnxInfo
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    profiles: list[ProfileBuild] = Field(min_length=1)
    golden: GoldenInfo
    provenance: Provenance

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.fullmatch(value):
            raise ValueError(f"version {value!r} is not MAJOR.MINOR.PATCH")
        return value

    @field_validator("files")
    @classmethod
    def _unique(cls, value: list[ManifestFile]) -> list[ManifestFile]:
        names = [f.name for f in value]
        if len(names) != len(set(names)):
            raise ValueError("file names in a manifest must be unique")
        return value

    def file(self, name: str) -> ManifestFile:
        for entry in self.files:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def profile(self, name: str) -> ProfileBuild | None:
        return next((p for p in self.profiles if p.name == name), None)

    def to_bytes(self) -> bytes:
        """The canonical bytes that are stored and signed (sorted keys, camelCase)."""
        return orjson.dumps(self.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError(f"manifest is {len(data)} bytes, more than {MAX_MANIFEST_BYTES}")
        return cls.model_validate_json(data)


def version_key(version: str) -> tuple[int, int, int]:
    if not _SEMVER.fullmatch(version):  # int() would accept " 1" or "0\n"
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


class JobDocumentFile(WireModel):
    url: str  # on AWS an ${aws:iot:s3-presigned-url-v2:...} placeholder, substituted by IoT
    sha256: str | None = None
    size: int | None = None


class JobDocument(WireModel):
    """The IoT Job document (≤ 32,768 characters): where the signed manifest and its blobs are."""

    schema_: str = Field(default=JOB_DOCUMENT_SCHEMA, alias="schema")
    operation: Literal["tailor.install-model"] = "tailor.install-model"
    export_id: str
    name: str
    version: str
    profiles: list[str]
    manifest: JobDocumentFile
    signature: JobDocumentFile
    # sha256 hex → where to download it (only the files of the manifest).
    blobs: dict[str, JobDocumentFile]
