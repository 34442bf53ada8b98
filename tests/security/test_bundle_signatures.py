"""The device agent refuses unsigned, mis-signed and tampered bundles (and keeps what is current).

Reuses the agent tests' bundle builder and moto/IoT Jobs world (tests/unit/edge/test_agent.py,
loaded by path). Already covered there (not repeated): a manifest edited after signing, a bundle
signed by another P-256 key, a signature that is not DER, the model blob swapped in S3 after
publishing, a key that is not P-256 refused at provisioning, hostile file names and symlinks.

Added here: an empty or truncated signature, a valid signature of another manifest, a signed
manifest replayed under another version, the golden set (the smoke test's reference) swapped, a job
document pointing a blob at another published object, a trust anchor swapped for a non-P-256 key
after provisioning (with a bundle signed by that key), a missing trust anchor, more kinds of keys
refused at provisioning, and an older signed version replayed over a newer one.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tailor.edge.agent import OutcomeStatus, provision
from tailor.edge.golden import GOLDEN_FILE_NAME
from tailor.edge.manifest import blob_key
from tailor.edge.signing import LocalSigner

pytestmark = pytest.mark.integration


def _load_agent_helpers() -> ModuleType:
    name = "_security_edge_agent_helpers"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parents[1] / "unit" / "edge" / "test_agent.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


helpers = _load_agent_helpers()
# The agent tests' fixtures, under their own names (pytest finds fixtures by module attribute).
moto_endpoint = helpers.moto_endpoint
signer = helpers.signer
world = helpers.world
bundle_v1 = helpers.bundle_v1
bundle_v2 = helpers.bundle_v2


def _pem(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pem: bytes = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _refused(world: Any, agent: Any, outcome: Any, job_id: str, thing: str, *, keeps: str | None) -> None:
    """Nothing of the refused bundle is installed; ``current`` is what it was; IoT was told."""
    assert outcome.status in (OutcomeStatus.FAILED, OutcomeStatus.REJECTED), outcome
    assert agent.current_version() == keeps
    versions = agent.root / "versions"
    installed = sorted(p.name for p in versions.iterdir()) if versions.is_dir() else []
    assert installed == ([keeps] if keeps else []), installed
    assert world.execution(job_id, thing).status == outcome.status.value


def _offer_with_signature(world: Any, bundle: Any, thing: str, signature: bytes) -> str:
    bundle.signature = signature
    return str(world.offer(bundle, thing))


@pytest.mark.parametrize("cut", ["empty", "truncated", "one byte flipped"])
def test_a_missing_or_damaged_signature_fails(
    world: Any, bundle_v1: Any, signer: LocalSigner, cut: str
) -> None:
    agent, thing = helpers.installed(world, bundle_v1)
    bundle = helpers.build_bundle(signer, "2.0.0")
    good = bundle.signature
    damaged = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "one byte flipped": good[:-1] + bytes([good[-1] ^ 0x01]),
    }[cut]
    job_id = _offer_with_signature(world, bundle, thing, damaged)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature"), outcome
    _refused(world, agent, outcome, job_id, thing, keeps="1.0.0")


def test_a_valid_signature_of_another_manifest_fails(world: Any, bundle_v1: Any, signer: LocalSigner) -> None:
    agent, thing = helpers.installed(world, bundle_v1)
    bundle = helpers.build_bundle(signer, "2.0.0")
    job_id = _offer_with_signature(world, bundle, thing, bundle_v1.signature)  # genuine, but for v1

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature")
    _refused(world, agent, outcome, job_id, thing, keeps="1.0.0")


def test_a_signed_manifest_replayed_under_another_version_fails(
    world: Any, bundle_v1: Any, bundle_v2: Any
) -> None:
    """The job document is not signed: a document naming 9.0.0 but pointing at v1.0.0's genuine
    manifest and signature must not install v1.0.0's files as 9.0.0."""
    agent, thing = helpers.installed(world, bundle_v2)
    document = json.loads(helpers.publish(world.s3, world.bucket, bundle_v1))
    document["version"] = "9.0.0"
    job_id = world.job(json.dumps(document), [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "manifest mismatch")
    _refused(world, agent, outcome, job_id, thing, keeps="1.1.0")


def test_a_golden_set_swapped_after_signing_fails(world: Any, bundle_v1: Any, signer: LocalSigner) -> None:
    """The golden set is the smoke test's reference: swapping it for one that a bad model passes
    must fail at the digest, like a swapped model."""
    agent, thing = helpers.installed(world, bundle_v1)
    bundle = helpers.build_bundle(signer, "2.0.0", model=helpers.onnx_model(scale=7.0))
    document = helpers.publish(world.s3, world.bucket, bundle)
    forged = helpers.golden_set(helpers.onnx_model(scale=-7.0), bundle.profiles)
    world.s3.put_object(Bucket=world.bucket, Key=blob_key(bundle.sha(GOLDEN_FILE_NAME)), Body=forged)
    job_id = world.job(document, [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "digest")
    _refused(world, agent, outcome, job_id, thing, keeps="1.0.0")
    assert not (agent.cache / bundle.sha(GOLDEN_FILE_NAME)).exists()


def test_a_document_pointing_a_blob_at_another_object_fails(
    world: Any, bundle_v1: Any, signer: LocalSigner
) -> None:
    """Someone who can create jobs (but not sign) points the model's entry at another genuine
    published object: the signed sha256 decides, not the URL."""
    agent, thing = helpers.installed(world, bundle_v1)
    bundle = helpers.build_bundle(signer, "2.0.0", model=helpers.onnx_model(scale=8.0))
    document = json.loads(helpers.publish(world.s3, world.bucket, bundle))
    golden_url = document["blobs"][bundle.sha(GOLDEN_FILE_NAME)]["url"]
    document["blobs"][bundle.sha("model.onnx")]["url"] = golden_url
    job_id = world.job(json.dumps(document), [world.thing_arn(thing)])

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "digest")
    _refused(world, agent, outcome, job_id, thing, keeps="1.0.0")


@pytest.mark.parametrize("kind", ["P-384", "RSA-2048"])
def test_a_trust_anchor_that_is_not_p256_verifies_nothing(world: Any, bundle_v1: Any, kind: str) -> None:
    """Provisioning refuses such a key; one swapped in afterwards (with a bundle signed by it, where
    the algorithm allows) is refused at verification: the agent only ever trusts P-256."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    thing = world.thing()
    agent = world.device(thing)
    anchor = agent.root / agent.config.trust_anchor
    if kind == "P-384":
        key: Any = ec.generate_private_key(ec.SECP384R1())
        bundle = helpers.build_bundle(LocalSigner(key), "1.0.0")
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        bundle = helpers.build_bundle(world.signer, "1.0.0")
    anchor.write_bytes(_pem(key.public_key()))
    job_id = world.offer(bundle, thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.FAILED, "signature")
    assert "P-256" in (outcome.detail or "")
    _refused(world, agent, outcome, job_id, thing, keeps=None)


def test_a_missing_trust_anchor_installs_nothing(world: Any, bundle_v1: Any) -> None:
    thing = world.thing()
    agent = world.device(thing)
    (agent.root / agent.config.trust_anchor).unlink()
    job_id = world.offer(bundle_v1, thing)

    outcome = agent.run_once()

    assert (outcome.status, outcome.reason) == (OutcomeStatus.REJECTED, "not provisioned")
    _refused(world, agent, outcome, job_id, thing, keeps=None)


@pytest.mark.parametrize("kind", ["RSA-2048", "Ed25519", "P-256 private key"])
def test_provision_refuses_keys_that_are_not_a_p256_public_key(tmp_path: Path, kind: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if kind == "RSA-2048":
        pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    elif kind == "Ed25519":
        pem = _pem(ed25519.Ed25519PrivateKey.generate().public_key())
    else:  # a device must never hold the signing key itself
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    with pytest.raises(ValueError, match=r"P-256|PEM public key"):
        provision("t", tmp_path / "device", pem, region=helpers.REGION)
    assert not (tmp_path / "device" / "trust").exists()


def test_an_older_signed_version_is_not_installed_over_a_newer_one(
    world: Any, bundle_v1: Any, bundle_v2: Any
) -> None:
    agent, thing = helpers.installed(world, bundle_v2)  # 1.1.0 current
    job_id = world.offer(bundle_v1, thing)  # 1.0.0: signed by the trusted key, but older

    outcome = agent.run_once()

    assert outcome.status in (OutcomeStatus.FAILED, OutcomeStatus.REJECTED), outcome
    assert agent.current_version() == "1.1.0"
    assert world.execution(job_id, thing).status == outcome.status.value
