"""Deterministic identities: run ids, Bedrock client request tokens, names.

Same dataset object version + same spec → same run id → same token: Bedrock ignores a repeat.
"""

from __future__ import annotations

import hashlib
import re

_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
# Bedrock's S3 URI rule: every key segment only these characters (aws-facts §1).
BEDROCK_SAFE_KEY = re.compile(r"[-!_*'().a-zA-Z0-9]+(/[-!_*'().a-zA-Z0-9]+)*/?")


def bedrock_safe_key(key: str) -> bool:
    """True if Bedrock accepts ``key`` inside an ``s3://`` URI (no spaces, '=', '+', '%', ':')."""
    return BEDROCK_SAFE_KEY.fullmatch(key) is not None


def slug(text: str, max_len: int = 32) -> str:
    """Lower-case letters/digits joined by single dashes (valid in every AWS name we build)."""
    cleaned = _SLUG_STRIP.sub("-", text.lower()).strip("-")
    return cleaned[:max_len].rstrip("-") or "run"


def object_version(version_ids: tuple[str | None, ...], etag: str) -> str:
    """An uploaded object's identity for its run id: the first real version id, else the ETag
    (an unversioned bucket reports the version id "null")."""
    for candidate in version_ids:
        if candidate and candidate != "null":
            return candidate
    return etag


def run_id(*, bucket: str, key: str, version: str, spec_digest: str, label: str) -> str:
    """``<label-slug>-<20 hex>`` from the trigger object's identity and the spec digest."""
    identity = "\n".join((bucket, key, version, spec_digest)).encode()
    return f"{slug(label)}-{hashlib.sha256(identity).hexdigest()[:20]}"


def client_request_token(run: str) -> str:
    """Bedrock clientRequestToken: ``[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?``."""
    token = re.sub(r"[^a-zA-Z0-9-]", "-", run).strip("-")[:256]
    return token or hashlib.sha256(run.encode()).hexdigest()


# Bedrock's rules (aws-facts §1).
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*")
CUSTOM_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
MAX_NAME = 63
_SEPARATORS = re.compile(r"[^0-9a-zA-Z]+")


def _run_hash(run: str, length: int) -> str:
    return hashlib.sha256(run.encode()).hexdigest()[:length]


def job_name(run: str, collision: int = 0) -> str:
    """``tailor-<slug>-<16 hex>`` (``-r<n>`` after a collision with a job that is not ours): valid
    for Bedrock, unique per run, the same on every retry."""
    name = f"tailor-{slug(run, 24)}-{_run_hash(run, 16)}"
    return name if collision == 0 else f"{name}-r{collision + 1}"


def custom_model_name(run: str, requested: str | None, label: str, collision: int = 0) -> str:
    """The requested name (or the dataset label) made valid, plus a short run hash: custom model
    names are unique per account, so a second attempt must not reuse the first one's."""
    base = _SEPARATORS.sub("-", requested or label).strip("-") or "model"
    suffix = _run_hash(run, 10) + (f"-r{collision + 1}" if collision else "")
    return f"{base[: MAX_NAME - len(suffix) - 1].rstrip('-')}-{suffix}"


def request_token(name: str) -> str:
    """The deterministic clientRequestToken of one job name: a repeat is ignored by Bedrock."""
    return client_request_token(f"{name}-{_run_hash(name, 12)}")
