"""An ObjectStore that injects S3 faults on chosen calls: transient ones (SlowDown, 500, timeouts)
must fail the message; only findings (AccessDenied, NoSuchKey) may reject a dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from botocore.exceptions import ClientError, ReadTimeoutError

from tailor.adapters.object_store import InMemoryObjectStore, ObjectInfo, ObjectUnreadableError


def slow_down(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, operation
    )


def internal_error(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "InternalError", "Message": "We encountered an internal error."}}, operation
    )


def read_timeout(_operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com/b/k")


def access_denied(_operation: str) -> Exception:
    return ObjectUnreadableError("b", "k", None, "access denied", "grant s3:GetObject")


@dataclass
class FaultyObjectStore(InMemoryObjectStore):
    """``faults[(method, key suffix)] = (how many times, error factory)``."""

    faults: dict[tuple[str, str], tuple[int, Callable[[str], Exception]]] = field(default_factory=dict)

    def inject(self, method: str, key_suffix: str, make: Callable[[str], Exception], times: int = 1) -> None:
        self.faults[(method, key_suffix)] = (times, make)

    def _maybe_fail(self, method: str, key: str) -> None:
        for (name, suffix), (times, make) in list(self.faults.items()):
            if name == method and key.endswith(suffix) and times > 0:
                self.faults[(name, suffix)] = (times - 1, make)
                raise make(method)

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        self._maybe_fail("head", key)
        return super().head(bucket, key, version_id)

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = 1 << 20, version_id: str | None = None
    ) -> Iterator[bytes]:
        self._maybe_fail("iter_chunks", key)
        yield from super().iter_chunks(bucket, key, chunk_size, version_id)

    def get_range(
        self, bucket: str, key: str, start: int, length: int, version_id: str | None = None
    ) -> bytes:
        self._maybe_fail("get_range", key)
        return super().get_range(bucket, key, start, length, version_id)

    def copy(self, source: ObjectInfo, bucket: str, key: str) -> ObjectInfo:
        self._maybe_fail("copy", source.key)
        return super().copy(source, bucket, key)
