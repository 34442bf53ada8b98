"""Where a dataset file lives (a local path or an S3 object) and how to stream its bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tailor.adapters.object_store import ObjectStore

# 64 KiB: amortises per-chunk work, and stays below glibc's mmap threshold: 1 MiB buffers are
# handed back to the OS and page-faulted in again on every read, which costs more than parsing.
CHUNK_SIZE = 64 << 10


@dataclass(frozen=True, slots=True)
class DatasetSource:
    kind: Literal["local", "s3"]
    path: Path | None = None
    bucket: str | None = None
    key: str | None = None
    # The exact S3 object version to read (None: the newest, e.g. an unversioned bucket or the CLI).
    version_id: str | None = None

    @classmethod
    def local(cls, path: str | Path) -> DatasetSource:
        return cls(kind="local", path=Path(path))

    @classmethod
    def s3(cls, bucket: str, key: str, version_id: str | None = None) -> DatasetSource:
        if not bucket or not key:
            raise ValueError(f"an S3 source needs a bucket and a key, got s3://{bucket}/{key}")
        return cls(kind="s3", bucket=bucket, key=key, version_id=version_id)

    @classmethod
    def parse(cls, value: str | Path) -> DatasetSource:
        """``s3://bucket/key`` or a local path."""
        text = str(value)
        if text.startswith("s3://"):
            bucket, _, key = text[5:].partition("/")
            return cls.s3(bucket, key)
        return cls.local(text)

    @property
    def is_s3(self) -> bool:
        return self.kind == "s3"

    @property
    def display(self) -> str:
        """The name used as ``file`` in the report."""
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self.key}"
        return str(self.path)

    @property
    def name(self) -> str:
        """The last path segment (for the extension check)."""
        if self.kind == "s3":
            return str(self.key).rsplit("/", 1)[-1]
        return Path(str(self.path)).name

    def size(self, store: ObjectStore | None = None) -> int | None:
        """Size in bytes, or None when it cannot be known (missing file, no store)."""
        if self.kind == "local":
            try:
                return Path(str(self.path)).stat().st_size
            except OSError:
                return None
        if store is None:
            return None
        info = store.head(str(self.bucket), str(self.key), version_id=self.version_id)
        return info.size if info else None

    def iter_chunks(self, store: ObjectStore | None = None, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The file's bytes in chunks. Raises ``FileNotFoundError`` / ``ObjectNotFoundError``."""
        if self.kind == "local":
            with Path(str(self.path)).open("rb", buffering=0) as handle:
                read = handle.read
                while chunk := read(chunk_size):
                    yield chunk
            return
        if store is None:
            raise ValueError(f"{self.display}: an object store is needed to read from S3")
        yield from store.iter_chunks(str(self.bucket), str(self.key), chunk_size, version_id=self.version_id)


def iter_file_range(path: Path, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a local file, in chunks."""
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        left = end - start
        read = handle.read
        while left > 0 and (chunk := read(min(chunk_size, left))):
            left -= len(chunk)
            yield chunk
