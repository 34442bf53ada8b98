"""From a trigger to an export record: which model (exact S3 version), which name, targets and
profiles, which gate and rollout — everything fixed before any work starts.

Two triggers: ``JobCompleted`` for a run whose job.json has an ``edge`` section (the model file is
named there, beside job.json) and ``EdgeExportRequested`` (``tailor export``; a run id or a model
URI). Export ids are deterministic — from the run id, or from the request's own export id (else its
event id) — so a redelivered trigger finds its record instead of starting a second export.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from tailor.adapters.object_store import ObjectNotFoundError, ObjectStore, ObjectUnreadableError
from tailor.adapters.runs import RunStore
from tailor.edge.errors import ExportError, Stage
from tailor.edge.profiles import DEFAULT_PROFILE
from tailor.edge.record import ExportRecord
from tailor.events.models import EdgeExportRequested
from tailor.jobs.run import RunRecord
from tailor.jobs.spec import EdgeSpec, FidelitySpec, JobSpec, RolloutSpec, SpecError, parse_spec

_REQUESTED_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 64


def export_id_for_run(run_id: str) -> str:
    return "ex-" + hashlib.sha256(f"run\n{run_id}".encode()).hexdigest()[:20]


def export_id_for_request(requested: str | None, event_id: str) -> str:
    if requested and _REQUESTED_ID.match(requested):
        return requested if requested.startswith("ex-") else f"ex-{requested}"
    return "ex-" + hashlib.sha256(f"request\n{event_id}".encode()).hexdigest()[:20]


def job_id_for(export_id: str) -> str:
    """The IoT job id: ``[a-zA-Z0-9_-]{1,64}`` (aws-facts §5), one per export."""
    return f"tailor-{export_id}"[:64]


def package_name(explicit: str | None, model_key: str) -> str:
    """The package name: as given, else the model's folder name (``datasets/intent/model.onnx`` →
    ``intent``), made of letters, digits, '-' and '_'."""
    raw = explicit or (model_key.rsplit("/", 2)[-2] if "/" in model_key else model_key.rsplit(".", 1)[0])
    name = _NAME_CHARS.sub("-", raw).strip("-_")[:MAX_NAME]
    return name or "model"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ExportError(
            Stage.REQUEST, "model_uri_invalid", f"{uri!r} is not an s3:// URI", hint="pass s3://BUCKET/KEY"
        )
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise ExportError(
            Stage.REQUEST, "model_uri_invalid", f"{uri!r} names no object", hint="pass s3://BUCKET/KEY"
        )
    return bucket, key


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What the trigger asks for, before the record (and its version number) exists."""

    export_id: str
    run_id: str | None
    name: str
    source_uri: str
    source_version: str | None
    golden_uri: str | None
    golden_version: str | None
    targets: tuple[str, ...]
    profiles: tuple[str, ...]
    quantize: str
    fidelity_gate: dict[str, float]
    rollout: dict[str, Any]
    request_id: str | None
    teacher_model_id: str | None = None

    def record(self, version: str) -> ExportRecord:
        return ExportRecord(
            export_id=self.export_id,
            run_id=self.run_id,
            teacher_model_id=self.teacher_model_id,
            name=self.name,
            version=version,
            source_uri=self.source_uri,
            source_version=self.source_version,
            golden_uri=self.golden_uri,
            golden_version=self.golden_version,
            targets=list(self.targets),
            profiles=list(self.profiles),
            quantize=self.quantize,
            fidelity_gate=self.fidelity_gate,
            rollout=self.rollout,
            request_id=self.request_id,
        )


def _merged(model: type[FidelitySpec] | type[RolloutSpec], base: Any, overrides: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate({**base.model_dump(by_alias=True), **overrides})
    except ValidationError as error:
        problem = SpecError.from_validation(error).message
        field = "fidelity" if model is FidelitySpec else "rollout"
        raise ExportError(
            Stage.REQUEST,
            "request_invalid",
            f"{field}: {problem}",
            hint=f"fix the {field} overrides (names as in job.json's edge.{field}; docs/job-spec.md)",
        ) from None


def _pinned(objects: ObjectStore, uri: str, version: str | None, what: str) -> str | None:
    """The exact version to read (the one named, else the newest now — recorded from then on)."""
    bucket, key = split_s3_uri(uri)
    try:
        info = objects.head(bucket, key, version)
    except ObjectUnreadableError as error:
        raise ExportError(Stage.REQUEST, f"{what}_unreadable", str(error), hint=error.hint) from None
    if info is None:
        raise ExportError(
            Stage.REQUEST,
            f"{what}_not_found",
            f"{uri}{f' (version {version})' if version else ''} does not exist",
            hint=f"upload the {what} first, or fix the URI",
        )
    return info.pinned_version or version


def run_spec(objects: ObjectStore, run: RunRecord) -> JobSpec:
    """The run's job.json exactly as validated (its recorded version)."""
    uri = run.facts.spec_uri
    if not uri:
        raise ExportError(
            Stage.REQUEST,
            "run_has_no_spec",
            f"run {run.run_id} was not started by a job.json, so it has no edge section",
            hint="export by model URI: tailor export --model s3://… --targets thinggroup/NAME",
        )
    bucket, key = split_s3_uri(uri)
    version = run.facts.trigger_version
    # An unversioned bucket records the ETag (32 hex, or with a part count) instead of a version id.
    etag_like = version is not None and re.fullmatch(r"[0-9a-f]{32}(-\d+)?", version.strip('"')) is not None
    try:
        raw = objects.get_bytes(bucket, key, None if etag_like else version)
    except ObjectNotFoundError:
        raise ExportError(
            Stage.REQUEST, "spec_not_found", f"{uri} (version {version}) is gone", hint="upload the run again"
        ) from None
    try:
        return parse_spec(raw)
    except SpecError as error:  # it validated once: only a changed object can fail now
        raise ExportError(Stage.REQUEST, "spec_invalid", error.message, hint=error.hint) from None


def plan_for_run(
    objects: ObjectStore, run: RunRecord, *, request: EdgeExportRequested | None = None, event_id: str = ""
) -> ExportPlan:
    """A run's export: its job.json's ``edge`` section, with a request's overrides when there is one."""
    spec = run_spec(objects, run)
    edge = spec.edge
    if edge is None and (request is None or not request.model_uri):
        raise ExportError(
            Stage.REQUEST,
            "no_edge_section",
            f"run {run.run_id}'s job.json has no edge section naming a model",
            hint='add "edge": {"model": "student.onnx", "targets": ["thinggroup/NAME"]} or pass --model',
        )
    folder = (run.facts.spec_uri or "").rsplit("/", 1)[0]
    base = edge or EdgeSpec(model="model.onnx", targets=["thinggroup/unset"])
    model_uri = request.model_uri if request and request.model_uri else f"{folder}/{base.model}"
    golden_uri = request.golden_uri if request and request.golden_uri else None
    if golden_uri is None and edge is not None and edge.golden:
        golden_uri = f"{folder}/{edge.golden}"
    return _plan(
        objects,
        export_id=(
            export_id_for_request(request.export_id, event_id) if request else export_id_for_run(run.run_id)
        ),
        run_id=run.run_id,
        name=(request.name if request and request.name else None) or base.name,
        model_uri=model_uri,
        model_version=request.model_version if request else None,
        golden_uri=golden_uri,
        targets=request.targets if request else base.targets,
        profiles=request.profiles if request and request.profiles else base.profiles,
        quantize=(request.quantize if request else None) or base.quantize,
        fidelity=_merged(FidelitySpec, base.fidelity, request.fidelity if request else {}),
        rollout=_merged(RolloutSpec, base.rollout, request.rollout if request else {}),
        request_id=event_id or None,
        teacher_model_id=spec.teacher_model,
    )


def plan_for_model(objects: ObjectStore, request: EdgeExportRequested, event_id: str) -> ExportPlan:
    """An export by model URI: no run, defaults for everything the request does not say."""
    assert request.model_uri is not None
    golden_uri = request.golden_uri
    if golden_uri is None:
        beside = request.model_uri.rsplit("/", 1)[0] + "/golden.json"
        bucket, key = split_s3_uri(beside)
        golden_uri = beside if objects.head(bucket, key) is not None else None
    return _plan(
        objects,
        export_id=export_id_for_request(request.export_id, event_id),
        run_id=None,
        name=request.name,
        model_uri=request.model_uri,
        model_version=request.model_version,
        golden_uri=golden_uri,
        targets=request.targets,
        profiles=request.profiles or [DEFAULT_PROFILE],
        quantize=request.quantize or "int8",
        fidelity=_merged(FidelitySpec, FidelitySpec(), request.fidelity),
        rollout=_merged(RolloutSpec, RolloutSpec(), request.rollout),
        request_id=event_id or None,
    )


def _plan(
    objects: ObjectStore,
    *,
    export_id: str,
    run_id: str | None,
    name: str | None,
    model_uri: str,
    model_version: str | None,
    golden_uri: str | None,
    targets: list[str],
    profiles: list[str],
    quantize: str,
    fidelity: FidelitySpec,
    rollout: RolloutSpec,
    request_id: str | None,
    teacher_model_id: str | None = None,
) -> ExportPlan:
    from tailor.edge.profiles import PROFILES
    from tailor.edge.targets import target_problem

    problems = [p for p in (target_problem(t) for t in targets) if p]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        problems.append(f"unknown device profile(s) {unknown}: use one or more of {sorted(PROFILES)}")
    if not model_uri.endswith(".onnx"):
        problems.append(f"{model_uri} is not an .onnx file: Tailor exports ONNX models")
    if problems:
        raise ExportError(Stage.REQUEST, "request_invalid", "; ".join(problems), hint="fix the request")
    _, key = split_s3_uri(model_uri)
    return ExportPlan(
        export_id=export_id,
        run_id=run_id,
        name=package_name(name, key),
        source_uri=model_uri,
        source_version=_pinned(objects, model_uri, model_version, "model"),
        golden_uri=golden_uri,
        golden_version=_pinned(objects, golden_uri, None, "golden") if golden_uri else None,
        targets=tuple(dict.fromkeys(targets)),
        profiles=tuple(dict.fromkeys(profiles)),
        quantize=quantize,
        fidelity_gate=fidelity.model_dump(by_alias=True),
        rollout=rollout.model_dump(by_alias=True),
        request_id=request_id,
        teacher_model_id=teacher_model_id,
    )


def load_run(runs: RunStore, run_id: str) -> RunRecord:
    run = runs.get(run_id)
    if run is None:
        raise ExportError(
            Stage.REQUEST,
            "run_not_found",
            f"run {run_id} does not exist",
            hint="check the run id (tailor status), or export by model URI",
        )
    return run
