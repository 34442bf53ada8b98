"""Media referenced by a dataset in S3: exists, within size limits, and really of the declared
format (sniffed from the first bytes with one ranged GET; the object is never downloaded).

Each distinct object is probed once (HEAD + ranged GET) on a small thread pool; only a compact
verdict is kept per object, so memory stays small whatever the number of images.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tailor.adapters.object_store import ObjectNotFoundError, ObjectStore, ObjectUnreadableError
from tailor.datasets.codes import IssueCode
from tailor.datasets.conversation import MediaRef
from tailor.datasets.report import IssueCollector
from tailor.jobs.catalog import MediaRules

HEADER_BYTES = 4096  # enough for every magic number and, usually, a JPEG's frame header
MAX_WORKERS = 16

# Declared formats that the same container can honestly carry (mov/mp4 are both ISO BMFF,
# webm is a Matroska profile): only a different family is a mismatch.
_FAMILY = {
    "png": "png",
    "jpeg": "jpeg",
    "gif": "gif",
    "webp": "webp",
    "mp4": "isobmff",
    "mov": "isobmff",
    "mkv": "matroska",
    "webm": "matroska",
    "pdf": "pdf",
}
_ISO_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff(header: bytes) -> str | None:
    """The format the bytes really are (one of _FAMILY's keys), or None if unrecognised."""
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if header.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "webp"
    if header[4:8] in _ISO_ATOMS:
        return "mov" if header[4:8] == b"ftyp" and header[8:12] == b"qt  " else "mp4"
    if header.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in header[:64] else "mkv"
    if header.startswith(b"%PDF-"):
        return "pdf"
    return None


def image_size(header: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) from an image's first bytes, when they hold it."""
    try:
        if kind == "png" and header[12:16] == b"IHDR":
            width, height = struct.unpack(">II", header[16:24])
            return int(width), int(height)
        if kind == "gif":
            width, height = struct.unpack("<HH", header[6:10])
            return int(width), int(height)
        if kind == "webp":
            return _webp_size(header)
        if kind == "jpeg":
            return _jpeg_size(header)
    except struct.error:
        return None
    return None


def _webp_size(header: bytes) -> tuple[int, int] | None:
    chunk = header[12:16]
    if chunk == b"VP8 " and header[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", header[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and header[20:21] == b"\x2f":
        bits = int.from_bytes(header[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(header[24:27], "little") + 1, int.from_bytes(header[27:30], "little") + 1
    return None


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(header: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(header):
        if header[at] != 0xFF:
            return None
        marker = header[at + 1]
        if marker in _SOF:
            height, width = struct.unpack(">HH", header[at + 5 : at + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", header[at + 2 : at + 4])
        at += 2 + length
    return None  # frame header beyond the bytes read: not checked


@dataclass(frozen=True, slots=True)
class Probe:
    """What one object turned out to be; ``problem`` set when it could not be read."""

    size: int = 0
    sniffed: str | None = None
    dimensions: tuple[int, int] | None = None
    missing: bool = False
    problem: str | None = None


def probe(store: ObjectStore, bucket: str, key: str) -> Probe:
    """Only findings (missing, access denied, archived) become a Probe; a transient S3 error
    (SlowDown, 5xx, timeout) propagates: the message is retried, the dataset is not rejected."""
    try:
        info = store.head(bucket, key)
        if info is None:
            return Probe(missing=True)
        header = store.get_range(bucket, key, 0, HEADER_BYTES, version_id=info.pinned_version)
    except ObjectNotFoundError:  # deleted between the HEAD and the GET
        return Probe(missing=True)
    except ObjectUnreadableError as error:
        return Probe(problem=error.reason)
    kind = sniff(header)
    return Probe(size=info.size, sniffed=kind, dimensions=image_size(header, kind) if kind else None)


def check_media(
    refs: Iterable[MediaRef],
    store: ObjectStore,
    rules: MediaRules,
    issues: IssueCollector,
    *,
    workers: int = MAX_WORKERS,
) -> int:
    """Probe every distinct object once and report on each line that references it.
    Returns the number of distinct objects probed."""
    refs = list(refs)
    objects = list(dict.fromkeys((ref.bucket, ref.key) for ref in refs))
    if not objects:
        return 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(objects)))) as pool:
        probes = dict(zip(objects, pool.map(lambda o: probe(store, o[0], o[1]), objects), strict=True))
    for ref in refs:
        _judge(ref, probes[(ref.bucket, ref.key)], rules, issues)
    return len(objects)


def _judge(ref: MediaRef, found: Probe, rules: MediaRules, issues: IssueCollector) -> None:
    uri = f"s3://{ref.bucket}/{ref.key}"
    if found.missing:
        issues.error(
            IssueCode.MEDIA_LOCATION,
            ref.file,
            ref.line,
            f"{ref.kind} {uri} does not exist",
            "upload the file, or fix the URI",
        )
        return
    if found.problem is not None:
        issues.error(
            IssueCode.MEDIA_LOCATION,
            ref.file,
            ref.line,
            f"{ref.kind} {uri} cannot be read ({found.problem})",
            "the Bedrock service role needs s3:GetObject on it, and so does Tailor",
        )
        return
    limit = {"image": rules.max_image_bytes, "video": rules.max_video_bytes}.get(
        ref.kind, rules.max_document_bytes
    )
    if found.size > limit:
        issues.error(
            IssueCode.MEDIA_LIMIT,
            ref.file,
            ref.line,
            f"{ref.kind} {uri} is {found.size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB",
        )
    if ref.format is not None and _FAMILY.get(found.sniffed or "") != _FAMILY[ref.format]:
        what = f"a {found.sniffed} file" if found.sniffed else "not a recognised media file"
        issues.error(
            IssueCode.MEDIA_FORMAT,
            ref.file,
            ref.line,
            f"{ref.kind} {uri} is declared {ref.format!r} but its content is {what}",
        )
        return
    if ref.kind == "image" and found.dimensions is not None:
        width, height = found.dimensions
        if min(width, height) < rules.min_image_side_px:
            issues.error(
                IssueCode.MEDIA_LIMIT,
                ref.file,
                ref.line,
                f"image {uri} is {width}x{height} px; sides must be {rules.min_image_side_px} px or more",
            )
