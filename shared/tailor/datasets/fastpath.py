"""The fast path for conversation records: most records in real datasets have one shape (text
items only, one per message, user/assistant pairs) and break no rule. For them this one function
is the whole check; everything else goes to the thorough checks in ``conversation``.

Why it is written this way: the per-record budget is a few microseconds, CPython spends ~30 ns
per bytecode, and orjson's dicts must be walked in Python. So the walk touches each message once,
lets exceptions (missing key, wrong type, wrong count on unpacking) stand for most checks, and
does the per-text checks on one joined string with C-level calls (``min``, ``isascii``, ``in``).
One loop over the messages, with the expected role toggled, measured cheaper than walking them in
(user, assistant) pairs with ``zip`` (benchmarks/README.md): the walk is ~1 µs of a ~5.5 µs
record, orjson's parse ~2.6 µs.
"""

from __future__ import annotations

from typing import Any

from tailor.datasets import tokens
from tailor.datasets.reserved import has_reserved

SCHEMA_VERSION = "bedrock-conversation-2024"

_isspace = str.isspace


def plain_text(record: Any, prompts_only: bool) -> tuple[int, int] | None:
    """The fast path. For a record of the most common shape (text items only, one per message,
    user/assistant pairs) that breaks no rule: its text's UTF-8 size and a digest of its content
    (for duplicate detection: insensitive to key order and spacing). Otherwise None, and the
    thorough ``ConversationChecker.check`` decides and explains. It never accepts what ``check``
    would reject: any surprise (missing key, wrong type, extra item) lands in the except clause
    or a ``return None``.
    """
    if type(record) is not dict:
        return None
    messages = record.get("messages")
    if type(messages) is not list:
        return None
    try:
        texts: list[str] = []
        keys = len(record)
        if keys != 1:
            if (
                keys != 1 + ("system" in record) + ("schemaVersion" in record)
                or record.get("schemaVersion", SCHEMA_VERSION) != SCHEMA_VERSION
            ):
                return None
            system = record.get("system")
            if system is not None:
                if type(system) is not list:  # iterating a dict or str would "work" and hide the error
                    return None
                for item in system:
                    if len(item) != 1:
                        return None
                    texts.append(item["text"])
        prompts = len(texts)
        append = texts.append
        role = "user"  # the role the next message must have
        for message in messages:
            if message["role"] != role:
                return None
            role = "assistant" if role == "user" else "user"
            (item,) = message["content"]
            if len(item) != 1:
                return None
            append(item["text"])
        # No message at all, or a final prompt without an answer (distillation only).
        if len(texts) == prompts or (role == "assistant" and not prompts_only):
            return None
        joined = "\x00".join(texts)  # TypeError unless every text is a str
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    # min() is the empty text if there is one; a whitespace-only ASCII text starts with a
    # character <= " ", and so does the minimum: one C-level pass instead of one call per text.
    smallest = min(texts)
    ascii_only = joined.isascii()
    if (
        not smallest
        or ((smallest[0] <= " " or not ascii_only) and any(map(_isspace, texts)))
        or has_reserved(joined)
    ):
        return None
    size = len(joined) if ascii_only else tokens.text_bytes(joined)
    return size - len(texts) + 1, hash((prompts, joined))
