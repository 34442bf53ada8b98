"""Token estimate. There is no public Nova tokenizer, so this is an estimate with a stated bound.

Text: one token per 4 UTF-8 bytes, rounded up. For English prose, BPE tokenizers of Nova's
generation produce about one token per 4-5 characters, so the estimate is usually a little high;
code, numbers and rare words run nearer one token per 3 characters, where it can be ~25% low.
Counting UTF-8 bytes (not characters) keeps non-Latin scripts honest: a CJK character (3 bytes)
counts 0.75 token. Media: a fixed, deliberately generous allowance per item (unverified).

Because the estimate can be ~25% low or ~20% high, records are *warned* above ``WARN_RATIO`` of
the context and *rejected* only above ``REJECT_RATIO`` of it, where even the most favourable
real count is over the limit.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4
IMAGE_TOKENS = 1_600
VIDEO_TOKENS = 8_000
DOCUMENT_TOKENS = 4_000
WARN_RATIO = 0.8
REJECT_RATIO = 1.25


def text_bytes(text: str) -> int:
    """UTF-8 length without encoding ASCII text (``isascii`` is O(1) in CPython)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def tokens_for_bytes(size: int) -> int:
    return (size + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def estimate(text: str) -> int:
    return tokens_for_bytes(text_bytes(text))


def thresholds(context_tokens: int) -> tuple[int, int]:
    """(warn above, reject above) for a context size."""
    return int(context_tokens * WARN_RATIO), int(context_tokens * REJECT_RATIO)
