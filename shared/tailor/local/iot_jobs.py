"""A LOCAL STAND-IN for the AWS IoT Jobs data plane (``iot-jobs-data``): moto has none.

The real boto3 ``iot-jobs-data`` client talks to this HTTP server exactly as it would to
``https://data.jobs.iot.<region>.amazonaws.com`` (the REST paths, JSON shapes and error codes of
botocore's service model): ``GetPendingJobExecutions`` (GET /things/{thing}/jobs),
``StartNextPendingJobExecution`` (PUT /things/{thing}/jobs/$next), ``DescribeJobExecution``
(GET /things/{thing}/jobs/{jobId}, ``$next`` too) and ``UpdateJobExecution``
(POST /things/{thing}/jobs/{jobId}). SigV4 signatures are not checked.

Jobs, targets and documents are read from moto's IoT through boto3; the execution state lives here
(moto keeps none worth using). What moto 5.2's IoT really does, found while building this:

- ``create_job`` accepts thing and thing-group ARNs and stores them verbatim; the job stays
  ``QUEUED`` forever (it never becomes ``IN_PROGRESS`` or ``COMPLETED`` by itself).
- A thing-group target is not expanded: ``list_job_executions_for_job`` shows ONE execution whose
  ``thingArn`` is the group's ARN, ``executionNumber`` is always 123 and ``startedAt == queuedAt``;
  ``list_job_executions_for_thing`` is empty for the group's things. So this server expands groups
  itself (``list_things_in_thing_group``).
- ``list_things_in_thing_group(recursive=True)`` ignores ``recursive`` (direct members only), but
  ``list_thing_groups(parentGroup=...)`` lists child groups: nested groups are walked here.
- ``cancel_job`` sets the job ``CANCELED`` (``forceCanceled`` is kept); ``describe_job`` shows it.
  ``list_jobs`` ignores its ``status``/``thingGroupName`` filters. ``get_job_document`` returns the
  document verbatim (no placeholder is substituted). Unknown ids → ``ResourceNotFoundException``
  through the server.

Semantics kept here as AWS documents them: executions go QUEUED → IN_PROGRESS → SUCCEEDED / FAILED /
REJECTED and terminal statuses are final (``InvalidStateTransitionException``); a CANCELED job cancels
its QUEUED executions (IN_PROGRESS ones too when force-canceled) and yields no new ones, nor does a
COMPLETED one; a CONTINUOUS job picks up things added to its groups later, a SNAPSHOT job only the
things it saw the first time this server looked at it (an approximation of "at creation").
``${aws:iot:s3-presigned-url-v2:https://s3.<region>.amazonaws.com/<bucket>/<key>}`` (and the v1
``${aws:iot:s3-presigned-url:...}``) placeholders become presigned GET URLs to the moto S3 endpoint
(moto never checks their expiry or signature). There is no MQTT, no timeout of IN_PROGRESS steps,
no rollout rate, no abort criteria.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_iot import IoTClient
    from mypy_boto3_s3 import S3Client

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "REJECTED", "CANCELED", "REMOVED", "TIMED_OUT"})
_DEVICE_STATUSES = frozenset({"IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"})
_CLOSED_JOBS = frozenset({"CANCELED", "COMPLETED", "DELETION_IN_PROGRESS"})
_PLACEHOLDER = re.compile(r"\$\{aws:iot:s3-presigned-url(?:-v2)?:(https://[^}\s\"]+)\}")
_FAKE_KEY = "testing"


@dataclass
class ExecutionRecord:
    thing_name: str
    job_id: str
    status: str = "QUEUED"
    status_details: dict[str, str] = field(default_factory=dict)
    version_number: int = 1
    execution_number: int = 1
    queued_at: int = field(default_factory=lambda: int(time.time()))
    started_at: int | None = None
    last_updated_at: int = field(default_factory=lambda: int(time.time()))
    # Creation order (the job's createdAt in moto, then first sight here): what StartNext picks first.
    order: tuple[float, int] = (0.0, 0)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "jobId": self.job_id,
            "queuedAt": self.queued_at,
            "lastUpdatedAt": self.last_updated_at,
            "versionNumber": self.version_number,
            "executionNumber": self.execution_number,
        }
        if self.started_at is not None:
            out["startedAt"] = self.started_at
        return out

    def execution(self, document: str | None) -> dict[str, Any]:
        out = {
            **self.summary(),
            "thingName": self.thing_name,
            "status": self.status,
            "statusDetails": dict(self.status_details),
        }
        if document is not None:
            out["jobDocument"] = document
        return out

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "statusDetails": dict(self.status_details),
            "versionNumber": self.version_number,
        }


class JobsApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(message: str) -> JobsApiError:
    return JobsApiError(404, "ResourceNotFoundException", message)


def _invalid(message: str) -> JobsApiError:
    return JobsApiError(400, "InvalidRequestException", message)


@dataclass
class _Job:
    job_id: str
    targets: list[str]
    selection: str
    expiry: int
    created_at: float = 0.0
    snapshot: set[str] | None = None
    document: str | None = None


class LocalJobsDataPlane:
    """The IoT Jobs data plane over moto's IoT control plane (a local stand-in; see the module doc)."""

    def __init__(
        self,
        *,
        iot_endpoint: str,
        s3_endpoint: str,
        region: str,
        account_id: str,
        url_expiry_seconds: int = 3600,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.region = region
        self.account_id = account_id
        self.url_expiry_seconds = url_expiry_seconds
        # moto accepts any credentials; fixed fake ones keep the host's real ones out of it.
        self._iot: IoTClient = boto3.client(
            "iot",
            endpoint_url=iot_endpoint,
            region_name=region,
            aws_access_key_id=_FAKE_KEY,
            aws_secret_access_key=_FAKE_KEY,
        )
        self._s3: S3Client = boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name=region,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
            aws_access_key_id=_FAKE_KEY,
            aws_secret_access_key=_FAKE_KEY,
        )
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._records: dict[tuple[str, str], ExecutionRecord] = {}
        self._sequence = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port) in a daemon thread; return the endpoint URL."""
        if self._server is None:
            handler = _handler(self)
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self._server.daemon_threads = True
            # A short poll interval: stop() returns within ~50 ms instead of serve_forever's 0.5 s.
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="local-iot-jobs", daemon=True
            )
            self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local IoT Jobs data plane is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalJobsDataPlane:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- inspection -----------------------------------------------------------------------------------

    def executions(self, job_id: str | None = None) -> list[ExecutionRecord]:
        """Every execution this server knows (after expanding every job's targets now)."""
        with self._lock:
            self._sync()
            return sorted(
                (r for r in self._records.values() if job_id is None or r.job_id == job_id),
                key=lambda r: (r.job_id, r.thing_name),
            )

    # -- the API --------------------------------------------------------------------------------------

    def get_pending(self, thing: str) -> dict[str, Any]:
        with self._lock:
            self._check_thing(thing)
            self._sync()
            pending = self._pending(thing)
            return {
                "inProgressJobs": [r.summary() for r in pending if r.status == "IN_PROGRESS"],
                "queuedJobs": [r.summary() for r in pending if r.status == "QUEUED"],
            }

    def start_next(self, thing: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._check_thing(thing)
            self._sync()
            details = _details(body.get("statusDetails"))
            pending = self._pending(thing)
            if not pending:
                return {}
            record = pending[0]
            if record.status == "QUEUED":
                now = int(time.time())
                record.status, record.started_at, record.last_updated_at = "IN_PROGRESS", now, now
                if details is not None:
                    record.status_details = details
                record.version_number += 1
            return {"execution": record.execution(self._document(record.job_id))}

    def describe(self, thing: str, job_id: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self._check_thing(thing)
            self._sync()
            if job_id == "$next":
                pending = self._pending(thing)
                if not pending:
                    raise _not_found(f"no pending job execution for {thing}")
                record = pending[0]
            else:
                found = self._records.get((thing, job_id))
                if found is None:
                    raise _not_found(f"no job execution of job {job_id} for thing {thing}")
                record = found
            include = query.get("includeJobDocument", "true").lower() != "false"
            return {"execution": record.execution(self._document(record.job_id) if include else None)}

    def update(self, thing: str, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._check_thing(thing)
            self._sync()
            record = self._records.get((thing, job_id))
            if record is None:
                raise _not_found(f"no job execution of job {job_id} for thing {thing}")
            status = body.get("status")
            if status not in _DEVICE_STATUSES:
                raise _invalid(f"status must be one of {sorted(_DEVICE_STATUSES)}, not {status!r}")
            if record.status in TERMINAL:
                raise JobsApiError(
                    409,
                    "InvalidStateTransitionException",
                    f"the job execution is {record.status} (terminal); it cannot become {status}",
                )
            expected = body.get("expectedVersion")
            if expected is not None and int(expected) != record.version_number:
                raise JobsApiError(
                    409,
                    "VersionConflictException",
                    f"expected version {expected}, the execution is at {record.version_number}",
                )
            details = _details(body.get("statusDetails"))
            now = int(time.time())
            record.status = status
            if record.started_at is None:
                record.started_at = now
            if details is not None:
                record.status_details = details
            record.last_updated_at = now
            record.version_number += 1
            out: dict[str, Any] = {}
            if body.get("includeJobExecutionState"):
                out["executionState"] = record.state()
            if body.get("includeJobDocument"):
                out["jobDocument"] = self._document(job_id)
            return out

    # -- reading moto ---------------------------------------------------------------------------------

    def _check_thing(self, thing: str) -> None:
        try:
            self._iot.describe_thing(thingName=thing)
        except self._iot.exceptions.ResourceNotFoundException:
            raise _not_found(f"thing {thing} does not exist") from None

    def _pending(self, thing: str) -> list[ExecutionRecord]:
        """IN_PROGRESS first, then QUEUED, oldest first (what StartNext picks)."""
        records = [r for r in self._records.values() if r.thing_name == thing and r.status not in TERMINAL]
        return sorted(records, key=lambda r: (r.status != "IN_PROGRESS", r.order))

    def _sync(self) -> None:
        """Create executions for every targeted thing; cancel those of canceled jobs."""
        summaries: list[dict[str, Any]] = []
        for page in self._iot.get_paginator("list_jobs").paginate():
            summaries.extend(dict(job) for job in page.get("jobs", []))
        for summary in summaries:
            job_id, status = summary["jobId"], summary.get("status", "QUEUED")
            if status == "CANCELED":
                open_records = [
                    r for r in self._records.values() if r.job_id == job_id and r.status not in TERMINAL
                ]
                if not open_records:
                    continue
                force = bool(self._iot.describe_job(jobId=job_id)["job"].get("forceCanceled"))
                for record in open_records:
                    if record.status == "QUEUED" or (force and record.status == "IN_PROGRESS"):
                        record.status, record.last_updated_at = "CANCELED", int(time.time())
                        record.version_number += 1
                continue
            if status in _CLOSED_JOBS:
                continue
            job = self._job(job_id)
            things = self._targets(job)
            for thing in things:
                if (thing, job_id) not in self._records:
                    self._sequence += 1
                    self._records[(thing, job_id)] = ExecutionRecord(
                        thing_name=thing, job_id=job_id, order=(job.created_at, self._sequence)
                    )

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            described = self._iot.describe_job(jobId=job_id)["job"]
            presigned = described.get("presignedUrlConfig") or {}
            job = _Job(
                job_id=job_id,
                targets=list(described.get("targets", [])),
                selection=str(described.get("targetSelection", "SNAPSHOT")),
                expiry=int(presigned.get("expiresInSec") or self.url_expiry_seconds),
                created_at=described["createdAt"].timestamp() if "createdAt" in described else 0.0,
            )
            self._jobs[job_id] = job
        return job

    def _targets(self, job: _Job) -> set[str]:
        if job.selection != "CONTINUOUS" and job.snapshot is not None:
            return job.snapshot
        things: set[str] = set()
        for arn in job.targets:
            kind, _, name = arn.split(":", 5)[-1].partition("/")
            if kind == "thing":
                things.add(name)
            elif kind == "thinggroup":
                things |= self._group_things(name, seen=set())
        if job.selection != "CONTINUOUS":
            job.snapshot = things
        return things

    def _group_things(self, group: str, seen: set[str]) -> set[str]:
        if group in seen:
            return set()
        seen.add(group)
        things: set[str] = set()
        try:
            for page in self._iot.get_paginator("list_things_in_thing_group").paginate(thingGroupName=group):
                things.update(page.get("things", []))
            children = self._iot.list_thing_groups(parentGroup=group).get("thingGroups", [])
        except self._iot.exceptions.ResourceNotFoundException:
            return things
        for child in children:
            things |= self._group_things(str(child["groupName"]), seen)
        return things

    def _document(self, job_id: str) -> str:
        job = self._job(job_id)
        if job.document is None:
            raw = self._iot.get_job_document(jobId=job_id).get("document", "")
            job.document = raw
        return _PLACEHOLDER.sub(lambda match: self._presign(match.group(1), job.expiry), job.document)

    def _presign(self, url: str, expiry: int) -> str:
        """``https://s3.<region>.amazonaws.com/<bucket>/<key>`` (or ``<bucket>.s3...``) → a moto URL."""
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        path = urllib.parse.unquote(parts.path.lstrip("/"))
        if host.startswith(("s3.", "s3-")) or host == "s3.amazonaws.com":
            bucket, _, key = path.partition("/")
        else:
            bucket, key = host.split(".s3", 1)[0], path
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expiry
        )


def _details(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("statusDetails must be a map of strings")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str) or not item or len(item) > 1024:
            raise _invalid("statusDetails values must be non-empty strings of at most 1024 characters")
    return dict(value)


def _handler(plane: LocalJobsDataPlane) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "TailorLocalIotJobs/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the local stack has its own logs."""

        def do_GET(self) -> None:
            self._serve("GET")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            split = urllib.parse.urlsplit(self.path)
            segments = [urllib.parse.unquote(s) for s in split.path.strip("/").split("/")]
            query = dict(urllib.parse.parse_qsl(split.query))
            try:
                body = self._body()
                if len(segments) < 3 or segments[0] != "things" or segments[2] != "jobs":
                    raise _not_found(f"no route {method} {split.path}")
                thing = segments[1]
                if len(segments) == 3 and method == "GET":
                    result = plane.get_pending(thing)
                elif len(segments) == 4 and method == "PUT" and segments[3] == "$next":
                    result = plane.start_next(thing, body)
                elif len(segments) == 4 and method == "GET":
                    result = plane.describe(thing, segments[3], query)
                elif len(segments) == 4 and method == "POST":
                    result = plane.update(thing, segments[3], body)
                else:
                    raise _not_found(f"no route {method} {split.path}")
                self._send(200, result)
            except JobsApiError as error:
                self._send(error.status, {"message": error.message}, error.code)
            except Exception as error:  # keep serving; the client sees a 500 it may retry
                self._send(500, {"message": f"{type(error).__name__}: {error}"}, "InternalFailureException")

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return {}
            try:
                value = json.loads(self.rfile.read(length))
            except ValueError:
                raise _invalid("the request body is not JSON") from None
            if not isinstance(value, dict):
                raise _invalid("the request body is not a JSON object")
            return value

        def _send(self, status: int, payload: dict[str, Any], error_code: str | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if error_code:
                self.send_header("x-amzn-ErrorType", error_code)
            self.end_headers()
            self.wfile.write(data)

    return Handler
