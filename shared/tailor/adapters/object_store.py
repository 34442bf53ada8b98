"""Object store adapter: streaming reads, ranged reads and writes on S3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str) -> ObjectInfo | None: ...

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]: ...

    def get_range(self, bucket: str, key: str, start: int, length: int) -> bytes: ...

    def get_bytes(self, bucket: str, key: str) -> bytes: ...

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo: ...

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]: ...

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        """Upload a local file, streaming (multipart when large)."""
        ...


class ObjectNotFoundError(LookupError):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"s3://{bucket}/{key} does not exist")
        self.bucket = bucket
        self.key = key


def _is_not_found(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    """ObjectStore on S3. Reads stream: memory stays flat whatever the object size."""

    def __init__(self, s3_client: Any | None = None) -> None:
        self._client = s3_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as error:
            if _is_not_found(error):
                return None
            raise
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(resp["ContentLength"]),
            etag=str(resp.get("ETag", "")).strip('"'),
            version_id=resp.get("VersionId"),
            content_type=resp.get("ContentType"),
        )

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as error:
            if _is_not_found(error):
                raise ObjectNotFoundError(bucket, key) from error
            raise
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def get_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            resp = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")
        except Exception as error:
            if _is_not_found(error):
                raise ObjectNotFoundError(bucket, key) from error
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code == "InvalidRange":  # asked past the end of a short object
                return b""
            raise
        data: bytes = resp["Body"].read()
        return data

    def get_bytes(self, bucket: str, key: str) -> bytes:
        return b"".join(self.iter_chunks(bucket, key))

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

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        # upload_file streams from disk and switches to multipart above 8 MB: memory stays flat.
        self.client.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]


class InMemoryObjectStore:
    """Fake ObjectStore for unit tests. Versions objects like a versioned bucket."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, ObjectInfo]] = {}
        self._versions = 0

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        found = self.objects.get((bucket, key))
        return found[1] if found else None

    def _data(self, bucket: str, key: str) -> bytes:
        found = self.objects.get((bucket, key))
        if found is None:
            raise ObjectNotFoundError(bucket, key)
        return found[0]

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        data = self._data(bucket, key)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    def get_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        return self._data(bucket, key)[start : start + max(length, 0)]

    def get_bytes(self, bucket: str, key: str) -> bytes:
        return self._data(bucket, key)

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        import hashlib

        self._versions += 1
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
            version_id=f"v{self._versions}",
            content_type=content_type,
        )
        self.objects[(bucket, key)] = (bytes(body), info)
        return info

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        self.put_bytes(bucket, key, path.read_bytes(), content_type)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        yield from sorted(k for (b, k) in self.objects if b == bucket and k.startswith(prefix))
