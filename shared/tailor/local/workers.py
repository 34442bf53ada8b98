"""Lambda execution environments as worker processes, for the dispatcher's concurrent mode.

In-process, the dispatcher gives each function its own ``os.environ``, ``sys.path``, sibling
modules and stdout — all process-wide, so only one handler can run at a time. A worker is one
execution environment in a child process instead: the function's environment is the process's
own, its code directory heads ``sys.path``, it imports the handler once (the cold start) and then
runs invocations one at a time (warm starts), as a Lambda instance does. Handlers reach the local
stack's moto server over HTTP (``AWS_ENDPOINT_URL``), exactly as in-process.

The protocol is JSON lines: the parent writes requests to the child's stdin; the child answers on
a duplicate of its original stdout (fd 1 itself then points at stderr, so nothing a handler or a C
extension prints can corrupt it). Every line the handler prints is sent as it happens
(``{"log": ...}``), so an invocation killed at its timeout keeps its log, as CloudWatch does.

    parent → child: {"init": {function fields}} then {"event": ..., "timeout": s}
    child → parent: {"log": line}* then {"ready": true} | {"result": response} | {"error": text}
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import select
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

__all__ = ["FunctionWorker", "Invocation", "main"]

#: Lambda's init phase may take 10 s; a loaded CI machine importing Powertools needs more headroom.
INIT_TIMEOUT = 120.0


@dataclass
class Invocation:
    response: Any
    error: str | None
    elapsed: float


class FunctionWorker:
    """A child process playing one execution environment of ``function`` (parent side).

    ``on_log(line)`` receives every line the handler prints, as it prints it. Not thread-safe: the
    dispatcher hands a worker to one invocation at a time (a pool per function).
    """

    def __init__(
        self,
        *,
        name: str,
        arn: str,
        handler: str,
        code_dir: Path,
        timeout: int,
        memory_size: int,
        environment: Mapping[str, str],
        on_log: Callable[[str], None],
    ) -> None:
        self.name = name
        self.on_log = on_log
        env = dict(environment)
        # The child finds tailor.local.workers (and every package the parent has) on the parent's path.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from tailor.local.workers import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._ready = False
        self._buffer = bytearray()  # read from the pipe, not yet a complete line
        self._send(
            {
                "init": {
                    "name": name,
                    "arn": arn,
                    "handler": handler,
                    "code_dir": str(code_dir),
                    "timeout": timeout,
                    "memory_size": memory_size,
                }
            }
        )

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def invoke(self, event: Any, *, timeout: float | None) -> Invocation:
        """Run one invocation; a timed-out, crashed or failed-to-init worker is dead afterwards."""
        started = time.monotonic()
        if not self.alive:
            return Invocation(None, self._exit_error("before the invocation"), 0.0)
        if not self._ready:
            reply = self._read(INIT_TIMEOUT)
            if reply is None or "error" in reply:
                self.close()
                error = reply["error"] if reply else self._exit_error("during init")
                return Invocation(None, error, time.monotonic() - started)
            self._ready = True
        started = time.monotonic()
        try:
            self._send({"event": event, "timeout": timeout})
        except (OSError, ValueError):  # the pipe is gone: the child exited
            return Invocation(None, self._exit_error("before the invocation"), 0.0)
        reply = self._read(timeout)
        elapsed = time.monotonic() - started
        if reply is None:
            if self.alive:  # still running at its deadline: Lambda stops the environment
                self.close()
                return Invocation(
                    None, f"Task timed out after {elapsed:.2f} seconds (Timeout is {timeout:g} s)", elapsed
                )
            return Invocation(None, self._exit_error("during the invocation"), elapsed)
        if "error" in reply:
            return Invocation(None, str(reply["error"]), elapsed)
        return Invocation(reply.get("result"), None, elapsed)

    def close(self) -> None:
        if self.alive:
            self._process.kill()
        with contextlib.suppress(Exception):
            self._process.wait(timeout=10)
        for stream in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]

    # -- the pipe -------------------------------------------------------------------------------------

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        self._process.stdin.flush()

    def _read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next non-log reply, passing log lines on; None at the deadline or if the child died.

        Reads the pipe's fd directly: a buffered reader would hide lines it has already read from
        ``select``."""
        stdout = self._process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                reply: dict[str, Any] = json.loads(line)
                if "log" in reply:
                    self.on_log(str(reply["log"]))
                    continue
                return reply
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                    return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk

    def _exit_error(self, when: str) -> str:
        code = self._process.wait(timeout=10) if not self.alive else None
        return f"Runtime.ExitError: the execution environment exited {when} (exit code {code})"


# -- the child ----------------------------------------------------------------------------------------


class _Replies:
    """The child's reply stream; log lines may come from any thread of the handler."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: Mapping[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self._lock:
            self._stream.write(data)
            self._stream.flush()


class _LogStream(io.TextIOBase):
    """sys.stdout and sys.stderr of the child: each complete line goes to the parent."""

    def __init__(self, replies: _Replies) -> None:
        super().__init__()
        self._replies = replies
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self._replies.send({"log": line})
        return len(text)

    def flush(self) -> None:
        with self._lock:
            partial, self._partial = self._partial, ""
        if partial:
            self._replies.send({"log": partial})


def _load_handler(init: Mapping[str, Any]) -> Callable[[Any, Any], Any]:
    module_path, _, attribute = str(init["handler"]).rpartition(".")
    if not module_path or not attribute:
        raise ImportError(f"Handler {init['handler']!r} is not 'module.function'")
    module = importlib.import_module(module_path)
    handler = getattr(module, attribute, None)
    if handler is None or not callable(handler):
        raise ImportError(f"{module_path}.{attribute} is not a function")
    return handler  # type: ignore[no-any-return]


def main() -> None:
    """The child's loop: init once, then one invocation per request until stdin closes."""
    from tailor.local.lambda_context import LambdaContext

    requests = sys.stdin.buffer
    replies = _Replies(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)  # a stray write to fd 1 lands on stderr, never in the reply stream
    log = _LogStream(replies)
    sys.stdout = sys.stderr = log

    init = json.loads(requests.readline())["init"]
    # The function's code first, as in /var/task; not `-c`'s working directory.
    sys.path[:] = [init["code_dir"], *(p for p in sys.path if p)]
    function = SimpleNamespace(
        name=init["name"], arn=init["arn"], memory_size=init["memory_size"], timeout=init["timeout"]
    )
    try:
        handler = _load_handler(init)
    except Exception as error:
        log.flush()
        replies.send({"error": f"Runtime.ImportModuleError: {error}\n{traceback.format_exc()}"})
        return
    log.flush()
    replies.send({"ready": True})

    while line := requests.readline():
        request = json.loads(line)
        context = LambdaContext(function)
        reply: dict[str, Any]
        try:
            response = handler(request["event"], context)
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"}
        else:
            try:
                json.dumps(response)
            except (TypeError, ValueError) as error:
                reply = {"error": f"Runtime.MarshalError: the response is not JSON serializable: {error}"}
            else:
                reply = {"result": response}
        log.flush()
        replies.send(reply)
