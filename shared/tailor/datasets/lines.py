"""Split a stream of byte chunks into lines, in constant memory and at C speed.

``streams()`` yields one ``io.BytesIO`` per chunk, cut at the chunk's last newline; iterating it
gives the lines (``readline`` is memchr-based C code, and each line is freed before the next is
made, which keeps the allocator warm: ``bytes.split`` is several times slower here). Lines keep
their ``\\n`` (and a CRLF file's ``\\r``): both are JSON whitespace, so parsers accept them.

Consumers number the lines themselves and store the number of the last line they have read in
``lines_done`` after each stream; that is how the batcher places its own observations.

Hygiene is observed per chunk, never per line: a compressed file (gzip, zip, ...) is recognised
by its first bytes and not read further, a leading UTF-8 byte-order mark is removed (and
noted), CR bytes are counted (a raw CR can only be a line ending: inside JSON strings it is
escaped), and a line longer than ``max_line`` is never held in memory: it is replaced by an
``OVERSIZE`` marker line that records its length.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 64 << 20  # 64 MiB: no valid record is near this; a file without newlines is
OVERSIZE = b"\x00oversize-line:"  # + length + newline; never valid JSON, so it takes the error path


# Magic numbers of the archives people upload instead of the .jsonl inside. None of these bytes
# can start JSON text (whitespace, { [ " digit - t f n), so a match is never a false alarm.
COMPRESSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
SNIFF_BYTES = max(len(magic) for magic, _ in COMPRESSED_MAGIC)


def compressed_format(head: bytes) -> str | None:
    """The compression format whose magic number starts ``head`` (a file's first bytes), if any."""
    for magic, name in COMPRESSED_MAGIC:
        if head.startswith(magic):
            return name
    return None


def oversize_length(line: bytes) -> int | None:
    """The original length if ``line`` is an ``OVERSIZE`` marker."""
    if line.startswith(OVERSIZE):
        return int(line[len(OVERSIZE) :].strip())
    return None


class LineBatcher:
    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        progress: Callable[[int], None] | None = None,
        max_line: int = MAX_LINE_BYTES,
        strip_bom: bool = True,
    ) -> None:
        self._chunks = chunks
        self._progress = progress
        # False for the later parts of a file split for a parallel scan: only a file's start has a
        # byte-order mark or a magic number.
        self._strip_bom = strip_bom
        self.max_line = max_line
        self.bytes_read = 0
        self.had_bom = False
        self.compressed: str | None = None  # the format, when the file is compressed: not read
        self.cr_lines = 0  # lines ending in CRLF
        self.first_cr_line: int | None = None
        self.lines_done = 0  # kept current by the consumer: number of the last line read

    def _stream(self) -> Iterator[bytes]:
        """The chunks with a leading BOM removed (looked for across tiny first chunks too); none
        at all for a compressed file (every "line" of it would be an error)."""
        head = b""
        chunks = iter(self._chunks)
        progress = self._progress
        for chunk in chunks:
            self.bytes_read += len(chunk)
            if progress is not None:
                progress(len(chunk))
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        if self._strip_bom:
            self.compressed = compressed_format(head)
            if self.compressed is not None:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # release the file or the S3 stream now: nothing more is read
                return
            if head.startswith(BOM):
                self.had_bom = True
                head = head[len(BOM) :]
        if head:
            yield head
        for chunk in chunks:
            self.bytes_read += len(chunk)
            if progress is not None:
                progress(len(chunk))
            yield chunk

    def streams(self) -> Iterator[io.BytesIO]:
        max_line = self.max_line
        pending: list[bytes | memoryview] = []  # pieces of a line that spans chunks
        pending_len = 0
        skipping = False  # inside an oversize line: drop bytes until its newline
        for chunk in self._stream():
            cut = chunk.rfind(b"\n")
            if cut < 0:  # no newline in this chunk: the current line goes on
                pending_len += len(chunk)
                if not skipping:
                    pending.append(chunk)
                    if pending_len > max_line:
                        pending, skipping = [], True
                continue
            end = cut + 1
            # The body is copied once at most (each ~64 KiB copy costs 0.5-1% of a scan): joined
            # from views of the chunk, or sliced from it.
            if skipping or pending:
                first = chunk.find(b"\n") + 1
                if skipping or pending_len + first > max_line:
                    marker = OVERSIZE + b"%d\n" % (pending_len + first - 1)
                    body = b"".join((marker, memoryview(chunk)[first:end]))
                else:
                    pending.append(memoryview(chunk)[:end])
                    body = b"".join(pending)
                pending, skipping = [], False
            else:
                body = chunk if end == len(chunk) else chunk[:end]
            pending_len = len(chunk) - end
            if pending_len:
                pending.append(chunk[end:])
            if b"\r" in body:  # memchr: cheap when absent, the common case
                self._count_cr(body)
            yield io.BytesIO(body)
        if skipping:
            yield io.BytesIO(OVERSIZE + b"%d\n" % pending_len)
        elif pending:
            # The last line lacks a newline: add one so that it hashes like any other line.
            last = b"".join(pending) + b"\n"
            if b"\r" in last:
                self._count_cr(last)
            yield io.BytesIO(last)

    def _count_cr(self, body: bytes) -> None:
        if self.first_cr_line is None:
            at = body.find(b"\r")
            self.first_cr_line = self.lines_done + body.count(b"\n", 0, at) + 1
        self.cr_lines += body.count(b"\r")
