"""KMS signer: signs a manifest's SHA-256 digest with the stack's asymmetric key (ECC_NIST_P256).

``MessageType=DIGEST`` sends 32 bytes instead of the manifest (KMS takes at most 4 KiB of RAW
message), and the signature is the same DER ECDSA a device verifies over the manifest bytes. moto
ignores ``MessageType`` and hashes the digest again; the local stack repairs that
(``tailor.local.moto_kms``) so the local signature verifies exactly as AWS's does.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from tailor.adapters import aws
from tailor.edge.manifest import SIGNATURE_ALGORITHM


class KmsSigner:
    algorithm = SIGNATURE_ALGORITHM

    def __init__(self, key_id: str, kms_client: Any | None = None) -> None:
        self.key_id = key_id
        self._client = kms_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("kms")
        return self._client

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise ValueError("an ECDSA_SHA_256 digest is 32 bytes")
        answer = self.client.sign(
            KeyId=self.key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=SIGNATURE_ALGORITHM
        )
        return bytes(answer["Signature"])

    def public_key_der(self) -> bytes:
        return self._public_key

    @cached_property
    def _public_key(self) -> bytes:
        return bytes(self.client.get_public_key(KeyId=self.key_id)["PublicKey"])
