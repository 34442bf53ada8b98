"""One error type for every backend call (Bedrock, the Kubernetes API): what the caller does next.

``kind`` sorts it once, in the adapter: ``retry`` (throttling, 5xx, auth that may heal: the message
is retried), ``quota`` (no capacity now: wait longer), ``conflict`` (the name is taken) or ``fatal``
(a finding about the request: the run is refused with the message and ``hint``).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    RETRY = "retry"
    QUOTA = "quota"
    CONFLICT = "conflict"
    FATAL = "fatal"


class BackendCallError(RuntimeError):
    def __init__(self, code: str, message: str, kind: ErrorKind, hint: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind
        self.hint = hint
