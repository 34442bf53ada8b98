"""Repair moto 5.2's KMS ``Sign`` for ``MessageType=DIGEST`` while the local stack runs.

moto ignores ``MessageType``: given a 32-byte SHA-256 digest it hashes it again, so the signature
does not verify over the original message — AWS KMS signs the digest as given. The export
function signs manifests with ``DIGEST`` (``tailor.adapters.signer``); this patch makes moto sign
the digest prehashed, exactly like AWS. ``RAW`` requests keep moto's own code. Conditional and
reversible (``install``/``uninstall``); ``tests/integration/local/test_moto_facts`` pins the gap.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_original: Any = None


def _sign_digest(response: Any) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from moto.kms.exceptions import ValidationException

    key_id = response._get_param("KeyId")
    digest = response._get_param("Message")
    algorithm = response._get_param("SigningAlgorithm")
    response._validate_key_id(key_id)
    key = response.kms_backend.describe_key(key_id)
    hashers = {
        "ECDSA_SHA_256": hashes.SHA256(),
        "ECDSA_SHA_384": hashes.SHA384(),
        "ECDSA_SHA_512": hashes.SHA512(),
    }
    private = getattr(key.private_key, "private_key", None)
    if algorithm not in hashers or not isinstance(private, ec.EllipticCurvePrivateKey):
        return str(_original(response))  # RSA/SM2 digests: not used by Tailor, left to moto
    hasher = hashers[algorithm]
    if len(digest) != hasher.digest_size:
        raise ValidationException(
            f"Digest is invalid length for algorithm {algorithm}: {len(digest)} bytes, "
            f"expected {hasher.digest_size}"
        )
    signature = private.sign(digest, ec.ECDSA(utils.Prehashed(hasher)))
    return json.dumps(
        {"KeyId": key.arn, "Signature": base64.b64encode(signature).decode(), "SigningAlgorithm": algorithm}
    )


def _sign(self: Any) -> str:
    if self._get_param("MessageType") == "DIGEST":
        return _sign_digest(self)
    return str(_original(self))


def install() -> None:
    global _original
    from moto.kms.responses import KmsResponse

    if _original is None:
        _original = KmsResponse.sign
        KmsResponse.sign = _sign  # type: ignore[method-assign]


def uninstall() -> None:
    global _original
    from moto.kms.responses import KmsResponse

    if _original is not None:
        KmsResponse.sign = _original  # type: ignore[method-assign]
        _original = None
