"""Edge export: a trigger → an export record → a signed bundle in S3 → one IoT Job → one event.

Each step is recorded before the next starts, and each is safe to repeat, so a redelivered or
retried message resumes where the last attempt stopped:

1. **Record** (REQUESTED): export id from the trigger, version ``1.0.<n>`` from the package's
   sequence, the model's exact S3 version.
2. **Package** (→ PACKAGED): download (streaming, hashed), check, quantize per profile, fidelity
   gate, golden outputs (``tailor.edge.package``); upload content-addressed blobs (existing ones are
   never rewritten), the manifest, its KMS signature and a Greengrass recipe. The manifest's time
   is the record's, so a retry writes the same bytes.
3. **Roll out** (→ PUBLISHED): cancel the channel's previous job, then describe-or-create this
   export's job (its id derives from the export id), then claim the channel.
4. **Tell** (once): ``EdgePackagePublished`` or ``EdgeExportFailed``.

A finding about the model or the request (``ExportError``) fails the export with its stage, code
and measured numbers. Anything else (throttling, 5xx, timeouts) propagates: the message is retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tailor.adapters.bus import EventPublisher
from tailor.adapters.exports import Channel, ExportStore
from tailor.adapters.fleet import Fleet, FleetError
from tailor.adapters.object_store import ObjectInfo, ObjectNotFoundError, ObjectStore
from tailor.adapters.runs import RunStore
from tailor.edge import request as plans
from tailor.edge.errors import ExportError, Stage
from tailor.edge.manifest import (
    Provenance,
    blob_key,
    export_prefix,
    manifest_key,
    recipe_key,
    sha256_hex,
    signature_key,
)
from tailor.edge.record import ExportFacts, ExportRecord, ExportStatus
from tailor.edge.rollout import channel_key, job_document, job_request, sequence_of
from tailor.edge.signing import Signer, sign_manifest
from tailor.events.constants import Source
from tailor.events.envelope import new_detail
from tailor.events.models import (
    BundleSizes,
    EdgeExportFailed,
    EdgeExportRequested,
    EdgePackagePublished,
    EventData,
    Fidelity,
)
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunNotFoundError
from tailor.runtime import Deadline

if TYPE_CHECKING:
    from tailor.edge.package import Package

logger = logging.getLogger(__name__)

DEFAULT_MAX_MODEL_BYTES = 2 * 1024**3  # protobuf's limit for one ONNX file without external data
# Packaging a model takes about this long per MB of source on Lambda (measured in benchmarks/);
# the deadline check asks for it up front rather than dying mid-way.
SECONDS_PER_SOURCE_MB = 0.5
MIN_PACKAGE_SECONDS = 30.0


class Outcome(StrEnum):
    PUBLISHED = "published"
    FAILED = "failed"
    ALREADY_DONE = "already-done"
    IGNORED = "ignored"  # JobCompleted for a run without an edge section


@dataclass(frozen=True, slots=True)
class ExportResult:
    outcome: Outcome
    export_id: str | None = None
    version: str | None = None
    iot_job_id: str | None = None


# build_package's signature (tailor.edge.package); tests pass a fake with the same keywords.
Packager = Callable[..., "Package"]


def _default_packager() -> Packager:
    from tailor.edge.package import build_package  # onnx/onnxruntime: only in this function

    return build_package


def _default_gate(min_cosine: float, min_argmax_agreement: float) -> Any:
    from tailor.edge.fidelity import FidelityGate

    return FidelityGate(min_cosine=min_cosine, min_argmax_agreement=min_argmax_agreement)


@dataclass
class ExportDeps:
    exports: ExportStore
    runs: RunStore
    objects: ObjectStore
    bus: EventPublisher
    fleet: Fleet
    signer: Signer
    bucket: str  # the artifacts bucket: bundles live under edge/
    presign_role_arn: str
    region: str
    account_id: str
    workdir: Path = Path("/tmp/tailor-edge")
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    packager: Callable[[], Packager] = _default_packager
    gate: Callable[[float, float], Any] = _default_gate
    deadline: Deadline = field(default_factory=Deadline.unlimited)


# -- triggers ----------------------------------------------------------------------------------------


def export_for_run(run_id: str, deps: ExportDeps) -> ExportResult:
    """``JobCompleted``: export the model named in the run's job.json, once per run."""
    run = deps.runs.get(run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")  # a wiring fault: retried, then the DLQ
    if not run.facts.edge_export:
        return ExportResult(Outcome.IGNORED)
    export_id = plans.export_id_for_run(run_id)
    return _export(export_id, lambda: plans.plan_for_run(deps.objects, run), deps, run_id=run_id)


def export_requested(request: EdgeExportRequested, event_id: str, deps: ExportDeps) -> ExportResult:
    """``EdgeExportRequested``: a person (``tailor export``) asked; a run's model or a model URI."""
    export_id = plans.export_id_for_request(request.export_id, event_id)

    def plan() -> plans.ExportPlan:
        if request.run_id:
            run = plans.load_run(deps.runs, request.run_id)
            return plans.plan_for_run(deps.objects, run, request=request, event_id=event_id)
        return plans.plan_for_model(deps.objects, request, event_id)

    return _export(export_id, plan, deps, run_id=request.run_id, request=request)


# -- the steps ---------------------------------------------------------------------------------------


def _export(
    export_id: str,
    plan: Callable[[], plans.ExportPlan],
    deps: ExportDeps,
    *,
    run_id: str | None,
    request: EdgeExportRequested | None = None,
) -> ExportResult:
    record = deps.exports.get(export_id)
    if record is None:
        try:
            planned = plan()
        except ExportError as error:
            record = _failed_record(export_id, run_id, request, error)
            if not deps.exports.create(record):
                record = deps.exports.get(export_id) or record
            return _tell(record, deps)
        version = f"1.0.{deps.exports.next_sequence(planned.name)}"  # a crash here skips a number
        deps.exports.create(planned.record(version))
        record = deps.exports.get(export_id)
        assert record is not None
        logger.info("export recorded", extra={"export_id": export_id, "version": record.version})
    try:
        if record.status is ExportStatus.REQUESTED:
            record = _package(record, deps)
        if record.status is ExportStatus.PACKAGED:
            record = _roll_out(record, deps)
    except ExportError as error:
        deps.exports.advance(export_id, ExportStatus.FAILED, _failure_facts(error))
        record = deps.exports.get(export_id) or record
        logger.warning("export failed", extra={"export_id": export_id, "code": error.code})
    return _tell(record, deps)


def _failed_record(
    export_id: str, run_id: str | None, request: EdgeExportRequested | None, error: ExportError
) -> ExportRecord:
    return ExportRecord(
        export_id=export_id,
        status=ExportStatus.FAILED,
        run_id=run_id,
        name=(request.name if request else None) or "unknown",
        version="0.0.0",
        source_uri=(request.model_uri if request else None) or "",
        targets=list(request.targets) if request else [],
        profiles=list(request.profiles) if request else [],
        request_id=None,
        facts=_failure_facts(error),
    )


def _failure_facts(error: ExportError) -> ExportFacts:
    return ExportFacts(
        stage=error.stage.value,
        error_code=error.code,
        message=error.message,
        hint=error.hint,
        details=error.details or None,
    )


def _download(
    deps: ExportDeps, uri: str, version: str | None, path: Path, what: str, info: ObjectInfo | None = None
) -> tuple[int, str]:
    """Stream an object to ``path`` (never whole in memory); its size and sha256. ``info``: its
    head when the caller already has it."""
    bucket, key = plans.split_s3_uri(uri)
    info = info or deps.objects.head(bucket, key, version)
    if info is None:
        raise ExportError(
            Stage.DOWNLOAD,
            f"{what}_not_found",
            f"{uri} (version {version}) no longer exists",
            hint="upload it again and export again",
        )
    if info.size > deps.max_model_bytes:
        raise ExportError(
            Stage.DOWNLOAD,
            "model_too_large",
            f"{uri} is {info.size:,} bytes; the export function takes at most {deps.max_model_bytes:,}",
            hint="export a smaller model: edge bundles are for compact models",
            details={"sourceBytes": info.size, "maxBytes": deps.max_model_bytes},
        )
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in deps.objects.iter_chunks(bucket, key, version_id=version):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except ObjectNotFoundError:
        raise ExportError(Stage.DOWNLOAD, f"{what}_not_found", f"{uri} vanished while reading") from None
    return size, digest.hexdigest()


def _provenance(record: ExportRecord, deps: ExportDeps, source_sha256: str) -> Provenance:
    run = deps.runs.get(record.run_id) if record.run_id else None
    snapshot = run.facts.snapshot if run else None
    return Provenance(
        export_id=record.export_id,
        run_id=record.run_id,
        base_model_id=run.base_model_id if run else None,
        teacher_model_id=record.teacher_model_id,
        job_arn=run.facts.job_arn if run else None,
        dataset_snapshot_sha256=snapshot.training.sha256 if snapshot else None,
        source_model_uri=record.source_uri,
        source_model_version=record.source_version,
        source_model_sha256=source_sha256,
    )


def _package(record: ExportRecord, deps: ExportDeps) -> ExportRecord:
    bucket, key = plans.split_s3_uri(record.source_uri)
    head = deps.objects.head(bucket, key, record.source_version)
    megabytes = (head.size if head else 0) / 1e6
    deps.deadline.check(max(MIN_PACKAGE_SECONDS, megabytes * SECONDS_PER_SOURCE_MB), "packaging a model")
    workdir = deps.workdir / record.export_id
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        return _package_in(record, deps, workdir, head)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # /tmp outlives the invocation on a warm Lambda


def _package_in(
    record: ExportRecord, deps: ExportDeps, workdir: Path, head: ObjectInfo | None
) -> ExportRecord:
    source = workdir / "source.onnx"
    source_bytes, source_sha = _download(
        deps, record.source_uri, record.source_version, source, "model", info=head
    )
    golden = None
    if record.golden_uri:
        golden = workdir / "golden-source.json"
        _download(deps, record.golden_uri, record.golden_version, golden, "golden")
    gate = deps.gate(
        float(record.fidelity_gate.get("minCosine", 0.99)),
        float(record.fidelity_gate.get("minArgmaxAgreement", 0.99)),
    )
    package = deps.packager()(
        source,
        name=record.name,
        version=record.version,
        export_id=record.export_id,
        profiles=record.profiles,
        quantize=record.quantize != "none",
        gate=gate,
        golden_source=golden,
        provenance=_provenance(record, deps, source_sha),
        workdir=workdir / "bundle",
        now=datetime.fromisoformat(record.created_at.replace("Z", "+00:00")),
        bucket=deps.bucket,
        max_model_bytes=deps.max_model_bytes,
    )
    for blob in package.blobs:
        existing = deps.objects.head(deps.bucket, blob_key(blob.sha256))
        if existing is None or existing.size != blob.size:  # content-addressed: same key, same bytes
            deps.objects.put_file(deps.bucket, blob_key(blob.sha256), blob.path, "application/octet-stream")
    manifest_bytes = package.manifest_bytes
    signature = sign_manifest(deps.signer, manifest_bytes)
    deps.objects.put_bytes(deps.bucket, manifest_key(record.export_id), manifest_bytes, "application/json")
    deps.objects.put_bytes(
        deps.bucket, signature_key(record.export_id), signature, "application/octet-stream"
    )
    deps.objects.put_bytes(
        deps.bucket,
        recipe_key(record.export_id),
        orjson.dumps(package.recipe, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
        "application/json",
    )
    worst = min(package.fidelity.items(), key=lambda item: item[1].cosine, default=None)
    fidelity = (
        {
            "metric": worst[1].metric,
            "value": worst[1].cosine if worst[1].metric == "cosine" else worst[1].argmax_agreement,
            "threshold": worst[1].threshold,
            "passed": worst[1].passed,
            "cosine": worst[1].cosine,
            "argmaxAgreement": worst[1].argmax_agreement,
            "profile": worst[0],
        }
        if worst
        else {"metric": "none", "value": 1.0, "threshold": 0.0, "passed": True}
    )
    sizes = dict(package.sizes)
    sizes["sourceBytes"] = source_bytes
    uri = f"s3://{deps.bucket}/"
    deps.exports.advance(
        record.export_id,
        ExportStatus.PACKAGED,
        ExportFacts(
            manifest_uri=uri + manifest_key(record.export_id),
            manifest_sha256=sha256_hex(manifest_bytes),
            signature_uri=uri + signature_key(record.export_id),
            recipe_uri=uri + recipe_key(record.export_id),
            bundle_uri=uri + export_prefix(record.export_id),
            sizes=sizes,
            fidelity=fidelity,
            blobs={blob.sha256: blob.size for blob in package.blobs},
            manifest_size=len(manifest_bytes),
        ),
    )
    logger.info("packaged", extra={"export_id": record.export_id, "sizes": sizes})
    updated = deps.exports.get(record.export_id)
    assert updated is not None
    return updated


def _roll_out(record: ExportRecord, deps: ExportDeps) -> ExportRecord:
    """Claim the channel first, then cancel the job it held, then describe-or-create our own, then
    check nobody newer claimed it meanwhile. Claiming before creating means a newer export always
    sees (and cancels) this one's job id, even when this attempt dies right after CreateJob."""
    job_id = plans.job_id_for(record.export_id)
    key = channel_key(record.name, record.targets)
    sequence = sequence_of(record.version)
    try:
        mine = _claim(record, deps, key, job_id, sequence)
        cancelled: list[str] = []
        if mine.previous_job_id and mine.previous_job_id != job_id:
            deps.fleet.cancel_job(mine.previous_job_id, f"superseded by {record.name} {record.version}")
            cancelled.append(mine.previous_job_id)
        _ensure_job(record, deps, job_id)
        after = deps.exports.channel(key)
        if after is not None and after.export_id != record.export_id and after.sequence > sequence:
            deps.fleet.cancel_job(job_id, "a newer version claimed these targets meanwhile")
            raise _superseded(record, after)
    except FleetError as error:
        if error.transient:
            raise
        raise ExportError(
            Stage.ROLLOUT,
            "rollout_refused",
            f"AWS IoT refused the job: {error.message}",
            hint=_rollout_hint(error.code),
            details={"awsCode": error.code},
        ) from None
    deps.exports.advance(
        record.export_id,
        ExportStatus.PUBLISHED,
        ExportFacts(iot_job_id=job_id, cancelled_job_ids=cancelled),
    )
    logger.info("rolled out", extra={"export_id": record.export_id, "job_id": job_id, "cancelled": cancelled})
    updated = deps.exports.get(record.export_id)
    assert updated is not None
    return updated


def _claim(record: ExportRecord, deps: ExportDeps, key: str, job_id: str, sequence: int) -> Channel:
    """This export's hold on the channel (claimed now, or by an earlier attempt), with the job it
    took over; ExportError ``superseded`` when a newer version holds it."""
    current = deps.exports.channel(key)
    if current is not None and current.export_id == record.export_id:
        return current  # claimed by an attempt that died later: its previous job is recorded there
    if current is not None and current.sequence > sequence:
        deps.fleet.cancel_job(job_id, "a newer version holds these targets")  # ours, if a try made it
        raise _superseded(record, current)
    mine = Channel(key, job_id, record.export_id, sequence, current.job_id if current else None)
    if not deps.exports.claim_channel(mine):
        newer = deps.exports.channel(key)
        deps.fleet.cancel_job(job_id, "a newer version holds these targets")
        raise _superseded(record, newer)
    return mine


def _ensure_job(record: ExportRecord, deps: ExportDeps, job_id: str) -> None:
    """Describe-or-create: the job id derives from the export id, so an existing one is ours."""
    if deps.fleet.describe_job(job_id) is not None:
        return
    facts = record.facts
    document = job_document(
        record,
        region=deps.region,
        bucket=deps.bucket,
        manifest_sha256=facts.manifest_sha256 or "",
        manifest_size=facts.manifest_size or 0,
        blobs=facts.blobs or {},
    )
    request = job_request(
        record,
        job_id=job_id,
        document=document,
        region=deps.region,
        account_id=deps.account_id,
        presign_role_arn=deps.presign_role_arn,
    )
    try:
        deps.fleet.create_job(request)
    except FleetError as error:
        # A stale describe: our own job, made by an attempt that crashed right after CreateJob.
        if error.code != "ResourceAlreadyExistsException" or deps.fleet.describe_job(job_id) is None:
            raise


def _superseded(record: ExportRecord, newer: Channel | None) -> ExportError:
    holder = f"export {newer.export_id} (job {newer.job_id})" if newer else "a newer export"
    return ExportError(
        Stage.ROLLOUT,
        "superseded",
        f"{record.name} {record.version} was not rolled out: {holder} is a newer version for the same "
        "targets, and devices must not receive an older one after it",
        hint="export again to roll out a new version",
        details={"sequence": sequence_of(record.version), "newerSequence": newer.sequence if newer else None},
    )


def _rollout_hint(code: str) -> str:
    return {
        "ResourceNotFoundException": "a target thing or thing group does not exist: create it first",
        "InvalidRequestException": "the job request was refused: the message says which field",
        "LimitExceededException": "the account's concurrent IoT job limit is reached: cancel finished jobs",
        "UnauthorizedException": "the export function's role lacks iot:CreateJob or iam:PassRole",
    }.get(code, "fix the cause named in the message, then export again")


# -- the outcome event -------------------------------------------------------------------------------


def outcome_event(record: ExportRecord) -> EventData | None:
    """The outcome event of a finished export (what was, or will be, published); None while it runs."""
    if record.status is ExportStatus.PUBLISHED:
        return _published_event(record)
    if record.status is ExportStatus.FAILED:
        return _failed_event(record)
    return None


def _tell(record: ExportRecord, deps: ExportDeps) -> ExportResult:
    event = outcome_event(record)
    if event is None:  # pragma: no cover - _export only returns records in a terminal status
        raise RuntimeError(f"export {record.export_id} is still {record.status}")
    outcome = Outcome.PUBLISHED if record.status is ExportStatus.PUBLISHED else Outcome.FAILED
    if record.published:
        return ExportResult(Outcome.ALREADY_DONE, record.export_id, record.version, record.facts.iot_job_id)
    if record.run_id:  # `tailor status RUN` shows the run's latest export
        with contextlib.suppress(RunNotFoundError):
            deps.runs.add_facts(
                record.run_id,
                RunFacts(
                    edge_export_id=record.export_id,
                    edge_export_status=record.status.value,
                    edge_export_version=record.version if record.status is ExportStatus.PUBLISHED else None,
                ),
            )
    deps.bus.publish([new_detail(event, producer=Source.EDGE.value)])
    deps.exports.mark_published(record.export_id)
    return ExportResult(outcome, record.export_id, record.version, record.facts.iot_job_id)


def _published_event(record: ExportRecord) -> EdgePackagePublished:
    facts = record.facts
    sizes = facts.sizes or {}
    return EdgePackagePublished(
        export_id=record.export_id,
        run_id=record.run_id,
        name=record.name,
        version=record.version,
        bundle_uri=facts.bundle_uri or "",
        manifest_uri=facts.manifest_uri,
        signature_uri=facts.signature_uri,
        greengrass_recipe_uri=facts.recipe_uri,
        manifest_digest=f"sha256:{facts.manifest_sha256}",
        sizes=BundleSizes(
            source_bytes=int(sizes.get("sourceBytes", 0)),
            model_bytes=int(sizes.get("modelBytes", 0)),
            bundle_bytes=int(sizes.get("bundleBytes", 0)),
        ),
        fidelity=Fidelity.model_validate(
            facts.fidelity or {"metric": "none", "value": 1, "threshold": 0, "passed": True}
        ),
        profiles=record.profiles,
        targets=record.targets,
        iot_job_ids=[facts.iot_job_id] if facts.iot_job_id else [],
        cancelled_job_ids=facts.cancelled_job_ids or [],
    )


def _failed_event(record: ExportRecord) -> EdgeExportFailed:
    facts = record.facts
    return EdgeExportFailed(
        export_id=record.export_id,
        run_id=record.run_id,
        stage=facts.stage or Stage.REQUEST.value,
        error=facts.message or "the export failed",
        error_code=facts.error_code,
        hint=facts.hint,
        details=facts.details or {},
    )
