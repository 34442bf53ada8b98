"""Holds a handler puts on its own messages (``ChangeMessageVisibility``), seen by the dispatcher.

On AWS a handler may keep a received message invisible for longer than the queue's visibility
timeout — Tailor's submission function does, to wait for a free customization slot — and Lambda
leaves that visibility alone when it reports the record as failed. Locally every timeout is scaled
by ``time_scale``, so the dispatcher must know the hold to release the message at ``hold x
time_scale`` instead of at the queue's scaled timeout. moto's server runs in this process: while a
stack runs, ``install`` wraps moto's ``SQSBackend.change_message_visibility`` (the batch call goes
through it too) to report each change to one observer; ``uninstall`` restores it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install", "installed", "uninstall"]

Observer = Callable[[str, int], None]

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def installed() -> bool:
    return "original" in _STATE


def install(observer: Observer) -> None:
    """Report every ``ChangeMessageVisibility`` (receipt handle, seconds) to ``observer``."""
    from moto.sqs.models import SQSBackend

    with _LOCK:
        if "original" not in _STATE:
            original = SQSBackend.change_message_visibility

            def change_message_visibility(
                self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
            ) -> None:
                original(self, queue_name, receipt_handle, visibility_timeout)
                current = _STATE.get("observer")
                if current is not None:
                    current(receipt_handle, int(visibility_timeout))

            _STATE["original"] = original
            SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
        _STATE["observer"] = observer


def uninstall() -> None:
    from moto.sqs.models import SQSBackend

    with _LOCK:
        original = _STATE.pop("original", None)
        _STATE.pop("observer", None)
        if original is not None:
            SQSBackend.change_message_visibility = original  # type: ignore[method-assign]
