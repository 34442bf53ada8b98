"""What a run is: its identity.

A run whose spec is valid and whose data were read in full is identified by its **content**: the
dataset's location (bucket + dataset folder, or the inbox key), the spec's digest and the sha256 of
every data file. An upload of the same bytes joins that run; no second job is paid for. An upload
that cannot be identified by content (an unreadable spec, a missing file) is identified by the
exact object version that was uploaded.

After a run ended without a model (rejected, failed, stopped, refused), the same content starts a
new *attempt*: attempt 1's id is computable by a client before uploading (``tailor submit`` prints
it); attempt n > 1 appends ``-a<n>`` and the previous attempt records ``nextAttempt``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tailor.jobs.naming import object_version, slug


@dataclass(frozen=True, slots=True)
class Upload:
    """The one object version an S3 event names."""

    bucket: str
    key: str
    version_id: str | None  # None on an unversioned bucket
    etag: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str:
        """Version id, else ETag (what ``tailor submit`` can compute from its own PUT)."""
        return object_version((self.version_id,), self.etag)

    @property
    def display(self) -> str:
        return f"{self.uri} (version {self.identity})"


def content_digest(*, bucket: str, location: str, spec_digest: str, data_sha256: tuple[str, ...]) -> str:
    identity = "\n".join(("content", bucket, location, spec_digest, *data_sha256)).encode()
    return hashlib.sha256(identity).hexdigest()


def content_run_id(label: str, digest: str, attempt: int = 1) -> str:
    """``<label-slug>-<20 hex>`` (attempt 1) or ``…-a<n>``."""
    base = f"{slug(label)}-{digest[:20]}"
    return base if attempt == 1 else f"{base}-a{attempt}"


def upload_run_id(label: str, upload: Upload, spec_digest: str | None) -> str:
    """The id of a run that could not be identified by content: the upload's exact version."""
    identity = "\n".join(("upload", upload.bucket, upload.key, upload.identity, spec_digest or "-")).encode()
    return f"{slug(label)}-{hashlib.sha256(identity).hexdigest()[:20]}"
