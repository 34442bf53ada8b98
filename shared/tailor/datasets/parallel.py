"""Validate one large local file on several cores, with the same report as a sequential scan.

One CPython process checks roughly 150,000 conversation records a second, and parsing is most
of that: a single core cannot go much faster. A large local file is therefore cut into byte
ranges at line starts, and forked workers scan one range each with their own checker, numbering
lines from 1. The parent merges the partial results in file order: it shifts each worker's line
numbers by the lines of the ranges before it, adds counts, keeps the first issues, reports the
duplicates (within and across ranges: workers defer theirs, see ``Deduper``), merges media
tallies and token totals, and then runs the dataset-level checks once.

Used only for local files on platforms with ``fork`` (the ingestion Lambda reads S3 objects
sequentially). ``TAILOR_VALIDATE_WORKERS=1`` turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from tailor.datasets.conversation import ConversationChecker
from tailor.datasets.cpt import CptChecker
from tailor.datasets.lines import SNIFF_BYTES, LineBatcher, compressed_format
from tailor.datasets.plan import Checker, CheckerSpec
from tailor.datasets.report import IssueCollector
from tailor.datasets.scan import MAX_PARTS, FileScan
from tailor.datasets.source import DatasetSource, iter_file_range

PARALLEL_MIN_BYTES = 32 << 20  # below this, forking costs more than it saves
MIN_RANGE_BYTES = 8 << 20
MAX_WORKERS = 8
ENV_WORKERS = "TAILOR_VALIDATE_WORKERS"


def default_workers() -> int:
    """Worker processes for a large local file: the usable cores (capped), or the env override."""
    configured = os.environ.get(ENV_WORKERS)
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            return 1
    if not hasattr(os, "fork"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def plan_ranges(path: Path, size: int, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that cover the file, each starting at the start of a line."""
    cuts = [0]
    with path.open("rb") as handle:
        for part in range(1, parts):
            start = max(size * part // parts, cuts[-1])
            at = _next_line_start(handle, start, size)
            if at >= size:
                break
            if at > cuts[-1]:
                cuts.append(at)
    cuts.append(size)
    return list(pairwise(cuts))


def _next_line_start(handle: BinaryIO, offset: int, size: int, chunk: int = 1 << 16) -> int:
    """The offset just past the first newline at or after ``offset`` (``size`` if none), read in
    bounded chunks: ``readline()`` would load a newline-free file whole into memory."""
    handle.seek(offset)
    position = offset
    while position < size:
        block = handle.read(chunk)
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return size


# spec, path, display name, start, end, part, detail limit
_Task = tuple[CheckerSpec, str, str, int, int, int, int | None]


def _scan_part(task: _Task) -> tuple[FileScan, IssueCollector, Checker, int]:
    """Scan one range, numbering its lines from 1; returns the number of lines too."""
    spec, path, file, start, end, part, limit = task
    issues = IssueCollector(limit)  # the parent's limit: it keeps what the sequential scan would
    checker = spec.build(issues, part=part)
    batcher = LineBatcher(iter_file_range(Path(path), start, end), strip_bom=start == 0)
    scan = checker.scan(file, batcher)
    return scan, issues, checker, batcher.lines_done


def scan_parallel(
    source: DatasetSource,
    spec: CheckerSpec,
    checker: Checker,
    issues: IssueCollector,
    progress: Callable[[int], None] | None,
    workers: int,
) -> FileScan:
    """Scan ``source`` (a local file) with ``workers`` processes, merging into ``checker``/``issues``."""
    import multiprocessing

    path = Path(str(source.path))
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if compressed_format(head) is not None:
        # Workers would parse the archive's bytes as lines: the sequential scan stops at once.
        return checker.scan(source.display, LineBatcher(source.iter_chunks(), progress=progress))
    # One range per worker: merging digests is cheapest that way (see Deduper.absorb).
    ranges = plan_ranges(path, size, max(1, min(workers, size // MIN_RANGE_BYTES, MAX_PARTS)))
    tasks: list[_Task] = [
        (spec, str(path), source.display, start, end, part, issues.detail_limit)
        for part, (start, end) in enumerate(ranges)
    ]
    total = FileScan(file=source.display)
    offset = 0
    with multiprocessing.get_context("fork").Pool(processes=min(workers, len(ranges))) as pool:
        for part, ((scan, part_issues, part_checker, lines), (start, end)) in enumerate(
            zip(pool.imap(_scan_part, tasks), ranges, strict=True)
        ):
            issues.absorb(part_issues, offset)
            _absorb(checker, part_checker, offset, last=part == len(ranges) - 1)
            total.absorb(scan, offset)
            offset += lines
            if progress is not None:
                progress(end - start)
    return total


def _absorb(checker: Checker, part: Checker, offset: int, *, last: bool) -> None:
    if isinstance(checker, ConversationChecker) and isinstance(part, ConversationChecker):  # noqa: SIM114 (narrowing)
        checker.absorb(part, offset, last=last)
    elif isinstance(checker, CptChecker) and isinstance(part, CptChecker):
        checker.absorb(part, offset, last=last)
    else:  # pragma: no cover - both come from the same CheckerSpec
        raise TypeError(f"cannot merge a {type(part).__name__} into a {type(checker).__name__}")
