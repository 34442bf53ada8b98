"""Object store adapter: exact-version streaming and ranged reads, writes and server-side copies on S3.

Every read takes an optional ``version_id``: an event names one object version and that version is
what gets read (aws-facts §3 "What the data path must guarantee"). Errors are sorted here, once:
``ObjectNotFoundError`` and ``ObjectUnreadableError`` are findings about the data (no such key or
version, access denied, archived); anything else (SlowDown, 5xx, timeouts) propagates unchanged
and is transient: the caller fails the message so that it is retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tailor.adapters import aws

DEFAULT_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None
    content_type: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def pinned_version(self) -> str | None:
        """The version id to read this exact object again, or None (unversioned bucket)."""
        return self.version_id if self.version_id and self.version_id != "null" else None


def _describe(bucket: str, key: str, version_id: str | None) -> str:
    return f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")


class ObjectNotFoundError(LookupError):
    """No such key, or no such version (a finding about the data, never retried)."""

    def __init__(self, bucket: str, key: str, version_id: str | None = None) -> None:
        super().__init__(f"{_describe(bucket, key, version_id)} does not exist")
        self.bucket = bucket
        self.key = key
        self.version_id = version_id


class ObjectUnreadableError(PermissionError):
    """The object exists but cannot be read: access denied, or archived (a finding, not transient)."""

    def __init__(self, bucket: str, key: str, version_id: str | None, reason: str, hint: str) -> None:
        super().__init__(f"{_describe(bucket, key, version_id)} cannot be read: {reason}")
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.reason = reason
        self.hint = hint


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """The object's metadata, or None if the key (or that version) does not exist."""
        ...

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK, version_id: str | None = None
    ) -> Iterator[bytes]: ...

    def get_range(
        self, bucket: str, key: str, start: int, length: int, version_id: str | None = None
    ) -> bytes: ...

    def get_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo: ...

    def copy(self, source: ObjectInfo, bucket: str, key: str) -> ObjectInfo:
        """Server-side copy of exactly ``source`` (its version, and only while its ETag still
        matches) to ``bucket/key``; multipart for large objects. Returns the new object."""
        ...

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]: ...

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        """Upload a local file, streaming (multipart when large)."""
        ...


# HEAD answers carry no error body: only the status code tells what happened.
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "405", "MethodNotAllowed"})
_DENIED = frozenset({"403", "AccessDenied", "AllAccessDisabled"})
_ARCHIVED = frozenset({"InvalidObjectState"})


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _classify(error: Exception, bucket: str, key: str, version_id: str | None) -> Exception | None:
    """The finding this error stands for, or None when it is transient (re-raise it as it is)."""
    code = _error_code(error)
    if code in _NOT_FOUND:
        return ObjectNotFoundError(bucket, key, version_id)
    if code == "InvalidArgument" and version_id:
        # S3 answers a malformed version id with 400 InvalidArgument: that version cannot exist.
        return ObjectNotFoundError(bucket, key, version_id)
    if code in _DENIED:
        return ObjectUnreadableError(
            bucket,
            key,
            version_id,
            "access denied",
            "grant Tailor and the Bedrock role s3:GetObject* on it",
        )
    if code in _ARCHIVED:
        return ObjectUnreadableError(
            bucket, key, version_id, "it is archived", "restore it from its archive storage class first"
        )
    return None


def _version_args(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id and version_id != "null" else {}


class S3ObjectStore:
    """ObjectStore on S3. Reads stream: memory stays flat whatever the object size."""

    def __init__(self, s3_client: Any | None = None, transfer_config: Any | None = None) -> None:
        self._client = s3_client
        self._transfer_config = transfer_config  # boto3 TransferConfig for copies (tests: small parts)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=bucket, Key=key, **_version_args(version_id))
        except Exception as error:
            finding = _classify(error, bucket, key, version_id)
            if isinstance(finding, ObjectNotFoundError):
                return None
            if finding is None:
                raise
            raise finding from error
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(resp["ContentLength"]),
            etag=str(resp.get("ETag", "")).strip('"'),
            version_id=resp.get("VersionId"),
            content_type=resp.get("ContentType"),
        )

    def _get(self, bucket: str, key: str, version_id: str | None, **extra: str) -> dict[str, Any]:
        try:
            resp: dict[str, Any] = self.client.get_object(
                Bucket=bucket, Key=key, **_version_args(version_id), **extra
            )
        except Exception as error:
            finding = _classify(error, bucket, key, version_id)
            if finding is None:
                raise
            raise finding from error
        return resp

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK, version_id: str | None = None
    ) -> Iterator[bytes]:
        body = self._get(bucket, key, version_id)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def get_range(
        self, bucket: str, key: str, start: int, length: int, version_id: str | None = None
    ) -> bytes:
        if length <= 0:
            return b""
        try:
            resp = self._get(bucket, key, version_id, Range=f"bytes={start}-{start + length - 1}")
        except Exception as error:
            if _error_code(error) == "InvalidRange":  # asked past the end of a short object
                return b""
            raise
        data: bytes = resp["Body"].read()
        return data

    def get_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return b"".join(self.iter_chunks(bucket, key, version_id=version_id))

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        resp = self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=str(resp.get("ETag", "")).strip('"'),
            version_id=resp.get("VersionId"),
            content_type=content_type,
        )

    def copy(self, source: ObjectInfo, bucket: str, key: str) -> ObjectInfo:
        copy_source = {"Bucket": source.bucket, "Key": source.key, **_version_args(source.version_id)}
        # The managed copy uses CopyObject up to its multipart threshold and UploadPartCopy beyond
        # (CopyObject stops at 5 GB). CopySourceIfMatch: an unversioned source that changed since it
        # was validated fails the copy (412, transient: the retry validates the new bytes).
        # TaggingDirective REPLACE: no tags are read from the source (no GetObjectTagging needed).
        extra = {"CopySourceIfMatch": f'"{source.etag}"', "TaggingDirective": "REPLACE"}
        if source.content_type:
            extra |= {"ContentType": source.content_type, "MetadataDirective": "REPLACE"}
        try:
            self.client.copy(copy_source, bucket, key, ExtraArgs=extra, Config=self._transfer_config)
        except Exception as error:
            finding = _classify(error, source.bucket, source.key, source.pinned_version)
            if finding is None:
                raise
            raise finding from error
        copied = self.head(bucket, key)
        if copied is None:  # read-after-write is strong on S3: only a concurrent delete gets here
            raise RuntimeError(f"s3://{bucket}/{key} vanished right after it was copied")
        return copied

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        # upload_file streams from disk and switches to multipart above 8 MB: memory stays flat.
        self.client.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]


@dataclass(slots=True)
class _Version:
    info: ObjectInfo
    data: bytes = b""
    delete_marker: bool = False


@dataclass(slots=True)
class InMemoryObjectStore:
    """Fake ObjectStore for unit tests. Behaves like a versioned bucket: every put is a new version,
    ``delete`` adds a delete marker, and older versions stay readable by version id."""

    versions: dict[tuple[str, str], list[_Version]] = field(default_factory=dict)
    _counter: int = 0

    def _next_version(self) -> str:
        self._counter += 1
        return f"v{self._counter}"

    def _find(self, bucket: str, key: str, version_id: str | None) -> _Version | None:
        history = self.versions.get((bucket, key), [])
        if version_id is None or version_id == "null":
            newest = history[-1] if history else None
            return None if newest is None or newest.delete_marker else newest
        return next((v for v in history if v.info.version_id == version_id and not v.delete_marker), None)

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        found = self._find(bucket, key, version_id)
        return found.info if found else None

    def _data(self, bucket: str, key: str, version_id: str | None) -> bytes:
        found = self._find(bucket, key, version_id)
        if found is None:
            raise ObjectNotFoundError(bucket, key, version_id)
        return found.data

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK, version_id: str | None = None
    ) -> Iterator[bytes]:
        data = self._data(bucket, key, version_id)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    def get_range(
        self, bucket: str, key: str, start: int, length: int, version_id: str | None = None
    ) -> bytes:
        return self._data(bucket, key, version_id)[start : start + max(length, 0)]

    def get_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return self._data(bucket, key, version_id)

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
            version_id=self._next_version(),
            content_type=content_type,
        )
        self.versions.setdefault((bucket, key), []).append(_Version(info=info, data=bytes(body)))
        return info

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        """Without a version: add a delete marker (older versions stay). With one: remove it."""
        history = self.versions.setdefault((bucket, key), [])
        if version_id is not None:
            history[:] = [v for v in history if v.info.version_id != version_id]
            return
        marker = ObjectInfo(bucket=bucket, key=key, size=0, etag="", version_id=self._next_version())
        history.append(_Version(info=marker, delete_marker=True))

    def copy(self, source: ObjectInfo, bucket: str, key: str) -> ObjectInfo:
        found = self._find(source.bucket, source.key, source.pinned_version)
        if found is None:
            raise ObjectNotFoundError(source.bucket, source.key, source.pinned_version)
        if found.info.etag != source.etag:
            raise RuntimeError(f"{source.uri} changed since it was read (ETag mismatch): retry")
        info = self.put_bytes(bucket, key, found.data, found.info.content_type or "application/octet-stream")
        return replace(info, etag=found.info.etag)

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        self.put_bytes(bucket, key, path.read_bytes(), content_type)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        yield from sorted(
            k for (b, k) in self.versions if b == bucket and k.startswith(prefix) and self.head(b, k)
        )
