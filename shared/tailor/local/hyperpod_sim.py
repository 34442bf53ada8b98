"""A SIMULATED SageMaker HyperPod (EKS) cluster: a small Kubernetes API on loopback.

The real ``kubernetes`` client talks to it over HTTP, so the HyperPod backend and its reconciler run
unchanged locally. It plays what the kube-apiserver and the Kubeflow training operator do for
Tailor's calls: ConfigMaps and ``kubeflow.org/v1`` PyTorchJobs (create, get, list with a label
selector, delete; 409 AlreadyExists, 404 NotFound, 422 Invalid as ``Status`` objects), the pods the
operator would create (``<job>-master-0``, ``<job>-worker-<i>`` with the operator's labels), and
the job's conditions. Nothing trains.

Faithful: status bodies, names, labels, condition types and reasons, RFC 3339 times. Not faithful:
conditions advance one step per GET of the job (``running_after_polls``, ``succeed_after_polls``),
not by wall time, so tests are reproducible; the EKS token's *shape* is checked (a presigned STS
``GetCallerIdentity`` URL with the ``x-k8s-aws-id`` signed header) but not its signature — there is
no STS locally; EKS verifies it. On success, as the Nova trainer does, it writes
``<run.output_s3_path>/<job>/manifest.json`` naming a checkpoint in a simulated escrow bucket.

Scenarios per job (``set_scenario`` or ``scenario_for``): ``succeed`` (default), ``fail``,
``restart-then-succeed``, ``crash-loop`` (the job stays Running while the master pod crash-loops).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["SCENARIOS", "SimulatedHyperPodCluster"]

SCENARIOS = ("succeed", "fail", "restart-then-succeed", "crash-loop")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CORE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)(?:/(?P<kind>configmaps|pods)(?:/(?P<name>[^/]+))?)?$")
_JOBS = re.compile(r"^/apis/kubeflow\.org/v1/namespaces/(?P<ns>[^/]+)/pytorchjobs(?:/(?P<name>[^/]+))?$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, name: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.name, self.kind = code, reason, message, name, kind

    def body(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": {"name": self.name, "kind": self.kind},
            "code": self.code,
        }


@dataclass
class _Job:
    body: dict[str, Any]
    scenario: str
    polls: int = 0
    phase: str = "Created"  # Created | Running | Restarting | Succeeded | Failed
    restarts: int = 0
    manifest_written: bool = False
    history: list[str] = field(default_factory=list)


class SimulatedHyperPodCluster:
    def __init__(
        self,
        write_object: Callable[[str, bytes], None],
        *,
        escrow_bucket: str = "tailor-local-hyperpod-escrow",
        running_after_polls: int = 1,
        succeed_after_polls: int = 3,
        require_token: bool = True,
        namespaces: Iterable[str] = ("kubeflow",),
        scenario_for: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.write_object = write_object
        self.escrow_bucket = escrow_bucket
        self.running_after_polls = running_after_polls
        self.succeed_after_polls = max(succeed_after_polls, running_after_polls + 1)
        self.require_token = require_token
        self.namespaces = set(namespaces)
        self.scenario_for = scenario_for
        self.requests: list[tuple[str, str]] = []
        self._config_maps: dict[tuple[str, str], dict[str, Any]] = {}
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._scenarios: dict[str, str] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> SimulatedHyperPodCluster:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> str:
        if self._server is None:
            cluster = self

            class Handler(_Handler):
                sim = cluster

            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="hyperpod-sim", daemon=True
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulated HyperPod cluster is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    # -- controls for tests and the local stack -----------------------------------------------------

    def set_scenario(self, name: str, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario {scenario!r}: one of {', '.join(SCENARIOS)}")
        with self._lock:
            self._scenarios[name] = scenario
            for (_, job_name), job in self._jobs.items():
                if job_name == name:
                    job.scenario = scenario

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._view(job) for job in self._jobs.values()]

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._jobs.get((namespace, name))
            return self._view(found) if found else None

    def advance(self, namespace: str, name: str) -> None:
        with self._lock:
            self._poll(self._jobs[(namespace, name)])

    def creates(self, kind: str = "pytorchjobs") -> int:
        return sum(1 for method, path in self.requests if method == "POST" and path.endswith(kind))

    # -- the API --------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str | None) -> Any:
        self.requests.append((method, path))
        if path == "/version":
            return {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-eks-simulated",
                "platform": "linux/amd64",
            }
        if self.require_token:
            _check_token(auth)
        with self._lock:
            jobs = _JOBS.match(path)
            if jobs:
                return self._pytorchjobs(method, jobs["ns"], jobs["name"], query, body)
            core = _CORE.match(path)
            if core:
                self._namespace(core["ns"])
                if core["kind"] is None and method == "GET":
                    return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": core["ns"]}}
                if core["kind"] == "configmaps":
                    return self._configmaps(method, core["ns"], core["name"], body)
                if core["kind"] == "pods" and method == "GET" and core["name"] is None:
                    return self._pods(core["ns"], query)
        raise _ApiError(
            404, "NotFound", f"the server could not find the requested resource ({method} {path})"
        )

    def _namespace(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            raise _ApiError(404, "NotFound", f'namespaces "{namespace}" not found', namespace, "namespaces")

    def _stamp(self, body: Any, namespace: str, kind: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, "BadRequest", f"the {kind} body is not a JSON object")
        metadata = body.setdefault("metadata", {})
        name = str(metadata.get("name") or "")
        if len(name) > 63 or not _DNS_LABEL.fullmatch(name):
            raise _ApiError(
                422,
                "Invalid",
                f'{kind} "{name}" is invalid: metadata.name: must be a DNS-1123 label',
                name,
                kind,
            )
        metadata.update(
            namespace=namespace,
            uid=str(uuid.uuid4()),
            creationTimestamp=_now(),
            resourceVersion=str(len(self.requests)),
        )
        return body

    def _configmaps(self, method: str, namespace: str, name: str | None, body: Any) -> Any:
        if method == "POST" and name is None:
            created = self._stamp(body, namespace, "configmaps")
            key = (namespace, created["metadata"]["name"])
            if key in self._config_maps:
                raise _ApiError(
                    409, "AlreadyExists", f'configmaps "{key[1]}" already exists', key[1], "configmaps"
                )
            self._config_maps[key] = created
            return created
        if method == "GET" and name is None:
            items = [c for (ns, _), c in self._config_maps.items() if ns == namespace]
            return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": items}
        if name is None or (namespace, name) not in self._config_maps:
            raise _ApiError(404, "NotFound", f'configmaps "{name}" not found', name or "", "configmaps")
        if method == "GET":
            return self._config_maps[(namespace, name)]
        if method == "DELETE":
            self._config_maps.pop((namespace, name))
            return {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        raise _ApiError(405, "MethodNotAllowed", f"{method} is not supported here")

    def _pytorchjobs(
        self, method: str, namespace: str, name: str | None, query: dict[str, list[str]], body: Any
    ) -> Any:
        self._namespace(namespace)
        if method == "POST" and name is None:
            created = self._stamp(body, namespace, "pytorchjobs")
            job_name = created["metadata"]["name"]
            if not ((created.get("spec") or {}).get("pytorchReplicaSpecs") or {}).get("Master"):
                raise _ApiError(
                    422,
                    "Invalid",
                    f'PyTorchJob "{job_name}": spec.pytorchReplicaSpecs.Master is required',
                    job_name,
                )
            key = (namespace, job_name)
            if key in self._jobs:
                raise _ApiError(
                    409, "AlreadyExists", f'pytorchjobs.kubeflow.org "{job_name}" already exists', job_name
                )
            scenario = self._scenarios.get(job_name) or (
                self.scenario_for(created) if self.scenario_for else "succeed"
            )
            job = _Job(created, scenario)
            self._set_condition(job, "Created", "PyTorchJobCreated", f"PyTorchJob {job_name} is created.")
            self._jobs[key] = job
            return self._view(job)
        if method == "GET" and name is None:
            wanted = _selector(query)
            items = [
                self._view(j)
                for (ns, _), j in self._jobs.items()
                if ns == namespace and _matches(j.body["metadata"].get("labels") or {}, wanted)
            ]
            return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJobList", "metadata": {}, "items": items}
        found = self._jobs.get((namespace, name or ""))
        if found is None:
            raise _ApiError(
                404, "NotFound", f'pytorchjobs.kubeflow.org "{name}" not found', name or "", "pytorchjobs"
            )
        if method == "GET":
            self._poll(found)
            return self._view(found)
        if method == "DELETE":
            self._jobs.pop((namespace, str(name)))
            return {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        raise _ApiError(405, "MethodNotAllowed", f"{method} is not supported here")

    def _pods(self, namespace: str, query: dict[str, list[str]]) -> Any:
        wanted = _selector(query)
        items = [
            pod
            for (ns, _), job in self._jobs.items()
            if ns == namespace
            for pod in self._pods_of(job)
            if _matches(pod["metadata"]["labels"], wanted)
        ]
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}

    # -- the training operator, simulated ------------------------------------------------------------

    def _poll(self, job: _Job) -> None:
        if job.phase in ("Succeeded", "Failed"):
            return
        job.polls += 1
        name = job.body["metadata"]["name"]
        if job.scenario == "crash-loop":
            if job.polls >= self.running_after_polls and job.phase == "Created":
                self._set_condition(job, "Running", "PyTorchJobRunning", f"PyTorchJob {name} is running.")
            job.restarts += 1 if job.polls > self.running_after_polls else 0
            return
        if job.polls >= self.succeed_after_polls:
            self._finish(job)
        elif job.polls >= self.running_after_polls and job.phase == "Created":
            self._set_condition(job, "Running", "PyTorchJobRunning", f"PyTorchJob {name} is running.")
        elif job.scenario == "restart-then-succeed" and job.phase == "Running" and job.restarts == 0:
            job.restarts = 1
            self._set_condition(
                job,
                "Restarting",
                "PyTorchJobRestarting",
                f"PyTorchJob {name} is restarting because 1 Master replica(s) failed.",
            )

    def _finish(self, job: _Job) -> None:
        name = job.body["metadata"]["name"]
        if job.scenario == "fail":
            self._set_condition(
                job,
                "Failed",
                "PyTorchJobFailed",
                f"PyTorchJob {name} is failed because 1 Master replica(s) failed.",
            )
            return
        problem = self._write_manifest(job)
        if problem:
            self._set_condition(job, "Failed", "PyTorchJobFailed", f"PyTorchJob {name} failed: {problem}")
            return
        self._set_condition(
            job, "Succeeded", "PyTorchJobSucceeded", f"PyTorchJob {name} is successfully completed."
        )

    def _write_manifest(self, job: _Job) -> str | None:
        """What the Nova trainer does at the end: the manifest naming the checkpoint."""
        if job.manifest_written:
            return None
        metadata = job.body["metadata"]
        output = self._output_path(job)
        if not output:
            return "the recipe ConfigMap or its run.output_s3_path is missing"
        checkpoint = (
            f"s3://{self.escrow_bucket}/{metadata['name']}/{metadata['uid']}/checkpoints/step_{job.polls}"
        )
        self.write_object(
            f"{checkpoint}/model.safetensors.index.json",
            json.dumps({"simulated": True, "note": "SIMULATED checkpoint: nothing was trained"}).encode(),
        )
        manifest = {"checkpoint_s3_bucket": checkpoint}
        self.write_object(
            f"{output.rstrip('/')}/{metadata['name']}/manifest.json", json.dumps(manifest).encode()
        )
        job.manifest_written = True
        return None

    def _output_path(self, job: _Job) -> str | None:
        import yaml

        master = job.body["spec"]["pytorchReplicaSpecs"]["Master"]
        volumes = ((master.get("template") or {}).get("spec") or {}).get("volumes") or []
        name = next((v["configMap"]["name"] for v in volumes if (v.get("configMap") or {}).get("name")), None)
        config_map = self._config_maps.get((job.body["metadata"]["namespace"], str(name)))
        data = (config_map or {}).get("data") or {}
        text = data.get("config.yaml") or next(iter(data.values()), None)
        try:
            recipe = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            return None
        output = ((recipe or {}).get("run") or {}).get("output_s3_path") if isinstance(recipe, dict) else None
        return str(output) if output else None

    def _set_condition(self, job: _Job, kind: str, reason: str, message: str) -> None:
        status = job.body.setdefault("status", {})
        conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
        now = _now()
        for condition in conditions:
            if condition["status"] == "True" and condition["type"] in ("Running", "Restarting"):
                condition.update(status="False", lastUpdateTime=now, lastTransitionTime=now)
        conditions.append(
            {
                "type": kind,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            }
        )
        job.phase = kind if kind != "Created" else job.phase
        job.history.append(kind)
        replicas = self._replica_counts(job)
        if kind == "Running":
            status["startTime"] = now
            status["replicaStatuses"] = {r: {"active": n} for r, n in replicas.items()}
        elif kind in ("Succeeded", "Failed"):
            status["completionTime"] = now
            key = "succeeded" if kind == "Succeeded" else "failed"
            status["replicaStatuses"] = {r: {key: n} for r, n in replicas.items()}

    @staticmethod
    def _replica_counts(job: _Job) -> dict[str, int]:
        specs = job.body["spec"]["pytorchReplicaSpecs"]
        return {kind: int(spec.get("replicas") or 1) for kind, spec in specs.items()}

    def _pods_of(self, job: _Job) -> list[dict[str, Any]]:
        name = job.body["metadata"]["name"]
        pods = []
        for kind, count in self._replica_counts(job).items():
            for index in range(count):
                master = kind == "Master"
                pods.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": f"{name}-{kind.lower()}-{index}",
                            "namespace": job.body["metadata"]["namespace"],
                            "labels": {
                                "training.kubeflow.org/job-name": name,
                                "training.kubeflow.org/replica-type": kind.lower(),
                                "training.kubeflow.org/replica-index": str(index),
                            },
                        },
                        "status": self._pod_status(job, master),
                    }
                )
        return pods

    def _pod_status(self, job: _Job, master: bool) -> dict[str, Any]:
        container: dict[str, Any] = {
            "name": "pytorch",
            "ready": False,
            "restartCount": 0,
            "image": "nova",
            "imageID": "",  # the API server always sets it ("" until pulled)
        }
        phase = {"Created": "Pending", "Running": "Running", "Restarting": "Running"}.get(
            job.phase, job.phase
        )
        if job.phase in ("Running", "Restarting"):
            container.update(ready=True, state={"running": {"startedAt": _now()}}, restartCount=job.restarts)
        elif job.phase == "Succeeded":
            container["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        elif job.phase == "Failed":
            container["state"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "message": "rank 0 exited with 1"}
            }
        else:
            container["state"] = {"waiting": {"reason": "ContainerCreating"}}
        if master and job.scenario == "crash-loop" and job.restarts:
            phase = "Running"
            container.update(
                ready=False,
                restartCount=job.restarts,
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off restarting failed container",
                    }
                },
                lastState={
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "message": "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: "
                        "train.py FAILED",
                    }
                },
            )
        return {"phase": phase, "containerStatuses": [container]}

    def _view(self, job: _Job) -> dict[str, Any]:
        return dict(json.loads(json.dumps(job.body)))  # a copy: callers never share the state


def _selector(query: dict[str, list[str]]) -> dict[str, str]:
    raw = (query.get("labelSelector") or [""])[0]
    pairs = [part.split("=", 1) for part in raw.split(",") if "=" in part]
    return {k.strip(): v.strip().lstrip("=") for k, v in pairs}


def _matches(labels: dict[str, Any], wanted: dict[str, str]) -> bool:
    return all(str(labels.get(k)) == v for k, v in wanted.items())


def _check_token(auth: str | None) -> None:
    """The EKS token's shape: ``Bearer k8s-aws-v1.<base64url of a presigned GetCallerIdentity URL>``."""

    def refuse(why: str) -> _ApiError:
        return _ApiError(401, "Unauthorized", f"Unauthorized: {why}")

    if not auth or not auth.startswith("Bearer k8s-aws-v1."):
        raise refuse("no EKS bearer token")
    encoded = auth.removeprefix("Bearer k8s-aws-v1.")
    try:
        url = urlparse(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise refuse("the token is not base64url") from None
    query = parse_qs(url.query)
    host = url.hostname or ""
    if not re.fullmatch(r"sts(\.[a-z0-9-]+)?\.amazonaws\.com", host):
        raise refuse(f"the token is not an STS URL ({host})")
    if query.get("Action") != ["GetCallerIdentity"]:
        raise refuse("the token does not presign GetCallerIdentity")
    if "x-k8s-aws-id" not in (query.get("X-Amz-SignedHeaders") or [""])[0].split(";"):
        raise refuse("the token does not sign the x-k8s-aws-id header")
    if int((query.get("X-Amz-Expires") or ["0"])[0]) > 900 or not query.get("X-Amz-Signature"):
        raise refuse("the token has no signature or lives longer than 15 minutes")


class _Handler(BaseHTTPRequestHandler):
    sim: SimulatedHyperPodCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the local stack shows what matters

    def _serve(self, method: str) -> None:
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
            answer, code = (
                self.sim.handle(
                    method, parsed.path, parse_qs(parsed.query), body, self.headers.get("Authorization")
                ),
                200,
            )
            code = 201 if method == "POST" else 200
        except _ApiError as error:
            answer, code = error.body(), error.code
        except ValueError:
            answer, code = _ApiError(400, "BadRequest", "the body is not JSON").body(), 400
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")
