"""The dispatcher: plays AWS Lambda for every function with an SQS event source.

For each event-source mapping it receives up to ``BatchSize`` messages from the queue, builds the
event Lambda would (``{"Records": [...]}`` with ``messageId``, ``receiptHandle``, ``body``,
``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource``, ``eventSourceARN``,
``awsRegion``) and calls the handler in-process, with the function's environment and a Lambda
context. Then, as Lambda does:

- success → the batch is deleted; with ``ReportBatchItemFailures`` only the records not listed in
  ``batchItemFailures`` are deleted (an invalid response fails the whole batch, as on AWS);
- an exception, a timeout or an import error → nothing is deleted;
- failed messages become visible again after the queue's visibility timeout x ``time_scale``
  (SQS only takes whole seconds, so the dispatcher releases them itself, possibly sub-second) —
  or, when the handler held one itself (``ChangeMessageVisibility`` on its receipt handle during
  the invocation, ``tailor.local.sqs_holds``), after that hold x ``time_scale``, as on AWS where
  Lambda leaves a failed record's visibility alone — and SQS (moto) moves them to the
  dead-letter queue once ``maxReceiveCount`` is exceeded.

Handlers are imported from ``CodeUri`` + ``Handler`` under a module name unique to the stack and
function (every service has an ``app.py``), with the function's directory first on ``sys.path``
and its sibling modules kept apart from other functions'. Whatever a handler prints (Powertools
logs, EMF metrics) goes to that function's log, as CloudWatch Logs would (``LocalStack.logs``).

Concurrent mode (``concurrent=True``) plays Lambda's scaling instead of one batch at a time: each
event source gets its own poller thread(s) with one batch in flight each, and handlers run in
worker processes (``tailor.local.workers``: one execution environment per process, pooled per
function, warm after the first call), so a backlog on one queue does not stall the others and
handlers use more than one core. The in-process mode stays the default: tests can monkeypatch a
handler's modules there, which a worker process would not see.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from tailor.local.lambda_context import LambdaContext
from tailor.local.moto_gaps import EventRepairs
from tailor.local.provision import EventSourceInfo, FunctionInfo, QueueInfo
from tailor.local.workers import FunctionWorker

__all__ = ["Dispatcher", "DispatcherTimeoutError", "FunctionLog", "IdleSummary", "LambdaContext"]


#: Concurrent mode: the longest wait of an idle poller between two receives (seconds).
POLLER_BACKOFF_MAX = 0.2


class DispatcherTimeoutError(TimeoutError):
    """``run_until_idle`` did not reach idle in time; the message says what was still pending."""


class FunctionLog(io.TextIOBase):
    """A function's log stream: what the handler printed, line by line (optionally echoed)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.lines: list[str] = []
        self.echo: TextIO | None = None
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self.add_line(line)
        return len(text)

    def add_line(self, line: str) -> None:
        """One complete line (a worker process sends its handler's output line by line)."""
        self.lines.append(line)
        if self.echo is not None:
            self.echo.write(f"[{self.name}] {line}\n")
            self.echo.flush()

    def flush(self) -> None:
        return None


# Powertools' Logger binds its stream handler once per service name (process-wide): keep one log
# object per function so every stack in this process writes to the same, current one.
_LOGS: dict[str, FunctionLog] = {}


def _function_log(name: str) -> FunctionLog:
    if name not in _LOGS:
        _LOGS[name] = FunctionLog(name)
    return _LOGS[name]


@dataclass
class FunctionStats:
    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    filtered: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class IdleSummary:
    """What ``run_until_idle`` did."""

    invocations: int
    records: int
    succeeded: int
    failed: int
    filtered: int
    errors: list[str]
    dead_lettered: dict[str, int]
    elapsed: float

    def __str__(self) -> str:
        text = (
            f"{self.invocations} invocation(s), {self.records} record(s): {self.succeeded} ok, "
            f"{self.failed} failed, {self.filtered} filtered out; idle after {self.elapsed:.2f} s"
        )
        dead = {k: v for k, v in self.dead_lettered.items() if v}
        if dead:
            text += "; dead-lettered: " + ", ".join(f"{k}={v}" for k, v in dead.items())
        if self.errors:
            text += f"; {len(self.errors)} error(s), last: {self.errors[-1].splitlines()[0]}"
        return text


@dataclass
class _Outcome:
    failed_ids: set[str]
    error: str | None = None


def _lambda_attributes(message: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        item: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            item["binaryValue"] = base64.b64encode(
                raw if isinstance(raw, bytes) else str(raw).encode()
            ).decode()
        result[name] = item
    return result


class Dispatcher:
    """Plays Lambda for the stack's SQS event sources: in-process one batch at a time (default), or
    concurrently with a poller thread per event source and handlers in worker processes."""

    def __init__(
        self,
        *,
        sqs: Any,
        functions: Mapping[str, FunctionInfo],
        event_sources: Mapping[str, EventSourceInfo],
        queues: Mapping[str, QueueInfo],
        region: str,
        account_id: str,
        time_scale: float = 1.0,
        enforce_timeouts: bool = True,
        echo_logs: TextIO | None = None,
        namespace: str = "",
        concurrent: bool = False,
        pollers_per_source: int = 1,
    ) -> None:
        """concurrent: poller threads and worker processes instead of one in-process batch at a
        time. pollers_per_source: batches in flight per event source in that mode (capped by the
        mapping's ``ScalingConfig.MaximumConcurrency``), as Lambda scales a queue's consumers."""
        if pollers_per_source < 1:
            raise ValueError("pollers_per_source must be >= 1")
        self.sqs = sqs
        self.functions = dict(functions)
        self.sources = [s for s in event_sources.values() if s.enabled]
        self.queues = dict(queues)
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self.enforce_timeouts = enforce_timeouts
        self.repairs = EventRepairs(account_id)
        self.stats: dict[str, FunctionStats] = {f: FunctionStats() for f in self.functions}
        self.errors: list[str] = []  # every function's errors, oldest first
        self._namespace = namespace or uuid.uuid4().hex[:8]
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._private_modules: dict[str, dict[str, ModuleType]] = {}
        self._pending: list[tuple[float, str, str]] = []  # (due, queue url, receipt handle)
        # Receipt handle of a record being handled → its batch's holds: the visibility its handler
        # set with ChangeMessageVisibility (sqs_holds), seen from moto's server thread.
        self._watched: dict[str, dict[str, int]] = {}
        self.concurrent = concurrent
        self.pollers_per_source = pollers_per_source
        self._lock = threading.RLock()  # stats, errors, _pending, _watched, the worker pools
        self._idle_workers: dict[str, list[FunctionWorker]] = {}
        self._workers: list[FunctionWorker] = []
        self._busy = 0  # batches being received or handled by poller threads
        self.holds_seen = 0
        self.holds_applied: list[int] = []  # the handler-set visibilities used (seconds, unscaled)
        self._matchers: dict[str, list[Any]] = {}
        for function in self.functions.values():
            log = _function_log(function.logical_id)
            log.lines.clear()
            log.echo = echo_logs

    # -- logs -----------------------------------------------------------------------------------------

    def logs(self, function_id: str) -> list[str]:
        with self._lock:
            return list(_function_log(function_id).lines)

    # -- the Lambda runtime ---------------------------------------------------------------------------

    def _runtime_environment(self, function: FunctionInfo) -> dict[str, str]:
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime or 'python3.12'}",
            "_HANDLER": function.handler,
            # Powertools' Tracer (and others) treat this as "a local Lambda emulator": no X-Ray.
            "AWS_SAM_LOCAL": "true",
        }
        if function.code_dir is not None:
            env["LAMBDA_TASK_ROOT"] = str(function.code_dir)
        return {**env, **function.environment}

    @contextlib.contextmanager
    def _sandbox(self, function: FunctionInfo) -> Iterator[None]:
        """Environment, sys.path, private sibling modules and stdout/stderr of one function."""
        overrides = self._runtime_environment(function)
        saved_env = {k: os.environ.get(k) for k in overrides}
        os.environ.update(overrides)
        code_dir = str(function.code_dir) if function.code_dir else None
        if code_dir:
            sys.path.insert(0, code_dir)
        private = self._private_modules.setdefault(function.logical_id, {})
        shadowed = {name: sys.modules[name] for name in private if name in sys.modules}
        sys.modules.update(private)
        before = set(sys.modules)
        log = _function_log(function.logical_id)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            if code_dir:
                for name in set(sys.modules) - before:
                    module_file = getattr(sys.modules[name], "__file__", None) or ""
                    if module_file.startswith(code_dir + os.sep) and not name.startswith("_tailor_local_"):
                        private[name] = sys.modules[name]
                for name in private:
                    sys.modules.pop(name, None)
                sys.modules.update(shadowed)
                with contextlib.suppress(ValueError):
                    sys.path.remove(code_dir)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _handler(self, function: FunctionInfo) -> Callable[[Any, Any], Any]:
        """Import the handler (a cold start) once per function; raises ImportError on failure."""
        if function.logical_id in self._handlers:
            return self._handlers[function.logical_id]
        if function.code_dir is None:
            raise ImportError(f"{function.logical_id}: its code is not local, it cannot be played")
        module_path, _, attribute = function.handler.rpartition(".")
        if not module_path or not attribute:
            raise ImportError(f"{function.logical_id}: Handler {function.handler!r} is not 'module.function'")
        relative = Path(*module_path.split("."))
        file = function.code_dir / relative.with_suffix(".py")
        if not file.is_file():
            file = function.code_dir / relative / "__init__.py"
        if not file.is_file():
            raise ImportError(f"{function.logical_id}: no module {module_path!r} in {function.code_dir}")
        module_name = f"_tailor_local_{self._namespace}_{function.logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"{function.logical_id}: cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        handler: Callable[[Any, Any], Any] | None = getattr(module, attribute, None)
        if handler is None or not callable(handler):
            raise ImportError(f"{function.logical_id}: {module_path}.{attribute} is not a function")
        self._handlers[function.logical_id] = handler
        return handler

    def _call(self, function: FunctionInfo, event: Any) -> tuple[Any, str | None]:
        """Run one invocation; (response, None) or (None, error text), as Lambda would report it."""
        if self.concurrent:
            return self._call_in_worker(function, event)
        context = LambdaContext(function)
        started = time.monotonic()
        with self._sandbox(function):
            try:
                handler = self._handler(function)
            except Exception as error:
                return None, f"Runtime.ImportModuleError: {error}\n{traceback.format_exc()}"
            try:
                response = handler(event, context)
            except Exception as error:
                return None, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
        elapsed = time.monotonic() - started
        if self.enforce_timeouts and elapsed > function.timeout:
            return None, f"Task timed out after {elapsed:.2f} seconds (Timeout is {function.timeout} s)"
        try:
            json.dumps(response)
        except (TypeError, ValueError) as error:
            return None, f"Runtime.MarshalError: the response is not JSON serializable: {error}"
        return response, None

    def _call_in_worker(self, function: FunctionInfo, event: Any) -> tuple[Any, str | None]:
        """Run one invocation in a warm worker of ``function`` (a new one, cold, if none is idle)."""
        if function.code_dir is None:
            return None, f"Runtime.ImportModuleError: {function.logical_id}: its code is not local"
        with self._lock:
            idle = self._idle_workers.setdefault(function.logical_id, [])
            worker = idle.pop() if idle else None
        if worker is None:
            log = _function_log(function.logical_id)

            def on_log(line: str) -> None:
                with self._lock:
                    log.add_line(line)

            worker = FunctionWorker(
                name=function.name,
                arn=function.arn,
                handler=function.handler,
                code_dir=function.code_dir,
                timeout=function.timeout,
                memory_size=function.memory_size,
                environment={**os.environ, **self._runtime_environment(function)},
                on_log=on_log,
            )
            with self._lock:
                self._workers.append(worker)
        result = worker.invoke(event, timeout=float(function.timeout) if self.enforce_timeouts else None)
        with self._lock:
            if worker.alive:
                self._idle_workers[function.logical_id].append(worker)
            else:
                self._workers.remove(worker)
        return result.response, result.error

    def close(self) -> None:
        """Stop every worker process (concurrent mode); the next call starts new ones, cold."""
        with self._lock:
            workers, self._workers = self._workers, []
            self._idle_workers.clear()
        for worker in workers:
            worker.close()

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function directly (like ``lambda invoke``); raises RuntimeError on failure."""
        function = self.functions[function_id]
        response, error = self._call(function, event)
        stats = self.stats[function_id]
        with self._lock:
            stats.invocations += 1
            if error:
                self._error(stats, f"{function_id}: {error}")
        if error:
            raise RuntimeError(f"{function_id} failed: {error}")
        return response

    # -- SQS event sources ----------------------------------------------------------------------------

    def _record(self, source: EventSourceInfo, message: Mapping[str, Any]) -> dict[str, Any]:
        queue = self.queues[source.queue_id]
        body = self.repairs.repair_body(str(message.get("Body", "")))
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": _lambda_attributes(message),
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.arn,
            "awsRegion": self.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _passes_filters(self, source: EventSourceInfo, record: Mapping[str, Any]) -> bool:
        if not source.filter_patterns:
            return True
        if source.logical_id not in self._matchers:
            from moto.events.models import EventPattern

            self._matchers[source.logical_id] = [
                EventPattern.load(json.dumps(p)) for p in source.filter_patterns
            ]
        candidate = dict(record)
        with contextlib.suppress(ValueError):
            candidate["body"] = json.loads(record["body"])
        return any(m.matches_event(candidate) for m in self._matchers[source.logical_id])

    def _receive(self, source: EventSourceInfo) -> list[dict[str, Any]]:
        queue = self.queues[source.queue_id]
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(10, source.batch_size - len(messages)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages") or []
            if not batch:
                break
            messages.extend(batch)
        return messages

    def _delete(self, queue: QueueInfo, receipts: list[str]) -> None:
        for start in range(0, len(receipts), 10):
            chunk = receipts[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)],
            )

    @staticmethod
    def _batch_outcome(source: EventSourceInfo, ids: list[str], response: Any) -> _Outcome:
        """Which records failed, by Lambda's rules for (partial) batch responses."""
        if not source.report_batch_item_failures or response is None:
            return _Outcome(set())
        if not isinstance(response, Mapping):
            return _Outcome(set(ids), f"invalid batch response (not an object): {response!r}")
        failures = response.get("batchItemFailures")
        if failures is None or failures == []:
            return _Outcome(set())
        if not isinstance(failures, list):
            return _Outcome(set(ids), f"invalid batchItemFailures: {failures!r}")
        failed: set[str] = set()
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
            if not isinstance(identifier, str) or not identifier or identifier not in ids:
                return _Outcome(set(ids), f"invalid batchItemFailures entry {item!r}: whole batch failed")
            failed.add(identifier)
        return _Outcome(failed)

    def _process(self, source: EventSourceInfo, messages: list[dict[str, Any]]) -> None:
        function = self.functions[source.function_id]
        queue = self.queues[source.queue_id]
        stats = self.stats[function.logical_id]
        records = [self._record(source, m) for m in messages]
        passing = [r for r in records if self._passes_filters(source, r)]
        filtered = [r["receiptHandle"] for r in records if r not in passing]
        if filtered:  # Lambda deletes messages that match none of the filters
            with self._lock:
                stats.filtered += len(filtered)
            self._delete(queue, filtered)
        if not passing:
            return
        holds: dict[str, int] = {}
        handles = [r["receiptHandle"] for r in passing]
        with self._lock:
            self._watched.update(dict.fromkeys(handles, holds))
        try:
            response, error = self._call(function, {"Records": passing})
        finally:
            with self._lock:
                for handle in handles:
                    self._watched.pop(handle, None)
        ids = [r["messageId"] for r in passing]
        outcome = _Outcome(set(ids), error) if error else self._batch_outcome(source, ids, response)
        with self._lock:
            stats.invocations += 1
            stats.records += len(passing)
            stats.failed += len(outcome.failed_ids)
            stats.succeeded += len(passing) - len(outcome.failed_ids)
            if outcome.error:
                self._error(stats, f"{function.logical_id}: {outcome.error}")
        done = [r["receiptHandle"] for r in passing if r["messageId"] not in outcome.failed_ids]
        if done:
            self._delete(queue, done)
        now = time.monotonic()
        with self._lock:
            for record in passing:
                if record["messageId"] in outcome.failed_ids:
                    handle = record["receiptHandle"]
                    if handle in holds:
                        self.holds_seen += 1
                        self.holds_applied.append(holds[handle])
                    seconds = holds.get(handle, queue.visibility_timeout)
                    self._pending.append((now + seconds * self.time_scale, queue.url, handle))

    def observe_visibility(self, receipt_handle: str, seconds: int) -> None:
        """``ChangeMessageVisibility`` seen on moto's side (any thread): a hold by the running handler."""
        with self._lock:
            holds = self._watched.get(receipt_handle)
            if holds is not None:
                holds[receipt_handle] = seconds

    def _error(self, stats: FunctionStats, text: str) -> None:
        with self._lock:
            stats.errors.append(text)
            self.errors.append(text)

    def _release_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [p for p in self._pending if p[0] <= now]
            if not due:
                return
            self._pending = [p for p in self._pending if p[0] > now]
        for _, url, handle in due:
            # Already visible again (moto's whole-second timeout ran out first) or re-received: fine.
            with contextlib.suppress(Exception):
                self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)

    def poll_once(self) -> int:
        """One pass over every event source; the number of records handed to functions."""
        self._release_due()
        handled = 0
        for source in self.sources:
            messages = self._receive(source)
            if messages:
                self._process(source, messages)
                handled += len(messages)
        return handled

    # -- concurrent mode: poller threads, handlers in worker processes ---------------------------------

    def _poller_count(self, source: EventSourceInfo) -> int:
        cap = source.maximum_concurrency or self.pollers_per_source
        return max(1, min(self.pollers_per_source, cap))

    def _poll_source(self, source: EventSourceInfo, stop: threading.Event, poll_interval: float) -> None:
        """One of Lambda's pollers for ``source``: receive a batch, hand it over, repeat. An empty
        queue is polled less and less often (up to ``POLLER_BACKOFF_MAX`` s, as Lambda's pollers
        slow down): a dozen idle queues must not crowd moto's one-request-at-a-time server."""
        wait = poll_interval
        while not stop.is_set():
            self._release_due()
            messages: list[dict[str, Any]] = []
            with self._lock:
                self._busy += 1  # before receiving: idle means no poller between receive and delete
            try:
                messages = self._receive(source)
                if messages:
                    self._process(source, messages)
            except Exception as error:  # moto unreachable or a bug here: say so and keep polling
                with self._lock:
                    self.errors.append(f"{source.logical_id}: poller: {type(error).__name__}: {error}")
            finally:
                with self._lock:
                    self._busy -= 1
            if messages:
                wait = poll_interval
            else:
                stop.wait(wait)
                wait = min(POLLER_BACKOFF_MAX, wait * 2)

    @contextlib.contextmanager
    def pollers(self, *, poll_interval: float = 0.02) -> Iterator[None]:
        """Poller threads for every event source while the block runs (``concurrent=True`` only);
        on the way out they finish the batch they hold, then stop."""
        if not self.concurrent:
            raise RuntimeError("pollers() needs Dispatcher(concurrent=True)")
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=self._poll_source,
                args=(source, stop, poll_interval),
                name=f"poller-{source.logical_id}-{index}",
                daemon=True,
            )
            for source in self.sources
            for index in range(self._poller_count(source))
        ]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    # -- idle -----------------------------------------------------------------------------------------

    def _queue_counts(self) -> dict[str, tuple[int, int, int]]:
        counts: dict[str, tuple[int, int, int]] = {}
        for queue_id in sorted({s.queue_id for s in self.sources}):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queues[queue_id].url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            counts[queue_id] = (
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            )
        return counts

    def is_idle(self) -> bool:
        with self._lock:
            if self._busy or self._pending:
                return False
        return all(sum(c) == 0 for c in self._queue_counts().values())

    def dead_letter_counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for source in self.sources:
            arn = self.queues[source.queue_id].dead_letter_arn
            dlq = next((q for q in self.queues.values() if q.arn == arn), None)
            if dlq is None or dlq.logical_id in result:
                continue
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=dlq.url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            result[dlq.logical_id] = int(attributes.get("ApproximateNumberOfMessages", 0))
        return result

    def _totals(self) -> FunctionStats:
        total = FunctionStats()
        with self._lock:
            for stats in self.stats.values():
                total.invocations += stats.invocations
                total.records += stats.records
                total.succeeded += stats.succeeded
                total.failed += stats.failed
                total.filtered += stats.filtered
            total.errors = list(self.errors)
        return total

    def run_until_idle(self, timeout: float = 30.0, *, poll_interval: float = 0.02) -> IdleSummary:
        """Process until every function queue is empty and nothing is in flight.

        Messages parked in dead-letter queues do not count. Raises :class:`DispatcherTimeoutError` if that
        does not happen within ``timeout`` seconds.
        """
        started = time.monotonic()
        before = self._totals()
        deadline = started + timeout
        if self.concurrent:
            with self.pollers(poll_interval=poll_interval):
                while not self.is_idle():
                    now = time.monotonic()
                    if now >= deadline:
                        raise DispatcherTimeoutError(self._timeout_message(timeout))
                    # Counting every queue is a dozen moto requests: not at every poll interval.
                    time.sleep(max(0.001, min(2 * poll_interval, deadline - now)))
        else:
            while True:
                if self.poll_once():
                    continue
                if self.is_idle():
                    break
                now = time.monotonic()
                if now >= deadline:
                    raise DispatcherTimeoutError(self._timeout_message(timeout))
                next_due = min((p[0] for p in self._pending), default=now + poll_interval)
                time.sleep(max(0.001, min(poll_interval, next_due - now, deadline - now)))
        after = self._totals()
        return IdleSummary(
            invocations=after.invocations - before.invocations,
            records=after.records - before.records,
            succeeded=after.succeeded - before.succeeded,
            failed=after.failed - before.failed,
            filtered=after.filtered - before.filtered,
            errors=after.errors[len(before.errors) :],
            dead_lettered=self.dead_letter_counts(),
            elapsed=time.monotonic() - started,
        )

    def _timeout_message(self, timeout: float) -> str:
        lines = [f"the local stack did not become idle within {timeout:g} s:"]
        for queue_id, (visible, in_flight, delayed) in self._queue_counts().items():
            if visible or in_flight or delayed:
                lines.append(f"  {queue_id}: {visible} visible, {in_flight} in flight, {delayed} delayed")
        if self._pending:
            lines.append(f"  {len(self._pending)} failed message(s) waiting for their visibility timeout")
        if self._busy:
            lines.append(f"  {self._busy} batch(es) still being handled")
        errors = self._totals().errors
        if errors:
            lines.append(f"  last handler error: {errors[-1].splitlines()[0]}")
        lines.append("  (a longer visibility timeout or a handler that keeps failing? see LocalStack.logs())")
        return "\n".join(lines)
