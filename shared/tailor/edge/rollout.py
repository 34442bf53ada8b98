"""The IoT Job of an export: its document (presigned-URL placeholders, never a URL or a credential)
and its rollout, abort, timeout and retry configuration; and the channel it rolls out on.

A channel is one package name on one set of targets. Exactly one continuous job is live per
channel: a newer version cancels the previous job before its own is created, so a device never
receives two versions; an older version that arrives late does not roll out over a newer one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tailor.adapters.fleet import JobRequest
from tailor.edge.errors import ExportError, Stage
from tailor.edge.manifest import JobDocument, JobDocumentFile, blob_key, manifest_key, signature_key
from tailor.edge.record import ExportRecord
from tailor.edge.targets import target_arn
from tailor.jobs.spec import RolloutSpec

MAX_DOCUMENT_CHARS = 32_768  # CreateJob's document limit (aws-facts §5)


def presigned_placeholder(region: str, bucket: str, key: str) -> str:
    """IoT replaces this with a presigned GET URL (signed by the presign role) when the device
    fetches the job document; the document itself carries no credential."""
    return f"${{aws:iot:s3-presigned-url-v2:https://s3.{region}.amazonaws.com/{bucket}/{key}}}"


def channel_key(name: str, targets: list[str]) -> str:
    identity = "\n".join([name, *sorted(set(targets))])
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def sequence_of(version: str) -> int:
    """Versions are ``1.0.<sequence>`` (tailor.edge.service): the patch number orders them."""
    return int(version.rsplit(".", 1)[-1])


def job_document(
    record: ExportRecord,
    *,
    region: str,
    bucket: str,
    manifest_sha256: str,
    manifest_size: int,
    blobs: dict[str, int],
) -> str:
    def placeholder(key: str) -> str:
        return presigned_placeholder(region, bucket, key)

    document = JobDocument(
        export_id=record.export_id,
        name=record.name,
        version=record.version,
        profiles=record.profiles,
        manifest=JobDocumentFile(
            url=placeholder(manifest_key(record.export_id)), sha256=manifest_sha256, size=manifest_size
        ),
        signature=JobDocumentFile(url=placeholder(signature_key(record.export_id))),
        blobs={
            sha: JobDocumentFile(url=placeholder(blob_key(sha)), sha256=sha, size=size)
            for sha, size in sorted(blobs.items())
        },
    )
    text = orjson.dumps(document.to_wire(), option=orjson.OPT_SORT_KEYS).decode()
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ExportError(
            Stage.ROLLOUT,
            "job_document_too_large",
            f"the IoT job document is {len(text)} characters; CreateJob takes at most {MAX_DOCUMENT_CHARS}",
            hint="ship fewer profiles per export",
        )
    return text


def job_request(
    record: ExportRecord,
    *,
    job_id: str,
    document: str,
    region: str,
    account_id: str,
    presign_role_arn: str,
) -> JobRequest:
    rollout = RolloutSpec.model_validate(record.rollout) if record.rollout else RolloutSpec()
    tags: list[tuple[str, str]] = [("tailor-export-id", record.export_id), ("tailor-package", record.name)]
    if record.run_id:
        tags.append(("tailor-run-id", record.run_id))
    return JobRequest(
        job_id=job_id,
        targets=tuple(target_arn(t, region=region, account=account_id) for t in record.targets),
        document=document,
        description=f"Tailor edge package {record.name} {record.version} (export {record.export_id})",
        presign_role_arn=presign_role_arn,
        url_expiry_seconds=rollout.presigned_url_expiry_seconds,
        maximum_per_minute=rollout.maximum_per_minute,
        base_rate_per_minute=rollout.base_rate_per_minute,
        increment_factor=rollout.increment_factor,
        rate_increase_after_succeeded=rollout.rate_increase_after_succeeded,
        abort_threshold_percentage=rollout.abort_threshold_percentage,
        abort_min_executed_things=rollout.abort_min_executed_things,
        in_progress_timeout_minutes=rollout.in_progress_timeout_minutes,
        retry_attempts=rollout.retry_attempts,
        tags=tuple(tags),
    )


def rollout_summary(request: JobRequest) -> dict[str, Any]:
    """What the CLI shows about a job's rollout (no document)."""
    return {k: v for k, v in request.create_job_args().items() if k not in {"document", "tags"}}
