"""One moto request at a time while the local stack runs, as AWS applies each request atomically.

moto's backends take no locks: two requests in its threaded server can interleave a DynamoDB
condition check with another request's write, or an idempotent create's lookup with another
create — races AWS never lets through. Once handlers run concurrently (the dispatcher's worker
processes, or two consumers in a fault test) that would make the local stack lose updates AWS
keeps. ``install`` wraps moto's WSGI application in a process-wide lock; ``uninstall`` restores it.

It also caches moto's list of service modules, which its server otherwise reads off the disk on
every request (``os.listdir`` + ``isdir`` of ~150 folders): with every request serialized, that
per-request cost would be everyone's wait.

A long poll (SQS ``ReceiveMessage`` with ``WaitTimeSeconds`` > 0, ``tailor tail``) waits inside
moto for a message that only another request can send: it runs outside the lock.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from typing import Any

__all__ = ["exclusive", "install", "installed", "uninstall"]

_LOCK = threading.Lock()  # guards _STATE
_REQUESTS = threading.RLock()  # one moto request at a time
_STATE: dict[str, Any] = {}


def installed() -> bool:
    return "original" in _STATE


def exclusive() -> contextlib.AbstractContextManager[Any]:
    """Hold moto still (no request runs) while this process changes a backend directly, as the
    simulators do. Never call moto over HTTP inside: that request would wait for this lock."""
    return _REQUESTS


def _is_long_poll(environ: dict[str, Any]) -> bool:
    if environ.get("HTTP_X_AMZ_TARGET") != "AmazonSQS.ReceiveMessage":
        return False
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
    try:
        wait = json.loads(body or b"{}").get("WaitTimeSeconds", 0)
    except ValueError:
        return False
    return isinstance(wait, int) and wait > 0


def install() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    with _LOCK:
        if "original" in _STATE:
            return
        from moto import backends

        original = DomainDispatcherApplication.__call__
        listing = backends.list_of_moto_modules
        modules = tuple(listing())

        def serialized(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
            if _is_long_poll(environ):
                return original(self, environ, start_response)
            with _REQUESTS:
                return original(self, environ, start_response)

        _STATE["original"] = original
        _STATE["listing"] = listing
        backends.list_of_moto_modules = lambda: modules
        DomainDispatcherApplication.__call__ = serialized  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    with _LOCK:
        original = _STATE.pop("original", None)
        listing = _STATE.pop("listing", None)
        if listing is not None:
            from moto import backends

            backends.list_of_moto_modules = listing
        if original is not None:
            DomainDispatcherApplication.__call__ = original  # type: ignore[method-assign]
