"""Reserved strings: Nova's prompt template uses them, so a training job fails when user or
system text contains one (aws-facts §3).

Exact and case-correct: ``User:`` and ``USER:`` are reserved, ``user:`` in prose is not (AWS's
own sample validator gets this wrong both ways). The check runs on every record, so it is built
for speed. Every reserved string contains ``:``, ``<`` or ``[``, and ``in`` finds one character
with ``memchr``; plain substring search for a whole token is ~20x slower on this machine. So for
each occurrence of the character (``find``, memchr again) one C-level ``startswith`` /
``endswith`` tests all the tokens anchored there. Text with very many colons is searched once
with a regex over the *reversed* text instead, where every pattern starts with the literal ``:``.
"""

from __future__ import annotations

import re

_WORDS = ("User", "Bot", "Assistant", "System", "Thought")
COLON_WORDS = tuple(f"{w}:" for w in _WORDS) + tuple(f"{w.upper()}:" for w in _WORDS)
ANGLE = ("<image>", "<video>", "<IMAGE>", "<VIDEO>")
RESERVED: tuple[str, ...] = (*COLON_WORDS, *ANGLE, "[EOS]")

_LAST_LETTERS = frozenset(w[-2] for w in COLON_WORDS)  # r, t, m, R, T, M: what precedes the colon
_COLON_REVERSED = re.compile(":(?:" + "|".join(re.escape(w[:-1][::-1]) for w in COLON_WORDS) + ")")
_MANY = 32  # past this many colons in one text, one regex pass is cheaper than find()


def _colon_word(text: str) -> bool:
    at = text.find(":")
    seen = 0
    while at >= 0:
        if text[at - 1] in _LAST_LETTERS and text.endswith(COLON_WORDS, 0, at + 1):
            return True
        seen += 1
        if seen > _MANY:
            return _COLON_REVERSED.search(text[::-1]) is not None
        at = text.find(":", at + 1)
    return False


def _starts_at(text: str, char: str, tokens: tuple[str, ...]) -> bool:
    at = text.find(char)
    while at >= 0:
        if text.startswith(tokens, at):
            return True
        at = text.find(char, at + 1)
    return False


def has_reserved(text: str) -> bool:
    """Whether ``text`` contains any reserved string (exact case)."""
    return (
        (":" in text and _colon_word(text))
        or ("<" in text and _starts_at(text, "<", ANGLE))
        or ("[" in text and _starts_at(text, "[", ("[EOS]",)))
    )


def all_reserved(text: str) -> list[str]:
    """Every reserved string in ``text``, in catalogue order (for messages; not on the hot path)."""
    return [token for token in RESERVED if token in text]


def first_reserved(text: str) -> str | None:
    """One reserved string in ``text``, or None."""
    if not has_reserved(text):
        return None
    found = all_reserved(text)
    return found[0] if found else None
