"""The device agent against moto S3 + IoT and the local IoT Jobs data plane, with a tiny signed bundle.

The bundle is built here (a MatMul+Add ONNX model, IR 9 / opset 17): the export pipeline's packager is
not a dependency of these tests. The helpers are imported by the other edge agent test files.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest

from tailor.edge.agent import Agent, DeviceConfig, OutcomeStatus, provision
from tailor.edge.golden import GOLDEN_FILE_NAME, GoldenSet, Tensor
from tailor.edge.manifest import (
    FidelityReport,
    GoldenInfo,
    JobDocument,
    JobDocumentFile,
    Manifest,
    ManifestFile,
    OnnxInfo,
    ProfileBuild,
    Provenance,
    Quantization,
    TensorSpec,
    blob_key,
    manifest_key,
    sha256_hex,
    signature_key,
)
from tailor.edge.signing import LocalSigner, public_key_pem, sign_manifest
from tailor.local.iot_jobs import LocalJobsDataPlane

REGION = "us-east-1"
ACCOUNT = "123456789012"
X86 = "linux-x86_64"
ARM = "linux-aarch64"


# -- bundle builder (shared with the other edge agent tests) ---------------------------------------------


def onnx_model(scale: float = 1.0) -> bytes:
    """y = x @ W + b with x: float32[N, 4], y: float32[N, 3]; IR 9 / opset 17 (onnxruntime ≥ 1.16)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = (np.arange(12, dtype=np.float32).reshape(4, 3) - 5.0) * scale
    bias = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def golden_set(model: bytes, profiles: tuple[str, ...], samples: int = 3) -> bytes:
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    inputs, outputs = [], []
    for _ in range(samples):
        x = rng.standard_normal((2, 4)).astype(np.float32)
        (y,) = session.run(None, {"x": x})
        inputs.append({"x": Tensor.of(x)})
        outputs.append({"y": Tensor.of(y)})
    expected = {"fp32": outputs, **dict.fromkeys(profiles, outputs)}
    return GoldenSet(inputs=inputs, expected=expected).to_bytes()


@dataclass
class Bundle:
    name: str
    version: str
    export_id: str
    files: dict[str, bytes]  # file name → bytes
    manifest: bytes
    signature: bytes
    profiles: tuple[str, ...]
    manifest_dict: dict[str, Any] = field(default_factory=dict)

    def sha(self, name: str) -> str:
        return sha256_hex(self.files[name])


def build_bundle(
    signer: LocalSigner,
    version: str = "1.0.0",
    *,
    name: str = "tiny",
    profiles: tuple[str, ...] = (X86, ARM),
    min_onnxruntime: str = "1.16.0",
    model: bytes | None = None,
    golden: bytes | None = None,
    edit: Any = None,
) -> Bundle:
    """A signed bundle; ``edit(manifest_dict)`` changes the manifest before signing (hostile tests)."""
    model = model if model is not None else onnx_model()
    golden = golden if golden is not None else golden_set(model, profiles)
    files = {"model.onnx": model, GOLDEN_FILE_NAME: golden}
    export_id = f"exp-{uuid.uuid4().hex[:12]}"
    manifest = Manifest(
        name=name,
        version=version,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        files=[
            ManifestFile(name="model.onnx", sha256=sha256_hex(model), size=len(model), role="model"),
            ManifestFile(name=GOLDEN_FILE_NAME, sha256=sha256_hex(golden), size=len(golden), role="golden"),
        ],
        onnx=OnnxInfo(ir_version=9, opsets={"": 17}, min_onnxruntime=min_onnxruntime),
        inputs=[TensorSpec(name="x", elem_type="float32", shape=["N", 4])],
        outputs=[TensorSpec(name="y", elem_type="float32", shape=["N", 3])],
        profiles=[
            ProfileBuild(
                name=p,
                os="linux",
                arch=p.split("-", 1)[1],
                model_file="model.onnx",
                quantization=Quantization(mode="none"),
                fidelity=FidelityReport(
                    cosine=1.0, argmax_agreement=1.0, metric="cosine", threshold=0.99, passed=True, samples=3
                ),
            )
            for p in profiles
        ],
        golden=GoldenInfo(file=GOLDEN_FILE_NAME, samples=3, min_cosine=0.999),
        provenance=Provenance(
            export_id=export_id, source_model_uri="s3://models/tiny.onnx", source_model_sha256="0" * 64
        ),
    )
    data = manifest.to_bytes()
    as_dict: dict[str, Any] = orjson.loads(data)
    if edit is not None:
        edit(as_dict)
        data = orjson.dumps(as_dict, option=orjson.OPT_SORT_KEYS)
    return Bundle(name, version, export_id, files, data, sign_manifest(signer, data), profiles, as_dict)


def placeholder(bucket: str, key: str) -> str:
    return f"${{aws:iot:s3-presigned-url-v2:https://s3.{REGION}.amazonaws.com/{bucket}/{key}}}"


def publish(s3: Any, bucket: str, bundle: Bundle, *, profiles: tuple[str, ...] | None = None) -> str:
    """Upload the bundle as the export function lays it out; return the job document (JSON)."""
    for data in bundle.files.values():
        s3.put_object(Bucket=bucket, Key=blob_key(sha256_hex(data)), Body=data)
    s3.put_object(Bucket=bucket, Key=manifest_key(bundle.export_id), Body=bundle.manifest)
    s3.put_object(Bucket=bucket, Key=signature_key(bundle.export_id), Body=bundle.signature)
    document = JobDocument(
        export_id=bundle.export_id,
        name=bundle.name,
        version=bundle.version,
        profiles=list(profiles or bundle.profiles),
        manifest=JobDocumentFile(url=placeholder(bucket, manifest_key(bundle.export_id))),
        signature=JobDocumentFile(url=placeholder(bucket, signature_key(bundle.export_id))),
        blobs={
            sha256_hex(data): JobDocumentFile(
                url=placeholder(bucket, blob_key(sha256_hex(data))), sha256=sha256_hex(data), size=len(data)
            )
            for data in bundle.files.values()
        },
    )
    return json.dumps(document.to_wire())


@dataclass
class World:
    endpoint: str
    iot: Any
    s3: Any
    bucket: str
    plane: LocalJobsDataPlane
    jobs_url: str
    signer: LocalSigner
    tmp: Path

    def jobs_client(self) -> Any:
        return boto3.client("iot-jobs-data", endpoint_url=self.jobs_url, region_name=REGION)

    def thing(self, name: str | None = None, group: str | None = None) -> str:
        thing = name or f"dev-{uuid.uuid4().hex[:8]}"
        self.iot.create_thing(thingName=thing)
        if group:
            self.iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)
        return thing

    def job(self, document: str, targets: list[str]) -> str:
        job_id = f"job-{uuid.uuid4().hex[:10]}"
        self.iot.create_job(
            jobId=job_id,
            targets=targets,
            document=document,
            targetSelection="CONTINUOUS",
            presignedUrlConfig={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/iot-s3", "expiresInSec": 600},
        )
        return job_id

    def thing_arn(self, thing: str) -> str:
        return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{thing}"

    def device(self, thing: str, profile: str = X86, **config: Any) -> Agent:
        root = self.tmp / thing
        provision(
            thing,
            root,
            public_key_pem(self.signer.public_key_der()),
            profile=profile,
            region=REGION,
            jobs_endpoint=self.jobs_url,
        )
        loaded = DeviceConfig.load(root)
        if config:
            loaded = loaded.model_copy(update=config)
        return Agent(loaded, root, self.jobs_client())

    def offer(self, bundle: Bundle, thing: str, **publish_args: Any) -> str:
        return self.job(publish(self.s3, self.bucket, bundle, **publish_args), [self.thing_arn(thing)])

    def execution(self, job_id: str, thing: str) -> Any:
        return next(r for r in self.plane.executions(job_id) if r.thing_name == thing)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def signer() -> LocalSigner:
    return LocalSigner()


@pytest.fixture
def world(moto_endpoint: str, signer: LocalSigner, tmp_path: Path) -> Iterator[World]:
    import urllib.request

    # A clean moto per test: the data plane reads every job moto holds at each call.
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    iot = boto3.client("iot", endpoint_url=moto_endpoint, region_name=REGION)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    plane = LocalJobsDataPlane(
        iot_endpoint=moto_endpoint, s3_endpoint=moto_endpoint, region=REGION, account_id=ACCOUNT
    )
    url = plane.start()
    try:
        yield World(moto_endpoint, iot, s3, bucket, plane, url, signer, tmp_path)
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def bundle_v1(signer: LocalSigner) -> Bundle:
    return build_bundle(signer, "1.0.0")


@pytest.fixture(scope="module")
def bundle_v2(signer: LocalSigner) -> Bundle:
    return build_bundle(signer, "1.1.0", model=onnx_model(scale=2.0))


def installed(world: World, bundle: Bundle) -> tuple[Agent, str]:
    """A device with ``bundle`` already current."""
    thing = world.thing()
    agent = world.device(thing)
    world.offer(bundle, thing)
    assert agent.run_once().status is OutcomeStatus.SUCCEEDED
    return agent, thing


# -- tests --------------------------------------------------------------------------------------------------


def test_install_switches_current_and_reports_succeeded(world: World, bundle_v1: Bundle) -> None:
    thing = world.thing()
    agent = world.device(thing)
    job_id = world.offer(bundle_v1, thing)

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.SUCCEEDED, outcome
    assert (outcome.job_id, outcome.version, outcome.exit_code) == (job_id, "1.0.0", 0)
    assert agent.current.is_symlink()
    assert str(agent.current.readlink()) == "versions/1.0.0"
    current = agent.current.resolve()
    assert current == (agent.root / "versions" / "1.0.0").resolve()
    assert json.loads((current / "manifest.json").read_bytes())["version"] == "1.0.0"
    assert (current / "manifest.json").read_bytes() == bundle_v1.manifest
    assert (current / "manifest.sig").read_bytes() == bundle_v1.signature
    assert (current / "model.onnx").read_bytes() == bundle_v1.files["model.onnx"]
    assert (agent.cache / bundle_v1.sha("model.onnx")).is_file()
    record = world.execution(job_id, thing)
    assert record.status == "SUCCEEDED"
    assert record.status_details["version"] == "1.0.0"
    names = [step.name for step in outcome.steps]
    for expected in ("checked", "downloaded", "verified", "smoke test", "switched", "reported"):
        assert expected in names
    trust = agent.root / "trust" / "signing-public-key.pem"
    assert trust.stat().st_mode & 0o777 == 0o600
    assert trust.parent.stat().st_mode & 0o777 == 0o700
    assert (agent.root / "device.json").stat().st_mode & 0o777 == 0o600


def test_second_version_installs_and_previous_is_kept(
    world: World, bundle_v1: Bundle, bundle_v2: Bundle
) -> None:
    agent, thing = installed(world, bundle_v1)
    job_id = world.offer(bundle_v2, thing)

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.SUCCEEDED, outcome
    assert agent.current_version() == "1.1.0"
    assert agent.previous_version() == "1.0.0"
    assert (agent.root / "versions" / "1.0.0" / "model.onnx").is_file()
    assert world.execution(job_id, thing).status_details["version"] == "1.1.0"


def test_versions_are_pruned_to_the_last_few(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing, keep_versions=2)
    for minor in range(4):
        world.offer(build_bundle(signer, f"1.{minor}.0", model=onnx_model(scale=1.0 + minor)), thing)
        assert agent.run_once().status is OutcomeStatus.SUCCEEDED
    assert sorted(p.name for p in (agent.root / "versions").iterdir()) == ["1.2.0", "1.3.0"]
    assert (agent.current_version(), agent.previous_version()) == ("1.3.0", "1.2.0")


def test_same_version_again_succeeds_without_downloading(world: World, bundle_v1: Bundle) -> None:
    agent, thing = installed(world, bundle_v1)
    job_id = world.offer(bundle_v1, thing)

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.SUCCEEDED
    assert "downloaded" not in [s.name for s in outcome.steps]
    assert world.execution(job_id, thing).status == "SUCCEEDED"
    assert agent.current_version() == "1.0.0"


def test_tampered_blob_fails_and_keeps_previous(world: World, bundle_v1: Bundle, signer: LocalSigner) -> None:
    agent, thing = installed(world, bundle_v1)
    bundle = build_bundle(signer, "2.0.0", model=onnx_model(scale=3.0))
    document = publish(world.s3, world.bucket, bundle)
    # Someone swaps the content-addressed blob for other bytes after publishing.
    key = blob_key(bundle.sha("model.onnx"))
    world.s3.put_object(Bucket=world.bucket, Key=key, Body=onnx_model(scale=4.0))
    job_id = world.job(document, [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.reason == "digest"
    assert outcome.exit_code == 1
    assert agent.current_version() == "1.0.0"
    assert not (agent.root / "versions" / "2.0.0").exists()
    assert not (agent.cache / bundle.sha("model.onnx")).exists()
    record = world.execution(job_id, thing)
    assert (record.status, record.status_details["reason"]) == ("FAILED", "digest")


def test_tampered_manifest_fails_signature(world: World, bundle_v1: Bundle, signer: LocalSigner) -> None:
    agent, thing = installed(world, bundle_v1)
    bundle = build_bundle(signer, "2.0.0")
    document = publish(world.s3, world.bucket, bundle)
    tampered = bundle.manifest.replace(b'"minCosine":0.999', b'"minCosine":0.001')
    assert tampered != bundle.manifest
    world.s3.put_object(Bucket=world.bucket, Key=manifest_key(bundle.export_id), Body=tampered)
    job_id = world.job(document, [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature")
    assert agent.current_version() == "1.0.0"
    assert world.execution(job_id, thing).status_details["reason"] == "signature"


def test_a_bundle_signed_by_another_key_fails(world: World, bundle_v1: Bundle) -> None:
    agent, thing = installed(world, bundle_v1)
    world.offer(build_bundle(LocalSigner(), "2.0.0"), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature")
    assert agent.current_version() == "1.0.0"


def test_garbage_signature_fails(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing)
    bundle = build_bundle(signer)
    bundle.signature = b"not a DER signature"
    world.offer(bundle, thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature")
    assert agent.current_version() is None


def test_incompatible_profile_is_rejected(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing, profile=ARM)
    job_id = world.offer(build_bundle(signer, profiles=(X86,)), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "incompatible profile")
    assert outcome.exit_code == 1
    assert agent.current_version() is None
    record = world.execution(job_id, thing)
    assert record.status == "REJECTED"
    assert "linux-aarch64" in record.status_details["detail"]


def test_a_runtime_older_than_the_bundle_needs_is_rejected(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing)
    world.offer(build_bundle(signer, min_onnxruntime="99.0.0"), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "onnxruntime")
    assert "99.0.0" in (outcome.detail or "")


def test_not_enough_disk_is_rejected(world: World, bundle_v1: Bundle) -> None:
    thing = world.thing()
    agent = world.device(thing, min_free_bytes=10**18)
    world.offer(bundle_v1, thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "disk")


@pytest.mark.parametrize("hostile", ["../escape.onnx", "/tmp/escape.onnx", "sub/model.onnx"])
def test_file_names_that_escape_are_refused(world: World, signer: LocalSigner, hostile: str) -> None:
    def rename(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["name"] == "model.onnx":
                entry["name"] = hostile
        for build in manifest["profiles"]:
            build["modelFile"] = hostile

    thing = world.thing()
    agent = world.device(thing)
    world.offer(build_bundle(signer, edit=rename), thing)

    outcome = agent.run_once()

    assert outcome.status in {OutcomeStatus.FAILED, OutcomeStatus.REJECTED}
    assert agent.current_version() is None
    assert not (agent.root / "escape.onnx").exists()
    assert not (agent.root / "versions" / "escape.onnx").exists()


def test_a_planted_symlink_is_refused(world: World, signer: LocalSigner, tmp_path: Path) -> None:
    thing = world.thing()
    agent = world.device(thing)
    outside = tmp_path / "outside"
    outside.mkdir()
    (agent.root / "versions").mkdir()
    (agent.root / "versions" / "1.0.0").symlink_to(outside)
    job_id = world.offer(build_bundle(signer), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "unsafe path")
    assert list(outside.iterdir()) == []
    assert agent.current_version() is None
    assert world.execution(job_id, thing).status == "FAILED"


def test_a_planted_cache_symlink_is_refused(world: World, bundle_v1: Bundle, tmp_path: Path) -> None:
    thing = world.thing()
    agent = world.device(thing)
    outside = tmp_path / "outside-cache"
    outside.mkdir()
    (agent.root / "cache").mkdir()
    (agent.root / "cache" / "sha256").symlink_to(outside)
    world.offer(bundle_v1, thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "unsafe path")
    assert list(outside.iterdir()) == []


def test_a_failing_smoke_test_fails_and_leaves_no_version(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing)
    other = onnx_model(scale=-1.0)  # expected outputs from a different model
    world.offer(build_bundle(signer, model=onnx_model(), golden=golden_set(other, (X86, ARM))), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "smoke test")
    assert not (agent.root / "versions" / "1.0.0").exists()
    assert [p.name for p in (agent.root / "versions").iterdir()] == []
    assert agent.current_version() is None


def test_a_cached_blob_is_re_hashed_before_reuse(
    world: World, bundle_v1: Bundle, signer: LocalSigner
) -> None:
    agent, thing = installed(world, bundle_v1)
    cached = agent.cache / bundle_v1.sha("model.onnx")
    cached.write_bytes(b"corrupted on disk")
    # 1.0.1 ships the same model blob: the corrupted cache entry must be replaced, not reused.
    world.offer(build_bundle(signer, "1.0.1"), thing)

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.SUCCEEDED, outcome
    assert cached.read_bytes() == bundle_v1.files["model.onnx"]
    assert (agent.current / "model.onnx").read_bytes() == bundle_v1.files["model.onnx"]


def test_an_unreachable_blob_fails_retryably(world: World, bundle_v1: Bundle) -> None:
    agent, thing = installed(world, bundle_v1)
    bundle = build_bundle(world.signer, "3.0.0", model=onnx_model(scale=5.0))  # nothing cached
    document = json.loads(publish(world.s3, world.bucket, bundle))
    for blob in document["blobs"].values():
        blob["url"] = "http://127.0.0.1:9/unreachable"  # the discard port: connection refused
    job_id = world.job(json.dumps(document), [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "download")
    assert agent.current_version() == "1.0.0"
    assert world.execution(job_id, thing).status == "FAILED"


@pytest.mark.parametrize("document", ["not json", "{}", '{"schema": "x", "operation": "other"}'])
def test_a_bad_document_is_rejected(world: World, document: str) -> None:
    thing = world.thing()
    agent = world.device(thing)
    job_id = world.job(document, [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "bad document")
    assert world.execution(job_id, thing).status == "REJECTED"


def test_a_file_url_is_refused(world: World, bundle_v1: Bundle) -> None:
    thing = world.thing()
    agent = world.device(thing)
    document = json.loads(publish(world.s3, world.bucket, bundle_v1))
    document["manifest"]["url"] = "file:///etc/passwd"
    world.job(json.dumps(document), [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.REJECTED
    assert "scheme" in (outcome.detail or "")


def test_nothing_pending_is_exit_3(world: World) -> None:
    agent = world.device(world.thing())

    outcome = agent.run_once()

    assert outcome.status is OutcomeStatus.NONE
    assert outcome.exit_code == 3


def test_run_loop_sleeps_when_idle_and_stops(world: World, bundle_v1: Bundle) -> None:
    thing = world.thing()
    agent = world.device(thing)
    world.offer(bundle_v1, thing)
    sleeps: list[float] = []

    outcomes = agent.run(stop_after=2, poll_seconds=5.0, sleep=sleeps.append)

    assert [o.status for o in outcomes] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.NONE]
    assert sleeps == [5.0]


def test_an_unreachable_jobs_endpoint_is_a_failed_outcome_not_a_crash(world: World, tmp_path: Path) -> None:
    root = tmp_path / "offline"
    config = provision(
        "offline",
        root,
        public_key_pem(world.signer.public_key_der()),
        profile=X86,
        region=REGION,
        jobs_endpoint="http://127.0.0.1:9",
    )
    outcome = Agent(config, root).run_once()
    assert (outcome.status, outcome.reason, outcome.job_id) == (OutcomeStatus.FAILED, "jobs endpoint", None)


def test_provision_refuses_a_key_that_is_not_p256(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="P-256"):
        provision("t", tmp_path / "d", pem, region=REGION)
    with pytest.raises(ValueError, match="PEM"):
        provision("t", tmp_path / "d", b"garbage", region=REGION)


def test_default_profile_comes_from_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert DeviceConfig(thing_name="t", region=REGION).profile == ARM


def test_a_current_version_with_other_content_is_not_overwritten(
    world: World, bundle_v1: Bundle, signer: LocalSigner
) -> None:
    agent, thing = installed(world, bundle_v1)
    world.offer(build_bundle(signer, "1.0.0", name="another", model=onnx_model(scale=6.0)), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "version conflict")
    assert (agent.current / "model.onnx").read_bytes() == bundle_v1.files["model.onnx"]


def test_the_agent_module_needs_only_the_device_dependencies() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tailor.edge.agent\n"
        "heavy = {'typer', 'rich', 'moto', 'onnx', 'boto3', 'botocore', 'onnxruntime', 'numpy'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_document_of_another_schema_is_rejected(world: World, bundle_v1: Bundle) -> None:
    thing = world.thing()
    agent = world.device(thing)
    document = json.loads(publish(world.s3, world.bucket, bundle_v1))
    document["schema"] = "tailor.edge.job/2"
    world.job(json.dumps(document), [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "bad document")
    assert "schema" in (outcome.detail or "")


def test_signed_sizes_decide_the_disk_check_not_the_document(
    world: World, bundle_v1: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    thing = world.thing()
    agent = world.device(thing, min_free_bytes=0)
    document = json.loads(publish(world.s3, world.bucket, bundle_v1))
    for blob in document["blobs"].values():
        blob["size"] = 1  # the document understates; the manifest is what counts
    world.job(json.dumps(document), [world.thing_arn(thing)])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**9, 0, 100))

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "disk")
    assert "the manifest" in (outcome.detail or "")


def test_a_file_named_like_the_agents_own_files_is_refused(world: World, signer: LocalSigner) -> None:
    def rename(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["name"] == "model.onnx":
                entry["name"] = "manifest.sig"
        for build in manifest["profiles"]:
            build["modelFile"] = "manifest.sig"

    thing = world.thing()
    agent = world.device(thing)
    world.offer(build_bundle(signer, edit=rename), thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "unsafe path")


def test_an_oversized_manifest_is_cut_off(world: World, signer: LocalSigner) -> None:
    thing = world.thing()
    agent = world.device(thing)
    bundle = build_bundle(signer)
    document = publish(world.s3, world.bucket, bundle)
    huge = bundle.manifest + b" " * (300 * 1024)
    world.s3.put_object(Bucket=world.bucket, Key=manifest_key(bundle.export_id), Body=huge)
    world.job(document, [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "download")
    assert "larger than" in (outcome.detail or "")


def test_a_canceled_group_job_is_not_installed(world: World, bundle_v1: Bundle) -> None:
    group = world.iot.create_thing_group(thingGroupName=f"g-{uuid.uuid4().hex[:6]}")
    thing = world.thing(group=group["thingGroupName"])
    agent = world.device(thing)
    job_id = world.job(publish(world.s3, world.bucket, bundle_v1), [group["thingGroupArn"]])
    world.iot.cancel_job(jobId=job_id)

    assert agent.run_once().status is OutcomeStatus.NONE
    assert agent.current_version() is None


def test_step_timeout_is_passed_to_start_next(world: World, bundle_v1: Bundle) -> None:
    seen: list[dict[str, Any]] = []

    class Recording:
        def start_next_pending_job_execution(self, **kwargs: Any) -> Any:
            seen.append(kwargs)
            return {}

        def update_job_execution(self, **kwargs: Any) -> Any:
            raise AssertionError("nothing to update")

    thing = world.thing()
    agent = world.device(thing)
    agent = Agent(agent.config, agent.root, Recording(), step_timeout_minutes=15)

    assert agent.run_once().status is OutcomeStatus.NONE
    assert seen == [{"thingName": thing, "stepTimeoutInMinutes": 15}]


def test_rollback_swaps_current_and_previous(world: World, bundle_v1: Bundle, bundle_v2: Bundle) -> None:
    agent, thing = installed(world, bundle_v1)
    with pytest.raises(ValueError, match="no previous"):
        agent.rollback()
    world.offer(bundle_v2, thing)
    assert agent.run_once().status is OutcomeStatus.SUCCEEDED

    assert agent.rollback() == "1.0.0"
    assert (agent.current_version(), agent.previous_version()) == ("1.0.0", "1.1.0")
    assert (agent.current / "model.onnx").read_bytes() == bundle_v1.files["model.onnx"]
