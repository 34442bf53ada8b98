"""Detached manifest signatures: ECDSA P-256 over SHA-256 (KMS ``ECDSA_SHA_256``), DER-encoded.

The export function signs with a KMS asymmetric key (``tailor.adapters.signer.KmsSigner``); tests
and the local device simulator may use ``LocalSigner``. A device verifies with the public key it
was provisioned with (``verify_signature``) and never with a key that came inside a bundle.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from tailor.edge.manifest import SIGNATURE_ALGORITHM


class SignatureError(Exception):
    """The signature does not verify with the trusted key (tampered manifest or signature)."""


class Signer(Protocol):
    algorithm: str

    def sign_digest(self, digest: bytes) -> bytes:
        """DER ECDSA signature of a SHA-256 digest (32 bytes)."""
        ...

    def public_key_der(self) -> bytes:
        """SubjectPublicKeyInfo, DER: what KMS ``GetPublicKey`` returns."""
        ...


def sign_manifest(signer: Signer, manifest_bytes: bytes) -> bytes:
    return signer.sign_digest(hashlib.sha256(manifest_bytes).digest())


class LocalSigner:
    """An in-process P-256 key (tests, local device simulator); the deployed stack uses KMS."""

    algorithm = SIGNATURE_ALGORITHM

    def __init__(self, private_key: object | None = None) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = private_key if private_key is not None else ec.generate_private_key(ec.SECP256R1())

    def sign_digest(self, digest: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils

        return self._key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))  # type: ignore[attr-defined,no-any-return]

    def public_key_der(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(  # type: ignore[attr-defined,no-any-return]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def public_key_pem(der: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_public_key(der)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(public_key: bytes, manifest_bytes: bytes, signature: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` signs ``manifest_bytes`` with ``public_key``.

    ``public_key`` is PEM or DER (SubjectPublicKeyInfo) of an EC P-256 key.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = (
        serialization.load_pem_public_key(public_key)
        if public_key.lstrip().startswith(b"-----BEGIN")
        else serialization.load_der_public_key(public_key)
    )
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SignatureError("the trusted key is not an EC P-256 public key")
    try:
        key.verify(signature, manifest_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("the manifest signature does not verify with the trusted key") from None
