"""Client side of ingestion: upload a dataset folder so that it starts exactly one run.

Data files first, ``job.json`` last (it is the trigger). The run id is computed the way ingestion
computes it for a valid dataset (content identity: the folder, the spec digest and the sha256 of
each data file; see ``identity.py``), so the caller can follow the run immediately. Uploading the
same folder again joins that run instead of paying for a second job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tailor.adapters.object_store import ObjectStore
from tailor.adapters.runs import RunStore
from tailor.ingestion.identity import content_digest, content_run_id
from tailor.ingestion.triggers import DATASETS_PREFIX, SPEC_FILE, report_key
from tailor.jobs.naming import bedrock_safe_key
from tailor.jobs.run import RunRecord
from tailor.jobs.spec import JobSpec, parse_spec
from tailor.jobs.state import RETRYABLE_ENDS, RunStatus


class UploadError(ValueError):
    """The folder cannot be submitted; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class DatasetFolder:
    """A local folder holding ``job.json`` and the data files it names."""

    path: Path
    name: str
    spec: JobSpec
    files: tuple[Path, ...] = field(default=())

    @property
    def prefix(self) -> str:
        return f"{DATASETS_PREFIX}{self.name}/"


@dataclass(frozen=True, slots=True)
class UploadResult:
    run_id: str
    spec_uri: str
    data_uris: tuple[str, ...]
    report_uri: str


def read_folder(path: Path, name: str | None = None) -> DatasetFolder:
    """Parse ``job.json`` and check the data files it names exist. Raises UploadError/SpecError."""
    spec_path = path / SPEC_FILE
    if not spec_path.is_file():
        raise UploadError(f"{spec_path} not found: a dataset folder holds job.json beside its data files")
    spec = parse_spec(spec_path.read_bytes())
    name = name or path.resolve().name
    if "/" in name or not bedrock_safe_key(name):
        raise UploadError(
            f"dataset name {name!r} has characters Bedrock refuses in S3 keys: use letters, digits "
            "and -!_*'(). only (pass --name)"
        )
    files = []
    for data_file in (spec.training, spec.validation):
        if data_file is None:
            continue
        local = path / data_file
        if not local.is_file():
            raise UploadError(f"job.json names {data_file!r} but {local} does not exist")
        files.append(local)
    return DatasetFolder(path=path, name=name, spec=spec, files=tuple(files))


@dataclass(frozen=True, slots=True)
class UploadPlan:
    """The run an upload of this folder will land on, known before anything is uploaded."""

    run_id: str
    # The same content's newest run, when there is one.
    existing: RunRecord | None = None

    @property
    def joins(self) -> bool:
        """True when uploading would only join ``existing`` (no new run, no new job)."""
        return self.existing is not None and not _ended_without_model(self.existing)


def _ended_without_model(run: RunRecord) -> bool:
    return run.status in RETRYABLE_ENDS or run.status is RunStatus.REJECTED


def plan_upload(folder: DatasetFolder, *, data_bucket: str, runs: RunStore | None = None) -> UploadPlan:
    """Ingestion's content identity for this folder (docs/runs.md): attempt 1, or — when that run
    (and its later attempts) ended without a model — the next attempt. ``runs`` None: attempt 1."""
    digest = content_digest(
        bucket=data_bucket,
        location=folder.prefix,
        spec_digest=folder.spec.digest(),
        data_sha256=tuple(_sha256(path) for path in folder.files),
    )
    run_id, attempt, newest = content_run_id(folder.name, digest), 1, None
    while runs is not None and (found := runs.get(run_id)) is not None:
        newest = found
        if not _ended_without_model(found):
            return UploadPlan(run_id, found)
        attempt += 1
        run_id = found.facts.next_attempt or content_run_id(folder.name, digest, attempt)
    return UploadPlan(run_id, newest)


def upload_folder(
    folder: DatasetFolder,
    *,
    objects: ObjectStore,
    data_bucket: str,
    artifacts_bucket: str,
    on_upload: Callable[[str], None] | None = None,
    plan: UploadPlan | None = None,
) -> UploadResult:
    data_uris = []
    for local in folder.files:
        key = folder.prefix + local.relative_to(folder.path).as_posix()
        objects.put_file(data_bucket, key, local)
        data_uris.append(f"s3://{data_bucket}/{key}")
        if on_upload:
            on_upload(data_uris[-1])
    spec_key = folder.prefix + SPEC_FILE
    objects.put_bytes(
        data_bucket, spec_key, (folder.path / SPEC_FILE).read_bytes(), content_type="application/json"
    )
    spec_uri = f"s3://{data_bucket}/{spec_key}"
    if on_upload:
        on_upload(spec_uri)
    run = (plan or plan_upload(folder, data_bucket=data_bucket)).run_id
    return UploadResult(
        run_id=run,
        spec_uri=spec_uri,
        data_uris=tuple(data_uris),
        report_uri=f"s3://{artifacts_bucket}/{report_key(run)}",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
