"""Presigned download URLs: their lifetime is bounded and configured, and no credential is ever in a
job document (IoT substitutes the placeholders with URLs signed by EdgePresignRole when a device
fetches the document).

Already covered elsewhere (not repeated): the default 3600 s reaching CreateJob
(tests/unit/edge/test_service.py, tests/integration/test_edge_local.py) and a 7200 s export request
failing as request_invalid (test_service.py). Added: the exact bounds, strict types, a non-default
value reaching ``presignedUrlConfig.expiresInSec`` unchanged, a stored out-of-bound value never
reaching CreateJob, and every URL-like string of a job document being a placeholder under edge/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tailor.adapters.fleet import JobRequest
from tailor.edge.record import ExportRecord
from tailor.edge.rollout import job_document, job_request
from tailor.jobs.spec import RolloutSpec, SpecError, parse_spec

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "tailor-artifacts-abc123"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/tailor-EdgePresignRole-XYZ"
MIN_SECONDS, MAX_SECONDS = 60, 3600  # what IoT accepts for presignedUrlConfig.expiresInSec
PLACEHOLDER = re.compile(
    r"\$\{aws:iot:s3-presigned-url-v2:https://s3\."
    + REGION
    + r"\.amazonaws\.com/"
    + BUCKET
    + r"/(edge/[^}?#\s]+)\}"
)
CREDENTIAL_MARKERS = (
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature=",
    "Expires=",
)


def record(rollout: dict[str, Any] | None = None) -> ExportRecord:
    return ExportRecord(
        export_id="ex-kiosk-v3",
        name="kiosk",
        version="1.0.3",
        source_uri="s3://data/models/kiosk/model.onnx",
        targets=["thinggroup/kiosks"],
        profiles=["linux-x86_64", "linux-aarch64"],
        rollout=rollout or {},
    )


def request(rollout: dict[str, Any] | None = None) -> JobRequest:
    return job_request(
        record(rollout),
        job_id="tailor-ex-kiosk-v3",
        document="{}",
        region=REGION,
        account_id=ACCOUNT,
        presign_role_arn=ROLE,
    )


@pytest.mark.parametrize("seconds", [MIN_SECONDS, MIN_SECONDS + 1, 900, MAX_SECONDS - 1, MAX_SECONDS])
def test_rollout_spec_accepts_lifetimes_within_the_bound(seconds: int) -> None:
    spec = RolloutSpec.model_validate({"presignedUrlExpirySeconds": seconds})
    assert spec.presigned_url_expiry_seconds == seconds


@pytest.mark.parametrize(
    "value",
    [MAX_SECONDS + 1, 7200, 86400, 604800, MIN_SECONDS - 1, 0, -1, "900", 900.0, True, None],
)
def test_rollout_spec_refuses_lifetimes_outside_the_bound(value: Any) -> None:
    with pytest.raises(ValidationError, match="presignedUrlExpirySeconds"):
        RolloutSpec.model_validate({"presignedUrlExpirySeconds": value})


def test_the_default_lifetime_is_the_bound() -> None:
    assert RolloutSpec().presigned_url_expiry_seconds == MAX_SECONDS


def test_job_json_refuses_a_longer_lifetime() -> None:
    spec: dict[str, Any] = {
        "specVersion": "1",
        "technique": "distillation",
        "baseModel": "nova-lite",
        "teacherModel": "nova-premier",
        "training": "prompts.jsonl",
        "edge": {
            "model": "student.onnx",
            "targets": ["thinggroup/kiosks"],
            "rollout": {"presignedUrlExpirySeconds": MAX_SECONDS + 1},
        },
    }
    with pytest.raises(SpecError, match="presignedUrlExpirySeconds"):
        parse_spec(orjson.dumps(spec))
    spec["edge"]["rollout"]["presignedUrlExpirySeconds"] = 600
    parsed = parse_spec(orjson.dumps(spec))
    assert parsed.edge is not None and parsed.edge.rollout.presigned_url_expiry_seconds == 600


@pytest.mark.parametrize("seconds", [MIN_SECONDS, 600, MAX_SECONDS])
def test_create_job_carries_the_configured_lifetime(seconds: int) -> None:
    args = request({"presignedUrlExpirySeconds": seconds}).create_job_args()
    assert args["presignedUrlConfig"] == {"roleArn": ROLE, "expiresInSec": seconds}


def test_create_job_without_a_rollout_uses_the_bound() -> None:
    assert request().create_job_args()["presignedUrlConfig"]["expiresInSec"] == MAX_SECONDS


@pytest.mark.parametrize("seconds", [MAX_SECONDS + 1, 7 * 86400, MIN_SECONDS - 1])
def test_a_stored_out_of_bound_lifetime_never_reaches_create_job(seconds: int) -> None:
    """A record is re-validated before CreateJob: one written by an older version (or by hand) with a
    longer lifetime fails the export instead of rolling out week-long URLs."""
    with pytest.raises(ValidationError, match="presignedUrlExpirySeconds"):
        request({"presignedUrlExpirySeconds": seconds})


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_the_job_document_holds_placeholders_only() -> None:
    blobs = {"a" * 64: 1234, "b" * 64: 99}
    text = job_document(
        record(), region=REGION, bucket=BUCKET, manifest_sha256="c" * 64, manifest_size=2048, blobs=blobs
    )
    for marker in CREDENTIAL_MARKERS:
        assert marker.lower() not in text.lower(), marker
    urls = [s for s in _strings(orjson.loads(text)) if "://" in s or s.startswith("${")]
    assert len(urls) == 2 + len(blobs)  # manifest, signature, each blob
    for url in urls:
        match = PLACEHOLDER.fullmatch(url)
        # Only keys EdgePresignRole may read (s3:GetObject on edge/*: test_least_privilege).
        assert match, url
        assert ".." not in match.group(1)
    # Nothing outside the placeholders looks like a location either.
    rest = PLACEHOLDER.sub("", text)
    assert "://" not in rest and "${" not in rest and "s3." not in rest
