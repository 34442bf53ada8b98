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
