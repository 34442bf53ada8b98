"""Uploads of ``tailor submit``: multipart for large files, with a progress bar on a terminal.

boto3's ``upload_file`` streams from disk and switches to multipart above ``multipart_threshold``;
its ``Callback`` (called from the transfer threads with the bytes just sent) advances one rich bar
per file on stderr. Not a terminal (a pipe, CI, tests): no bar, nothing but the ``uploaded`` lines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.adapters.object_store import S3ObjectStore

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.ingestion.uploads import DatasetFolder

MiB = 1 << 20
MULTIPART_THRESHOLD = 16 * MiB
MULTIPART_CHUNK = 16 * MiB  # S3: parts of at least 5 MiB, at most 10,000 of them (156 GiB here)


class ProgressObjectStore(S3ObjectStore):
    """S3ObjectStore whose ``put_file`` is multipart above ``threshold`` and draws a progress bar on
    ``console`` when it is a terminal."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        s3_client: Any | None = None,
        threshold: int = MULTIPART_THRESHOLD,
        chunk: int = MULTIPART_CHUNK,
        concurrency: int = 8,
    ) -> None:
        super().__init__(s3_client)
        self._console = console
        self._threshold, self._chunk, self._concurrency = threshold, chunk, concurrency

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/x-ndjson") -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self._threshold,
            multipart_chunksize=self._chunk,
            max_concurrency=self._concurrency,
        )
        with self._progress(key, path.stat().st_size) as callback:
            self.client.upload_file(
                str(path),
                bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=config,
                Callback=callback,
            )

    @contextlib.contextmanager
    def _progress(self, key: str, size: int) -> Iterator[Callable[[int], None] | None]:
        if self._console is None or not self._console.is_terminal:
            yield None
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self._console, transient=True) as bar:
            task = bar.add_task(key.rsplit("/", 1)[-1], total=size)
            yield lambda sent: bar.update(task, advance=sent)  # thread-safe: rich locks the task


def edge_files(dataset: DatasetFolder) -> list[Path]:
    """The edge section's model and golden inputs that are in the folder: uploaded beside job.json
    (before it), where the edge export reads them. One not in the folder must already be there."""
    edge = dataset.spec.edge
    if edge is None:
        return []
    names = [edge.model] + ([edge.golden] if edge.golden else [])
    return [dataset.path / name for name in names if (dataset.path / name).is_file()]


def content_type_for(path: Path) -> str:
    return "application/json" if path.suffix == ".json" else "application/octet-stream"
