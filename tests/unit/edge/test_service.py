"""export_for_run / export_requested with fakes: recorded, packaged, signed, rolled out, told once;
every crash window resumes without a second job; findings fail once, transient trouble is retried.

The packager is a fake (tiny files, deterministic bytes) except in the run-triggered test, which
builds the real sample model and packages it with the real ``build_package``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.exports import Channel, InMemoryExportStore
from tailor.adapters.fleet import FleetError, FleetJob, InMemoryFleet, JobRequest
from tailor.adapters.object_store import DEFAULT_CHUNK, InMemoryObjectStore, ObjectInfo
from tailor.adapters.runs import InMemoryRunStore
from tailor.edge import request as plans
from tailor.edge.errors import ExportError, Stage
from tailor.edge.manifest import (
    FidelityReport,
    GoldenInfo,
    JobDocument,
    Manifest,
    ManifestFile,
    OnnxInfo,
    ProfileBuild,
    Provenance,
    Quantization,
    TensorSpec,
    blob_key,
    manifest_key,
    recipe_key,
    sha256_hex,
    signature_key,
)
from tailor.edge.package import Blob, Package
from tailor.edge.record import ExportRecord, ExportStatus
from tailor.edge.rollout import MAX_DOCUMENT_CHARS, channel_key
from tailor.edge.service import (
    ExportDeps,
    ExportResult,
    Outcome,
    export_for_run,
    export_requested,
    outcome_event,
)
from tailor.edge.signing import LocalSigner, SignatureError, verify_signature
from tailor.events.models import DatasetSnapshot, EdgeExportRequested, SnapshotFile
from tailor.jobs.run import RunFacts, RunRecord
from tailor.runtime import Deadline, DeadlineReachedError

REGION = "us-east-1"
ACCOUNT = "123456789012"
DATA = "tailor-data"
ARTIFACTS = "tailor-artifacts"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/tailor-edge-presign"
MODEL_KEY = "models/intent/model.onnx"
MODEL_URI = f"s3://{DATA}/{MODEL_KEY}"
MODEL_BYTES = b"pretend-onnx-model-bytes"
KIOSKS = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/kiosks"
PLACEHOLDER = re.compile(
    r"\$\{aws:iot:s3-presigned-url-v2:https://s3\.us-east-1\.amazonaws\.com/" + ARTIFACTS + r"/(edge/[^}]+)\}"
)


class FakePackager:
    """``build_package``'s contract with tiny, deterministic files (same source → same bytes)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail: ExportError | None = None

    def __call__(
        self,
        source: Path,
        *,
        name: str,
        version: str,
        export_id: str,
        profiles: Sequence[str],
        quantize: bool,
        gate: Any,
        golden_source: Path | None,
        provenance: Provenance,
        workdir: Path,
        now: datetime,
        bucket: str,
        max_model_bytes: int,
    ) -> Package:
        self.calls.append(
            {
                "name": name,
                "version": version,
                "profiles": list(profiles),
                "now": now,
                "gate": gate,
                "provenance": provenance,
            }
        )
        if self.fail is not None:
            raise self.fail
        source_bytes = source.read_bytes()
        workdir.mkdir(parents=True, exist_ok=True)
        model = workdir / "model.int8.onnx"
        model.write_bytes(b"int8:" + source_bytes)
        golden = workdir / "golden.json"
        golden.write_bytes(b'{"golden":' + (golden_source.read_bytes() if golden_source else b"null") + b"}")
        blobs = [Blob(sha256_hex(p.read_bytes()), p, p.stat().st_size, p.name) for p in (model, golden)]
        report = FidelityReport(
            cosine=0.9987, argmax_agreement=1.0, metric="cosine", threshold=0.99, passed=True, samples=8
        )
        manifest = Manifest(
            name=name,
            version=version,
            created_at=now,
            files=[
                ManifestFile(
                    name=b.name,
                    sha256=b.sha256,
                    size=b.size,
                    role="golden" if b.name == "golden.json" else "model",
                )
                for b in blobs
            ],
            onnx=OnnxInfo(ir_version=9, opsets={"": 17}, min_onnxruntime="1.16.0"),
            inputs=[TensorSpec(name="x", elem_type="float32", shape=["N", 4])],
            outputs=[TensorSpec(name="y", elem_type="float32", shape=["N", 2])],
            profiles=[
                ProfileBuild(
                    name=p,
                    os="linux",
                    arch="x86_64",
                    model_file=model.name,
                    quantization=Quantization(mode="int8-dynamic", weight_type="QInt8"),
                    fidelity=report,
                )
                for p in profiles
            ],
            golden=GoldenInfo(file="golden.json", samples=8),
            provenance=provenance,
        )
        manifest_bytes = manifest.to_bytes()
        return Package(
            manifest=manifest,
            manifest_bytes=manifest_bytes,
            blobs=blobs,
            recipe={"ComponentName": f"tailor.model.{name}", "ComponentVersion": version},
            sizes={
                "sourceBytes": len(source_bytes),
                "modelBytes": model.stat().st_size,
                "bundleBytes": sum(b.size for b in blobs) + len(manifest_bytes),
            },
            fidelity=dict.fromkeys(profiles, report),
        )


class FlakyObjects(InMemoryObjectStore):
    """InMemoryObjectStore that raises a queued error from a named method once, and can report a
    bigger size for a key (the deadline asks for time per MB)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: dict[str, Exception] = {}
        self.reported_size: dict[str, int] = {}
        self.puts: list[str] = []

    def _maybe_fail(self, method: str) -> None:
        error = self.fail.pop(method, None)
        if error is not None:
            raise error

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        info = super().head(bucket, key, version_id)
        if info is not None and key in self.reported_size:
            return ObjectInfo(info.bucket, info.key, self.reported_size[key], info.etag, info.version_id)
        return info

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK, version_id: str | None = None
    ) -> Iterator[bytes]:
        self._maybe_fail("iter_chunks")
        return super().iter_chunks(bucket, key, chunk_size, version_id)

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        self._maybe_fail("put_bytes")
        self.puts.append(key)
        return super().put_bytes(bucket, key, body, content_type)

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        self._maybe_fail("put_file")
        super().put_file(bucket, key, path, content_type)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.objects = FlakyObjects()
        self.runs = InMemoryRunStore()
        self.exports = InMemoryExportStore()
        self.bus = InMemoryPublisher()
        self.fleet = InMemoryFleet(account_id=ACCOUNT, region=REGION)
        self.signer = LocalSigner()
        self.packager = FakePackager()
        self.workdir = tmp_path / "work"
        self.deadline = Deadline.unlimited()
        self.real_packager = False
        info = self.objects.put_bytes(DATA, MODEL_KEY, MODEL_BYTES)
        self.model_version = info.version_id
        self.objects.puts.clear()

    def deps(self) -> ExportDeps:
        extra: dict[str, Any] = {} if self.real_packager else {"packager": lambda: self.packager}
        return ExportDeps(
            exports=self.exports,
            runs=self.runs,
            objects=self.objects,
            bus=self.bus,
            fleet=self.fleet,
            signer=self.signer,
            bucket=ARTIFACTS,
            presign_role_arn=ROLE,
            region=REGION,
            account_id=ACCOUNT,
            workdir=self.workdir,
            deadline=self.deadline,
            **extra,
        )

    def request(self, event_id: str = "evt-1", **fields: Any) -> ExportResult:
        fields.setdefault("model_uri", MODEL_URI)
        fields.setdefault("targets", ["thinggroup/kiosks"])
        return export_requested(EdgeExportRequested(**fields), event_id, self.deps())

    def events(self, detail_type: str) -> list[dict[str, Any]]:
        return [d["data"] for d in self.bus.details(detail_type)]

    def record(self, export_id: str) -> ExportRecord:
        record = self.exports.get(export_id)
        assert record is not None, export_id
        return record

    def versions_of(self, key: str) -> list[bytes]:
        return [v.data for v in self.objects.versions.get((ARTIFACTS, key), [])]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def throttled() -> FleetError:
    return FleetError("ThrottlingException", "Rate exceeded", transient=True)


# -- (1) the whole path -----------------------------------------------------------------------------


def test_a_model_uri_request_is_recorded_packaged_signed_rolled_out_and_told_once(world: World) -> None:
    statuses: list[ExportStatus] = []
    real_create, real_advance = world.exports.create, world.exports.advance

    def create(record: ExportRecord) -> bool:
        statuses.append(record.status)
        return real_create(record)

    def advance(export_id: str, target: ExportStatus, facts: Any = None) -> bool:
        statuses.append(target)
        return real_advance(export_id, target, facts)

    world.exports.create = create  # type: ignore[method-assign]
    world.exports.advance = advance  # type: ignore[method-assign]

    result = world.request(export_id="kiosk-v1", name="intent")

    assert result == ExportResult(Outcome.PUBLISHED, "ex-kiosk-v1", "1.0.1", "tailor-ex-kiosk-v1")
    assert statuses == [ExportStatus.REQUESTED, ExportStatus.PACKAGED, ExportStatus.PUBLISHED]
    record = world.record("ex-kiosk-v1")
    assert record.status is ExportStatus.PUBLISHED and record.published is True
    assert record.source_version == world.model_version and record.request_id == "evt-1"
    assert record.facts.iot_job_id == "tailor-ex-kiosk-v1" and record.facts.cancelled_job_ids == []

    # Content-addressed blobs: the key is the sha256 of the bytes under it.
    assert record.facts.blobs and len(record.facts.blobs) == 2
    for sha, size in record.facts.blobs.items():
        data = world.objects.get_bytes(ARTIFACTS, f"edge/blobs/sha256/{sha}")
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == size

    # The manifest verifies with the signer's public key, and only as stored.
    manifest_bytes = world.objects.get_bytes(ARTIFACTS, manifest_key("ex-kiosk-v1"))
    signature = world.objects.get_bytes(ARTIFACTS, signature_key("ex-kiosk-v1"))
    verify_signature(world.signer.public_key_der(), manifest_bytes, signature)
    with pytest.raises(SignatureError):
        verify_signature(world.signer.public_key_der(), manifest_bytes + b" ", signature)
    with pytest.raises(SignatureError):
        verify_signature(LocalSigner().public_key_der(), manifest_bytes, signature)
    manifest = Manifest.from_bytes(manifest_bytes)
    assert {f.sha256 for f in manifest.files} == set(record.facts.blobs)
    assert manifest.created_at == datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
    assert manifest.provenance.export_id == "ex-kiosk-v1" and manifest.provenance.run_id is None
    assert manifest.provenance.source_model_uri == MODEL_URI
    assert manifest.provenance.source_model_version == world.model_version
    assert manifest.provenance.source_model_sha256 == hashlib.sha256(MODEL_BYTES).hexdigest()
    recipe = orjson.loads(world.objects.get_bytes(ARTIFACTS, recipe_key("ex-kiosk-v1")))
    assert recipe["ComponentVersion"] == "1.0.1"
    gate = world.packager.calls[0]["gate"]
    assert (gate.min_cosine, gate.min_argmax_agreement) == (0.99, 0.99)

    # One event, with the sizes, the worst profile's fidelity and the job.
    assert world.events("EdgeExportFailed") == []
    (published,) = world.events("EdgePackagePublished")
    assert published["exportId"] == "ex-kiosk-v1" and published["name"] == "intent"
    assert published["version"] == "1.0.1" and published["targets"] == ["thinggroup/kiosks"]
    assert published["iotJobIds"] == ["tailor-ex-kiosk-v1"] and published["cancelledJobIds"] == []
    assert published["sizes"] == {
        "sourceBytes": len(MODEL_BYTES),
        "modelBytes": len(MODEL_BYTES) + 5,
        "bundleBytes": sum(record.facts.blobs.values()) + len(manifest_bytes),
    }
    assert published["fidelity"] == {
        "metric": "cosine",
        "value": 0.9987,
        "threshold": 0.99,
        "passed": True,
        "cosine": 0.9987,
        "argmaxAgreement": 1.0,
        "profile": "linux-x86_64",
    }
    assert published["manifestDigest"] == "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    assert published["manifestUri"] == f"s3://{ARTIFACTS}/edge/exports/ex-kiosk-v1/manifest.json"
    assert published["signatureUri"] == f"s3://{ARTIFACTS}/edge/exports/ex-kiosk-v1/manifest.sig"
    assert published["bundleUri"] == f"s3://{ARTIFACTS}/edge/exports/ex-kiosk-v1/"

    # The CreateJob arguments: continuous, ARNs, presigned URLs, slow start, abort, timeout, retry.
    (job_id,) = world.fleet.jobs
    args = world.fleet.requests[job_id]
    assert args["jobId"] == "tailor-ex-kiosk-v1" and args["targetSelection"] == "CONTINUOUS"
    assert args["targets"] == [KIOSKS]
    assert args["presignedUrlConfig"] == {"roleArn": ROLE, "expiresInSec": 3600}
    assert args["jobExecutionsRolloutConfig"] == {
        "maximumPerMinute": 50,
        "exponentialRate": {
            "baseRatePerMinute": 5,
            "incrementFactor": 2.0,
            "rateIncreaseCriteria": {"numberOfSucceededThings": 10},
        },
    }
    assert args["abortConfig"] == {
        "criteriaList": [
            {
                "failureType": "FAILED",
                "action": "CANCEL",
                "thresholdPercentage": 10.0,
                "minNumberOfExecutedThings": 20,
            }
        ]
    }
    assert args["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert args["jobExecutionsRetryConfig"] == {
        "criteriaList": [
            {"failureType": "FAILED", "numberOfRetries": 2},
            {"failureType": "TIMED_OUT", "numberOfRetries": 2},
        ]
    }
    assert {"Key": "tailor-export-id", "Value": "ex-kiosk-v1"} in args["tags"]

    # The document: small, and nothing in it is a URL or a credential except IoT placeholders.
    text = args["document"]
    assert len(text) <= MAX_DOCUMENT_CHARS
    document = JobDocument.model_validate_json(text)
    urls = [document.manifest.url, document.signature.url, *(f.url for f in document.blobs.values())]
    keys = [PLACEHOLDER.fullmatch(url).group(1) for url in urls]  # type: ignore[union-attr]
    assert keys == [
        manifest_key("ex-kiosk-v1"),
        signature_key("ex-kiosk-v1"),
        *(blob_key(sha) for sha in sorted(record.facts.blobs)),
    ]
    rest = PLACEHOLDER.sub("", text)
    assert "http" not in rest and "${" not in rest and "X-Amz" not in text and "s3://" not in text
    assert document.manifest.sha256 == hashlib.sha256(manifest_bytes).hexdigest()
    assert document.manifest.size == len(manifest_bytes)
    assert {sha: f.size for sha, f in document.blobs.items()} == record.facts.blobs
    assert document.version == "1.0.1" and document.profiles == ["linux-x86_64"]
    assert not (world.workdir / "ex-kiosk-v1").exists()  # /tmp is cleaned for the next invocation


def test_outcome_event_is_none_while_an_export_runs(world: World) -> None:
    record = ExportRecord(
        export_id="ex-x", name="n", version="1.0.1", source_uri=MODEL_URI, targets=[], profiles=[]
    )
    assert outcome_event(record) is None
    assert outcome_event(record.model_copy(update={"status": ExportStatus.PACKAGED})) is None


# -- (2) redelivery -----------------------------------------------------------------------------------


def test_the_same_trigger_delivered_three_times_is_one_export_one_job_one_event(world: World) -> None:
    results = [world.request("evt-same") for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.PUBLISHED, Outcome.ALREADY_DONE, Outcome.ALREADY_DONE]
    assert len({(r.export_id, r.version, r.iot_job_id) for r in results}) == 1
    assert results[0].export_id == plans.export_id_for_request(None, "evt-same")
    assert list(world.exports.records) == [results[0].export_id]
    assert world.exports.sequences == {"intent": 1}  # the name is the model's folder
    assert list(world.fleet.jobs) == [results[0].iot_job_id]
    assert len(world.bus.entries) == 1 and len(world.packager.calls) == 1


def test_a_requested_export_id_wins_over_new_event_ids(world: World) -> None:
    first = world.request("evt-1", export_id="cli-7")
    again = world.request("evt-2", export_id="cli-7")  # the CLI put the event again
    assert (first.outcome, again.outcome) == (Outcome.PUBLISHED, Outcome.ALREADY_DONE)
    assert first.export_id == again.export_id == "ex-cli-7"
    assert len(world.fleet.jobs) == 1 and len(world.bus.entries) == 1


# -- (3) crash windows --------------------------------------------------------------------------------


def test_a_crash_after_create_job_finds_the_job_by_describe_and_creates_no_second(world: World) -> None:
    real = world.fleet.create_job
    created: list[str] = []

    def create_then_die(request: JobRequest) -> FleetJob:
        created.append(request.job_id)
        job = real(request)
        if len(created) == 1:
            raise ConnectionResetError("the function died after IoT created the job")
        return job

    world.fleet.create_job = create_then_die  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.request(export_id="crash-job")
    assert world.record("ex-crash-job").status is ExportStatus.PACKAGED
    assert world.bus.entries == [] and list(world.fleet.jobs) == ["tailor-ex-crash-job"]

    result = world.request(export_id="crash-job")
    assert result.outcome is Outcome.PUBLISHED and result.iot_job_id == "tailor-ex-crash-job"
    assert created == ["tailor-ex-crash-job"]  # described, not created again
    assert len(world.packager.calls) == 1  # PACKAGED: not rebuilt
    (published,) = world.events("EdgePackagePublished")
    assert published["iotJobIds"] == ["tailor-ex-crash-job"]
    channel = world.exports.channel(channel_key("intent", ["thinggroup/kiosks"]))
    assert channel == Channel(channel.key if channel else "", "tailor-ex-crash-job", "ex-crash-job", 1)


def test_a_stale_describe_then_already_exists_adopts_the_job(world: World) -> None:
    """AWS answers ResourceAlreadyExists for a job id it has (a describe may not show it yet)."""
    real_create, real_describe = world.fleet.create_job, world.fleet.describe_job

    def create_then_time_out(request: JobRequest) -> FleetJob:
        real_create(request)
        raise TimeoutError("CreateJob timed out after IoT created the job")

    world.fleet.create_job = create_then_time_out  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        world.request(export_id="stale")
    world.fleet.create_job = real_create  # type: ignore[method-assign]
    stale = {"left": 1}

    def describe(job_id: str) -> FleetJob | None:
        if stale["left"]:
            stale["left"] -= 1
            return None
        return real_describe(job_id)

    world.fleet.describe_job = describe  # type: ignore[method-assign]
    result = world.request(export_id="stale")
    assert result.outcome is Outcome.PUBLISHED and list(world.fleet.jobs) == ["tailor-ex-stale"]
    assert len(world.events("EdgePackagePublished")) == 1


def test_a_crash_before_packaged_rebuilds_the_same_manifest_and_reuses_blobs(world: World) -> None:
    real = world.exports.advance
    died: list[str] = []

    def die_before_packaged(export_id: str, target: ExportStatus, facts: Any = None) -> bool:
        if target is ExportStatus.PACKAGED and not died:
            died.append(export_id)
            raise ConnectionResetError("the function died after uploading")
        return real(export_id, target, facts)

    world.exports.advance = die_before_packaged  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.request(export_id="crash-pack")
    record = world.record("ex-crash-pack")
    assert record.status is ExportStatus.REQUESTED and world.bus.entries == []
    (first_manifest,) = world.versions_of(manifest_key("ex-crash-pack"))
    blob_keys = [k for (b, k) in world.objects.versions if b == ARTIFACTS and k.startswith("edge/blobs/")]
    assert len(blob_keys) == 2

    result = world.request(export_id="crash-pack")
    assert result.outcome is Outcome.PUBLISHED and result.version == "1.0.1"
    assert len(world.packager.calls) == 2  # rebuilt from the recorded source ...
    assert world.packager.calls[0]["now"] == world.packager.calls[1]["now"]  # ... at the record's time
    manifests = world.versions_of(manifest_key("ex-crash-pack"))
    assert manifests == [first_manifest, first_manifest]  # the same bytes written again
    created = Manifest.from_bytes(first_manifest).created_at
    assert created == datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
    for key in blob_keys:
        assert len(world.versions_of(key)) == 1  # existing blobs are never put again
    assert sum(1 for key in world.objects.puts if key.startswith("edge/blobs/")) == 2
    signature = world.objects.get_bytes(ARTIFACTS, signature_key("ex-crash-pack"))
    verify_signature(world.signer.public_key_der(), first_manifest, signature)
    assert len(world.fleet.jobs) == 1 and len(world.bus.entries) == 1


def test_a_crash_after_publish_before_mark_published_is_at_least_once(world: World) -> None:
    """Documented at-least-once: the event went out, the record did not learn it, so the retry
    publishes it again — the same data and the same (deterministic) event id, for consumers to
    deduplicate. Still one job."""
    real = world.exports.mark_published
    calls: list[str] = []

    def die_first(export_id: str) -> None:
        calls.append(export_id)
        if len(calls) == 1:
            raise ConnectionResetError("the function died after PutEvents")
        real(export_id)

    world.exports.mark_published = die_first  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.request(export_id="crash-tell")
    record = world.record("ex-crash-tell")
    assert record.status is ExportStatus.PUBLISHED and record.published is False
    assert len(world.bus.entries) == 1

    assert world.request(export_id="crash-tell").outcome is Outcome.PUBLISHED
    assert len(world.bus.entries) == 2  # the second copy of the same event
    first, second = (orjson.loads(e["Detail"]) for e in world.bus.entries)
    assert first["data"] == second["data"]
    assert first["metadata"]["eventId"] == second["metadata"]["eventId"]
    assert world.record("ex-crash-tell").published is True
    assert world.request(export_id="crash-tell").outcome is Outcome.ALREADY_DONE
    assert len(world.bus.entries) == 2 and len(world.fleet.jobs) == 1


# -- (4) transient trouble and refusals ----------------------------------------------------------------


@pytest.mark.parametrize("where", ["describe_job", "create_job"])
def test_a_transient_fleet_error_propagates_and_the_record_stays_packaged(world: World, where: str) -> None:
    real = getattr(world.fleet, where)
    once = [throttled()]

    def flaky(*args: Any) -> Any:
        if once:
            raise once.pop()
        return real(*args)

    setattr(world.fleet, where, flaky)
    with pytest.raises(FleetError) as raised:
        world.request(export_id="slow")
    assert raised.value.transient is True
    assert world.record("ex-slow").status is ExportStatus.PACKAGED
    assert world.bus.entries == [] and world.fleet.jobs == {}
    assert world.request(export_id="slow").outcome is Outcome.PUBLISHED
    assert len(world.bus.entries) == 1 and len(world.packager.calls) == 1


def _s3_error(code: str, status: int, operation: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("iter_chunks", _s3_error("InternalError", 500, "GetObject")),
        ("put_file", _s3_error("SlowDown", 503, "PutObject")),
        ("put_bytes", _s3_error("SlowDown", 503, "PutObject")),
    ],
)
def test_an_s3_error_that_is_not_not_found_propagates(world: World, method: str, error: ClientError) -> None:
    world.objects.fail[method] = error
    with pytest.raises(ClientError):
        world.request(export_id="s3-flaky")
    assert world.record("ex-s3-flaky").status is ExportStatus.REQUESTED  # not failed: retried
    assert world.bus.entries == [] and world.fleet.jobs == {}
    assert world.request(export_id="s3-flaky").outcome is Outcome.PUBLISHED
    assert world.record("ex-s3-flaky").version == "1.0.1"


def test_a_transient_error_after_packaging_keeps_the_record_packaged(world: World) -> None:
    world.fleet.fail_next = [FleetError("InternalFailureException", "oops", transient=True)]
    with pytest.raises(FleetError):
        world.request(export_id="after")
    record = world.record("ex-after")
    assert record.status is ExportStatus.PACKAGED and record.facts.manifest_sha256
    assert world.events("EdgeExportFailed") == []


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("ResourceNotFoundException", "thing group"),
        ("LimitExceededException", "concurrent"),
        ("InvalidRequestException", "field"),
    ],
)
def test_a_fleet_refusal_fails_the_export_at_rollout_with_the_aws_code(
    world: World, code: str, hint: str
) -> None:
    def refuse(request: JobRequest) -> FleetJob:
        raise FleetError(code, "IoT said no", transient=False)

    world.fleet.create_job = refuse  # type: ignore[method-assign]
    result = world.request(export_id="refused")
    assert result.outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["exportId"] == "ex-refused" and failed["stage"] == "rollout"
    assert failed["errorCode"] == "rollout_refused" and failed["details"] == {"awsCode": code}
    assert "IoT said no" in failed["error"] and hint in failed["hint"]
    record = world.record("ex-refused")
    assert record.status is ExportStatus.FAILED and record.facts.error_code == "rollout_refused"
    assert world.events("EdgePackagePublished") == [] and world.fleet.jobs == {}
    assert world.request(export_id="refused").outcome is Outcome.ALREADY_DONE
    assert len(world.bus.entries) == 1


# -- (5) channels: newer cancels older, older never over newer -------------------------------------------


def test_a_second_version_for_the_same_channel_cancels_the_first_job(world: World) -> None:
    first = world.request("evt-a", export_id="v-a", name="intent", targets=["thinggroup/kiosks", "thing/k-9"])
    second = world.request(
        "evt-b", export_id="v-b", name="intent", targets=["thing/k-9", "thinggroup/kiosks"]
    )
    assert (first.version, second.version) == ("1.0.1", "1.0.2")
    a, b = world.events("EdgePackagePublished")
    assert a["cancelledJobIds"] == [] and b["cancelledJobIds"] == ["tailor-ex-v-a"]
    assert b["iotJobIds"] == ["tailor-ex-v-b"]
    assert world.fleet.jobs["tailor-ex-v-a"].status == "CANCELED"
    assert world.fleet.jobs["tailor-ex-v-b"].status == "IN_PROGRESS"
    key = channel_key("intent", ["thinggroup/kiosks", "thing/k-9"])
    assert world.exports.channel(key) == Channel(key, "tailor-ex-v-b", "ex-v-b", 2, "tailor-ex-v-a")
    assert world.record("ex-v-b").facts.cancelled_job_ids == ["tailor-ex-v-a"]


def test_other_targets_or_another_name_are_another_channel(world: World) -> None:
    world.request("evt-a", export_id="k", name="intent", targets=["thinggroup/kiosks"])
    world.request("evt-b", export_id="l", name="intent", targets=["thinggroup/lab"])
    world.request("evt-c", export_id="m", name="other", targets=["thinggroup/kiosks"])
    assert world.fleet.cancelled == []
    assert [e["cancelledJobIds"] for e in world.events("EdgePackagePublished")] == [[], [], []]
    assert [e["version"] for e in world.events("EdgePackagePublished")] == ["1.0.1", "1.0.2", "1.0.1"]


def test_a_retry_after_the_cancel_still_reports_the_cancelled_job(world: World) -> None:
    world.request("evt-a", export_id="v-a", name="intent")
    real = world.fleet.describe_job
    once = [throttled()]

    def describe(job_id: str) -> FleetJob | None:
        if once and job_id == "tailor-ex-v-b":
            raise once.pop()
        return real(job_id)

    world.fleet.describe_job = describe  # type: ignore[method-assign]
    with pytest.raises(FleetError):
        world.request("evt-b", export_id="v-b", name="intent")  # cancelled v-a, then throttled
    assert world.fleet.jobs["tailor-ex-v-a"].status == "CANCELED"
    assert world.request("evt-b", export_id="v-b", name="intent").outcome is Outcome.PUBLISHED
    _, b = world.events("EdgePackagePublished")
    assert b["cancelledJobIds"] == ["tailor-ex-v-a"] and world.fleet.cancelled == ["tailor-ex-v-a"]


def test_a_late_older_version_is_superseded_and_creates_no_job(world: World) -> None:
    world.fleet.fail_next = [throttled()]
    with pytest.raises(FleetError):
        world.request("evt-a", export_id="old", name="intent")  # 1.0.1 packaged, rollout throttled
    assert world.request("evt-b", export_id="new", name="intent").version == "1.0.2"

    result = world.request("evt-a", export_id="old", name="intent")  # the retry arrives late
    assert result.outcome is Outcome.FAILED and result.version == "1.0.1"
    (failed,) = world.events("EdgeExportFailed")
    assert failed["exportId"] == "ex-old" and failed["stage"] == "rollout"
    assert failed["errorCode"] == "superseded" and "ex-new" in failed["error"]
    assert failed["details"] == {"sequence": 1, "newerSequence": 2}
    assert "tailor-ex-old" not in world.fleet.jobs and world.fleet.cancelled == []
    key = channel_key("intent", ["thinggroup/kiosks"])
    assert world.exports.channel(key) == Channel(key, "tailor-ex-new", "ex-new", 2, "tailor-ex-old")
    assert world.record("ex-old").status is ExportStatus.FAILED


def test_a_superseded_export_whose_job_was_already_created_cancels_it(world: World) -> None:
    real = world.fleet.create_job
    died: list[str] = []

    def create_then_die(request: JobRequest) -> FleetJob:
        job = real(request)
        if not died:
            died.append(request.job_id)
            raise ConnectionResetError("the function died after IoT created the job")
        return job

    world.fleet.create_job = create_then_die  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.request("evt-a", export_id="old", name="intent")  # 1.0.1: job created, channel not claimed
    assert world.request("evt-b", export_id="new", name="intent").outcome is Outcome.PUBLISHED  # 1.0.2
    result = world.request("evt-a", export_id="old", name="intent")  # the retry of 1.0.1
    assert result.outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["errorCode"] == "superseded"
    assert world.fleet.jobs["tailor-ex-new"].status == "IN_PROGRESS"
    live = sorted(j.job_id for j in world.fleet.jobs.values() if j.status == "IN_PROGRESS")
    assert live == ["tailor-ex-new"]  # one live job per channel


def _crash_before_published(world: World) -> dict[str, Any]:
    """v-a is live; v-b cancels it, creates its job, claims the channel, then dies before PUBLISHED."""
    real = world.exports.advance
    died: list[str] = []

    def die_before_published(export_id: str, target: ExportStatus, facts: Any = None) -> bool:
        if target is ExportStatus.PUBLISHED and not died:
            died.append(export_id)
            raise ConnectionResetError("the function died after claiming the channel")
        return real(export_id, target, facts)

    world.request("evt-a", export_id="v-a", name="intent")
    world.exports.advance = die_before_published  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.request("evt-b", export_id="v-b", name="intent")
    assert world.record("ex-v-b").status is ExportStatus.PACKAGED
    result = world.request("evt-b", export_id="v-b", name="intent")
    assert result.outcome is Outcome.PUBLISHED and result.iot_job_id == "tailor-ex-v-b"
    _, b = world.events("EdgePackagePublished")
    return b


def test_a_crash_before_published_resumes_on_its_own_channel(world: World) -> None:
    b = _crash_before_published(world)
    assert world.fleet.jobs["tailor-ex-v-b"].status == "IN_PROGRESS"  # its own job, not cancelled
    assert world.fleet.jobs["tailor-ex-v-a"].status == "CANCELED"
    assert world.fleet.cancelled == ["tailor-ex-v-a"] and b["iotJobIds"] == ["tailor-ex-v-b"]
    assert len(world.fleet.requests) == 2


def test_a_crash_before_published_still_reports_the_cancelled_job(world: World) -> None:
    assert _crash_before_published(world)["cancelledJobIds"] == ["tailor-ex-v-a"]


def test_a_newer_claim_before_ours_means_no_job_of_ours(world: World) -> None:
    # The channel is claimed before the job is created: losing the claim race creates nothing.
    key = channel_key("intent", ["thinggroup/kiosks"])
    real = world.exports.claim_channel

    def newer_first(channel: Channel) -> bool:
        world.exports.channels[key] = Channel(key, "tailor-ex-newer", "ex-newer", 9)
        return real(channel)

    world.exports.claim_channel = newer_first  # type: ignore[method-assign]
    result = world.request(export_id="raced", name="intent")
    assert result.outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["errorCode"] == "superseded" and failed["details"] == {"sequence": 1, "newerSequence": 9}
    assert "tailor-ex-raced" not in world.fleet.jobs
    assert world.exports.channel(key) == Channel(key, "tailor-ex-newer", "ex-newer", 9)


def test_a_newer_claim_while_our_job_is_created_cancels_our_job(world: World) -> None:
    key = channel_key("intent", ["thinggroup/kiosks"])
    real = world.fleet.create_job

    def newer_meanwhile(request: JobRequest) -> FleetJob:
        job = real(request)
        world.exports.channels[key] = Channel(key, "tailor-ex-newer", "ex-newer", 9, request.job_id)
        return job

    world.fleet.create_job = newer_meanwhile  # type: ignore[method-assign]
    result = world.request(export_id="raced", name="intent")
    assert result.outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["errorCode"] == "superseded"
    assert world.fleet.jobs["tailor-ex-raced"].status == "CANCELED"


# -- (6) findings --------------------------------------------------------------------------------------


def test_a_finding_from_the_packager_fails_with_its_details(world: World) -> None:
    world.packager.fail = ExportError(
        Stage.FIDELITY,
        "fidelity_below_threshold",
        "int8 cosine 0.93 is below 0.99",
        hint="export with quantize none",
        details={"cosine": 0.93, "minCosine": 0.99, "argmaxAgreement": 0.5, "profile": "linux-x86_64"},
    )
    result = world.request(export_id="fragile", fidelity={"minCosine": 0.99})
    assert result.outcome is Outcome.FAILED and result.version == "1.0.1"
    (failed,) = world.events("EdgeExportFailed")
    assert failed["stage"] == "fidelity" and failed["errorCode"] == "fidelity_below_threshold"
    assert failed["details"] == {
        "cosine": 0.93,
        "minCosine": 0.99,
        "argmaxAgreement": 0.5,
        "profile": "linux-x86_64",
    }
    assert failed["hint"] == "export with quantize none" and "0.93" in failed["error"]
    record = world.record("ex-fragile")
    assert record.status is ExportStatus.FAILED and record.facts.stage == "fidelity"
    assert world.fleet.jobs == {} and list(world.objects.list_keys(ARTIFACTS, "edge/")) == []
    assert not (world.workdir / "ex-fragile").exists()
    assert world.request(export_id="fragile").outcome is Outcome.ALREADY_DONE and len(world.bus.entries) == 1


def test_a_model_version_gone_before_packaging_fails_at_download(world: World) -> None:
    world.deadline = Deadline(lambda: 1.0, reserve=0.0)
    with pytest.raises(DeadlineReachedError):
        world.request(export_id="gone")  # recorded with the model's exact version
    world.objects.delete(DATA, MODEL_KEY, world.model_version)
    world.objects.put_bytes(DATA, MODEL_KEY, b"a different model under the same key")
    world.deadline = Deadline.unlimited()
    assert world.request(export_id="gone").outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["stage"] == "download" and failed["errorCode"] == "model_not_found"
    assert world.packager.calls == [] and world.fleet.jobs == {}


def test_golden_inputs_beside_the_model_are_pinned_and_shipped(world: World) -> None:
    golden = world.objects.put_bytes(DATA, "models/intent/golden.json", b'{"inputs": []}')
    world.request(export_id="with-golden")
    record = world.record("ex-with-golden")
    assert record.golden_uri == f"s3://{DATA}/models/intent/golden.json"
    assert record.golden_version == golden.version_id
    manifest = Manifest.from_bytes(world.objects.get_bytes(ARTIFACTS, manifest_key("ex-with-golden")))
    (shipped,) = [f for f in manifest.files if f.name == "golden.json"]
    assert world.objects.get_bytes(ARTIFACTS, blob_key(shipped.sha256)) == b'{"golden":{"inputs": []}}'


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"model_uri": f"s3://{DATA}/models/ghost/model.onnx"}, "model_not_found"),
        ({"model_uri": MODEL_URI, "model_version": "v999"}, "model_not_found"),
        ({"targets": ["group/kiosks"]}, "request_invalid"),
        ({"profiles": ["windows-x86_64"]}, "request_invalid"),
        ({"model_uri": f"s3://{DATA}/models/intent/model.pt"}, "request_invalid"),
        ({"model_uri": "https://example.com/model.onnx"}, "model_uri_invalid"),
        ({"rollout": {"maxPerMinute": 5}}, "request_invalid"),
        ({"rollout": {"maximumPerMinute": 0}}, "request_invalid"),
        ({"rollout": {"presignedUrlExpirySeconds": 7200}}, "request_invalid"),
        ({"rollout": {"retryAttempts": "2"}}, "request_invalid"),
        ({"fidelity": {"minCosine": 1.5}}, "request_invalid"),
        ({"model_uri": None, "run_id": "no-such-run"}, "run_not_found"),
    ],
)
def test_a_planning_error_fails_once_with_no_job(world: World, fields: dict[str, Any], code: str) -> None:
    result = world.request("evt-bad", export_id="bad", **fields)
    assert result.outcome is Outcome.FAILED and result.export_id == "ex-bad"
    (failed,) = world.events("EdgeExportFailed")
    assert failed["stage"] == "request" and failed["errorCode"] == code and failed["exportId"] == "ex-bad"
    assert failed["hint"]
    record = world.record("ex-bad")
    assert record.status is ExportStatus.FAILED and record.published is True
    assert world.fleet.jobs == {} and world.packager.calls == [] and world.exports.sequences == {}
    assert world.events("EdgePackagePublished") == []
    assert world.request("evt-bad", export_id="bad", **fields).outcome is Outcome.ALREADY_DONE
    assert len(world.bus.entries) == 1


# -- (7) JobCompleted ----------------------------------------------------------------------------------

RUN_ID = "support-0123456789abcdef0123"
FOLDER = f"s3://{DATA}/datasets/support"
JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-lite-v1:0:300k/abc123"
SNAPSHOT_SHA = "ab" * 32


def _run(world: World, *, edge_export: bool | None, spec_version: str | None = None) -> str:
    world.runs.create(
        RunRecord(
            run_id=RUN_ID,
            label="support",
            technique="fine-tuning",
            base_model_id="amazon.nova-lite-v1:0:300k",
            trigger_uri=f"{FOLDER}/job.json",
            facts=RunFacts(
                spec_uri=f"{FOLDER}/job.json",
                trigger_version=spec_version,
                edge_export=edge_export,
                job_arn=JOB_ARN,
                snapshot=DatasetSnapshot(
                    training=SnapshotFile(
                        uri=f"s3://{DATA}/snapshots/{SNAPSHOT_SHA}", sha256=SNAPSHOT_SHA, bytes=120
                    )
                ),
            ),
        )
    )
    return RUN_ID


def _job_json(**edge: Any) -> bytes:
    spec: dict[str, Any] = {"technique": "fine-tuning", "baseModel": "nova-lite"}
    if edge:
        spec["edge"] = edge
    return orjson.dumps(spec)


def test_job_completed_for_a_run_without_an_edge_section_is_ignored(world: World) -> None:
    run_id = _run(world, edge_export=None)
    assert export_for_run(run_id, world.deps()) == ExportResult(Outcome.IGNORED)
    assert world.exports.records == {} and world.bus.entries == []


def test_job_completed_for_a_missing_run_is_a_wiring_fault(world: World) -> None:
    with pytest.raises(LookupError):
        export_for_run("no-such-run", world.deps())


def test_job_completed_with_a_spec_that_lost_its_edge_section_fails(world: World) -> None:
    info = world.objects.put_bytes(DATA, "datasets/support/job.json", _job_json())
    run_id = _run(world, edge_export=True, spec_version=info.version_id)
    assert export_for_run(run_id, world.deps()).outcome is Outcome.FAILED
    (failed,) = world.events("EdgeExportFailed")
    assert failed["errorCode"] == "no_edge_section" and failed["runId"] == run_id


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from tailor.edge.sample import build_intent_classifier

    return build_intent_classifier(tmp_path_factory.mktemp("sample")).read_bytes()


def test_job_completed_exports_the_model_beside_job_json_with_the_real_packager(
    world: World, sample_model: bytes
) -> None:
    edge = {
        "model": "student.onnx",
        "targets": ["thinggroup/kiosks"],
        "name": "support",
        "rollout": {"maximumPerMinute": 10},
    }
    recorded = world.objects.put_bytes(DATA, "datasets/support/job.json", _job_json(**edge))
    # A newer job.json (not the one the run validated) must not be what is exported.
    world.objects.put_bytes(DATA, "datasets/support/job.json", _job_json(**{**edge, "name": "not-this-one"}))
    world.objects.put_bytes(DATA, "datasets/support/student.onnx", sample_model)
    run_id = _run(world, edge_export=True, spec_version=recorded.version_id)
    world.real_packager = True

    result = export_for_run(run_id, world.deps())

    export_id = plans.export_id_for_run(run_id)
    assert result == ExportResult(Outcome.PUBLISHED, export_id, "1.0.1", plans.job_id_for(export_id))
    record = world.record(export_id)
    assert record.run_id == run_id and record.name == "support"
    assert record.source_uri == f"{FOLDER}/student.onnx"
    manifest_bytes = world.objects.get_bytes(ARTIFACTS, manifest_key(export_id))
    verify_signature(
        world.signer.public_key_der(),
        manifest_bytes,
        world.objects.get_bytes(ARTIFACTS, signature_key(export_id)),
    )
    manifest = Manifest.from_bytes(manifest_bytes)
    provenance = manifest.provenance
    assert provenance.run_id == run_id and provenance.job_arn == JOB_ARN
    assert provenance.dataset_snapshot_sha256 == SNAPSHOT_SHA
    assert provenance.base_model_id == "amazon.nova-lite-v1:0:300k"
    assert provenance.source_model_sha256 == hashlib.sha256(sample_model).hexdigest()
    for entry in manifest.files:
        assert (
            hashlib.sha256(world.objects.get_bytes(ARTIFACTS, blob_key(entry.sha256))).hexdigest()
            == entry.sha256
        )
    (published,) = world.events("EdgePackagePublished")
    assert published["runId"] == run_id and published["fidelity"]["passed"] is True
    assert published["sizes"]["sourceBytes"] == len(sample_model)
    assert published["sizes"]["modelBytes"] < len(sample_model)
    args = world.fleet.requests[plans.job_id_for(export_id)]
    assert args["jobExecutionsRolloutConfig"]["maximumPerMinute"] == 10  # job.json's edge.rollout
    assert {"Key": "tailor-run-id", "Value": run_id} in args["tags"]
    assert export_for_run(run_id, world.deps()).outcome is Outcome.ALREADY_DONE
    assert len(world.bus.entries) == 1


def test_a_run_request_without_profiles_keeps_the_job_json_profiles(world: World) -> None:
    edge = {"model": "student.onnx", "targets": ["thinggroup/kiosks"], "profiles": ["linux-aarch64"]}
    recorded = world.objects.put_bytes(DATA, "datasets/support/job.json", _job_json(**edge))
    world.objects.put_bytes(DATA, "datasets/support/student.onnx", MODEL_BYTES)
    run_id = _run(world, edge_export=True, spec_version=recorded.version_id)
    result = world.request("evt-run", export_id="by-run", model_uri=None, run_id=run_id)
    assert result.outcome is Outcome.PUBLISHED
    assert world.record("ex-by-run").profiles == ["linux-aarch64"]


def test_a_run_request_takes_the_run_model_and_its_overrides(world: World) -> None:
    edge = {"model": "student.onnx", "targets": ["thinggroup/kiosks"], "rollout": {"maximumPerMinute": 10}}
    recorded = world.objects.put_bytes(DATA, "datasets/support/job.json", _job_json(**edge))
    student = world.objects.put_bytes(DATA, "datasets/support/student.onnx", MODEL_BYTES)
    run_id = _run(world, edge_export=True, spec_version=recorded.version_id)
    result = world.request(
        "evt-run",
        export_id="by-run",
        model_uri=None,
        run_id=run_id,
        targets=["thinggroup/lab"],
        rollout={"retryAttempts": 0},
    )
    assert result.outcome is Outcome.PUBLISHED
    record = world.record("ex-by-run")
    assert record.run_id == run_id and record.source_uri == f"{FOLDER}/student.onnx"
    assert record.source_version == student.version_id and record.name == "support"
    assert record.targets == ["thinggroup/lab"]
    assert record.rollout["maximumPerMinute"] == 10 and record.rollout["retryAttempts"] == 0
    args = world.fleet.requests["tailor-ex-by-run"]
    assert "jobExecutionsRetryConfig" not in args
    assert args["targets"] == [f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/lab"]


# -- (8) the deadline ----------------------------------------------------------------------------------


def test_too_little_time_left_stops_before_packaging(world: World) -> None:
    world.deadline = Deadline(lambda: 20.0, reserve=5.0)
    with pytest.raises(DeadlineReachedError):
        world.request(export_id="late")
    record = world.record("ex-late")
    assert record.status is ExportStatus.REQUESTED  # recorded, nothing else
    assert world.packager.calls == [] and world.objects.puts == [] and world.bus.entries == []
    world.deadline = Deadline.unlimited()
    result = world.request(export_id="late")
    assert result.outcome is Outcome.PUBLISHED and result.version == "1.0.1"


def test_the_deadline_asks_for_time_per_megabyte_of_model(world: World) -> None:
    world.objects.reported_size[MODEL_KEY] = 400_000_000  # 400 MB: about 200 s of packaging
    world.deadline = Deadline(lambda: 120.0, reserve=0.0)  # more than the 30 s minimum
    with pytest.raises(DeadlineReachedError, match="packaging a model"):
        world.request(export_id="big")
    assert world.packager.calls == []
    world.deadline = Deadline(lambda: 300.0, reserve=0.0)
    assert world.request(export_id="big").outcome is Outcome.PUBLISHED


def test_a_distillation_run_records_its_teacher_in_the_provenance(world: World) -> None:
    spec = {
        "technique": "distillation",
        "baseModel": "nova-lite",
        "teacherModel": "nova-premier",
        "edge": {"model": "student.onnx", "targets": ["thinggroup/kiosks"]},
    }
    recorded = world.objects.put_bytes(DATA, "datasets/support/job.json", orjson.dumps(spec))
    world.objects.put_bytes(DATA, "datasets/support/student.onnx", b"onnx")
    run_id = _run(world, edge_export=True, spec_version=recorded.version_id)

    assert export_for_run(run_id, world.deps()).outcome is Outcome.PUBLISHED
    record = world.record(plans.export_id_for_run(run_id))
    assert record.teacher_model_id == "nova-premier"
    assert world.packager.calls[0]["provenance"].teacher_model_id == "nova-premier"
