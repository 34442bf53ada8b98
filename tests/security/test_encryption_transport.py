"""Encryption at rest and in transit, on the transformed template, beyond what tests/infra proves.

Already covered by tests/infra/test_template_rules.py (not repeated here):
- ``buckets`` (infra_rules.check_buckets): every bucket has default encryption, all four
  PublicAccessBlockConfiguration flags, versioning, OwnershipControls BucketOwnerEnforced, and a
  bucket policy that Denies ``s3:*`` on the bucket and its objects when aws:SecureTransport is false;
- ``queue_encryption``: every queue is SqsManagedSseEnabled or has a KmsMasterKeyId;
- ``tables``: RunsTable has SSESpecification.SSEEnabled.

Added here: those rules see every bucket and queue the template has (a rule over nothing passes);
every table is encrypted, not only RunsTable; the edge signing key is an asymmetric P-256 signing
key whose private half never exists outside KMS; no function carries a credential in its environment.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from infra_rules import check_buckets, check_queue_encryption, props, resources_of

pytestmark = pytest.mark.infra

Template = Mapping[str, Any]


def check_tables_encrypted(template: Template) -> list[str]:
    """Every DynamoDB table: SSESpecification.SSEEnabled true (KMS; a customer key is allowed)."""
    return [
        f"{lid}: SSESpecification.SSEEnabled is not true"
        for lid, table in resources_of(template, "AWS::DynamoDB::Table").items()
        if (props(table).get("SSESpecification") or {}).get("SSEEnabled") not in (True, "true")
    ]


def check_signing_key(template: Template) -> list[str]:
    """EdgeSigningKey: ECC_NIST_P256 / SIGN_VERIFY (what devices verify: ECDSA P-256, SHA-256), key
    material generated in KMS (an imported or external key would exist outside it), enabled."""
    key = props(template["Resources"].get("EdgeSigningKey") or {})
    problems = []
    if key.get("KeySpec") != "ECC_NIST_P256":
        problems.append(f"EdgeSigningKey: KeySpec {key.get('KeySpec')!r} != 'ECC_NIST_P256'")
    if key.get("KeyUsage") != "SIGN_VERIFY":
        problems.append(f"EdgeSigningKey: KeyUsage {key.get('KeyUsage')!r} != 'SIGN_VERIFY'")
    if key.get("Origin", "AWS_KMS") != "AWS_KMS":
        problems.append(f"EdgeSigningKey: Origin {key.get('Origin')!r}: key material outside KMS")
    if key.get("Enabled", True) not in (True, "true"):
        problems.append("EdgeSigningKey: disabled")
    return problems


_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|ACCESS_KEY", re.I)
_SECRET_VALUE = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|X-Amz-Signature")


def check_function_environment(template: Template) -> list[str]:
    """No function environment names a secret or holds a literal that looks like one (an access key
    id, a private key, a signed URL): credentials come from the execution role only."""
    problems = []
    for lid, fn in resources_of(template, "AWS::Lambda::Function").items():
        variables = (props(fn).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if _SECRET_NAME.search(name):
                problems.append(f"{lid}: environment variable {name} names a secret")
            if isinstance(value, str) and _SECRET_VALUE.search(value):
                problems.append(f"{lid}: {name} holds a credential-looking literal")
    return problems


CHECKS: dict[str, Callable[[Template], list[str]]] = {
    "tables_encrypted": check_tables_encrypted,
    "signing_key": check_signing_key,
    "function_environment": check_function_environment,
}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_check_holds(check: str, transformed_template: dict[str, Any]) -> None:
    assert CHECKS[check](transformed_template) == []


def test_infra_rules_see_every_bucket_queue_and_table(transformed_template: dict[str, Any]) -> None:
    """check_buckets / check_queue_encryption are written per resource type: prove the template has
    the resources they must cover, and that each one reports a stripped copy of every one of them."""
    buckets = set(resources_of(transformed_template, "AWS::S3::Bucket"))
    queues = set(resources_of(transformed_template, "AWS::SQS::Queue"))
    tables = set(resources_of(transformed_template, "AWS::DynamoDB::Table"))
    assert buckets >= {"DataBucket", "ArtifactsBucket"}
    assert queues >= {"IngestQueue", "SubmitQueue", "StatusQueue", "DeployQueue", "ExportQueue", "ExportDLQ"}
    assert tables >= {"RunsTable", "IdempotencyTable", "ExportsTable"}

    stripped = copy.deepcopy(transformed_template)
    for lid in buckets:
        bucket = stripped["Resources"][lid]["Properties"]
        for key in ("BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls"):
            bucket.pop(key, None)
    for lid in queues:
        stripped["Resources"][lid]["Properties"].pop("SqsManagedSseEnabled", None)
        stripped["Resources"][lid]["Properties"].pop("KmsMasterKeyId", None)
    bucket_violations = check_buckets(stripped)
    for lid in buckets:
        for what in ("encryption", "BlockPublicAcls", "RestrictPublicBuckets", "BucketOwnerEnforced"):
            assert any(v.startswith(f"{lid}:") and what in v for v in bucket_violations), (lid, what)
    queue_violations = check_queue_encryption(stripped)
    assert {v.split(":", 1)[0] for v in queue_violations} == queues


def _key(t: dict[str, Any]) -> dict[str, Any]:
    key: dict[str, Any] = t["Resources"]["EdgeSigningKey"]["Properties"]
    return key


def _env(t: dict[str, Any], function: str) -> dict[str, Any]:
    variables: dict[str, Any] = t["Resources"][function]["Properties"]["Environment"]["Variables"]
    return variables


MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "tables_encrypted",
        "exports table unencrypted",
        lambda t: t["Resources"]["ExportsTable"]["Properties"].pop("SSESpecification"),
        "ExportsTable",
    ),
    (
        "tables_encrypted",
        "idempotency table SSE off",
        lambda t: t["Resources"]["IdempotencyTable"]["Properties"].update(
            SSESpecification={"SSEEnabled": False}
        ),
        "IdempotencyTable",
    ),
    ("signing_key", "RSA", lambda t: _key(t).update(KeySpec="RSA_2048"), "KeySpec"),
    ("signing_key", "P-384", lambda t: _key(t).update(KeySpec="ECC_NIST_P384"), "KeySpec"),
    ("signing_key", "symmetric", lambda t: _key(t).update(KeyUsage="ENCRYPT_DECRYPT"), "KeyUsage"),
    ("signing_key", "imported material", lambda t: _key(t).update(Origin="EXTERNAL"), "Origin"),
    (
        "function_environment",
        "a secret in the environment",
        lambda t: _env(t, "EdgeExportFunction").update(AWS_SECRET_ACCESS_KEY="testing"),
        "names a secret",
    ),
    (
        "function_environment",
        "an access key id as a literal",
        lambda t: _env(t, "IngestionFunction").update(UPSTREAM="AKIAABCDEFGHIJKLMNOP"),
        "credential-looking",
    ),
]


def test_every_check_has_a_mutation() -> None:
    assert {m[0] for m in MUTATIONS} == set(CHECKS)


@pytest.mark.parametrize(
    ("check", "mutate", "expected"),
    [
        pytest.param(check, mutate, expected, id=f"{check}-{desc}")
        for check, desc, mutate, expected in MUTATIONS
    ],
)
def test_check_reports_mutation(
    check: str,
    mutate: Callable[[dict[str, Any]], None],
    expected: str,
    transformed_template: dict[str, Any],
) -> None:
    mutated = copy.deepcopy(transformed_template)
    mutate(mutated)
    violations = CHECKS[check](mutated)
    assert any(expected in v for v in violations), violations
