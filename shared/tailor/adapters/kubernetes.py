"""The EKS cluster's Kubernetes API: ConfigMaps, Kubeflow PyTorchJobs and their pods.

The real ``kubernetes`` client over HTTPS, authenticated with an EKS token (``eks_token``); the
endpoint and CA come from ``eks:DescribeCluster``. Imported lazily: the client is heavy and only
the HyperPod function needs it. Errors are sorted once, here (``KubeError.kind``): 409 is a
conflict (the caller checks whether the object is its own), 429/5xx, 401/403 and timeouts are
retried (an access entry or RBAC being fixed heals without the user's data changing), 400/422 are
findings about the request. 404 is "not there", never an error.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.adapters.errors import BackendCallError, ErrorKind

PYTORCH_GROUP = "kubeflow.org"
PYTORCH_VERSION = "v1"
PYTORCH_PLURAL = "pytorchjobs"
JOB_NAME_LABEL = "training.kubeflow.org/job-name"  # the training-operator's label on a job's pods
_TIMEOUT = (5, 30)  # connect, read (seconds)
_RBAC_HINT = (
    "give the HyperPod function's role its access entry and apply deploy/hyperpod/rbac.yaml "
    "in the job namespace (docs/hyperpod.md)"
)


class KubeError(BackendCallError):
    """A classified Kubernetes API error."""

    @classmethod
    def from_api_exception(cls, error: Any, what: str) -> KubeError:
        status = int(getattr(error, "status", 0) or 0)
        reason, message = _status_body(getattr(error, "body", None))
        reason = reason or str(getattr(error, "reason", "") or status)
        text = f"{what}: {message or reason} (HTTP {status})"
        if status == 409:
            return cls(reason or "AlreadyExists", text, ErrorKind.CONFLICT)
        if status in (401, 403):
            return cls(reason or "Forbidden", text, ErrorKind.RETRY, _RBAC_HINT)
        if status in (400, 422):
            return cls(
                reason or "Invalid", text, ErrorKind.FATAL, "the rendered job was refused: see the message"
            )
        return cls(reason or "ServerError", text, ErrorKind.RETRY)


def _status_body(body: Any) -> tuple[str, str]:
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else {}
    except ValueError:
        return "", str(body)[:200]
    if not isinstance(parsed, dict):
        return "", ""
    return str(parsed.get("reason") or ""), str(parsed.get("message") or "")


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """Where the cluster's API is and how to trust it."""

    cluster_name: str
    endpoint: str
    ca_data: str | None = None  # base64 PEM, as DescribeCluster gives it; None: plain HTTP (local)


def describe_cluster(
    cluster_name: str, region: str | None = None, client: Any | None = None
) -> ClusterAccess:
    eks = client or aws.client("eks", region)
    try:
        cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    except Exception as error:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            raise KubeError(
                code,
                f"EKS cluster {cluster_name!r} does not exist in this region",
                ErrorKind.RETRY,
                "set HyperPodClusterName to the EKS cluster that orchestrates the HyperPod cluster",
            ) from error
        raise
    return ClusterAccess(
        cluster_name=cluster_name,
        endpoint=str(cluster["endpoint"]),
        ca_data=(cluster.get("certificateAuthority") or {}).get("data"),
    )


class JobsApi(Protocol):
    """What the HyperPod backend and its reconciler need from the cluster."""

    namespace: str

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create a ConfigMap or a PyTorchJob; KubeError(kind=CONFLICT) when the name is taken."""
        ...

    def get_job(self, name: str) -> dict[str, Any] | None: ...

    def get_config_map(self, name: str) -> dict[str, Any] | None: ...

    def list_jobs(self, label_selector: str) -> list[dict[str, Any]]: ...

    def job_pods(self, name: str) -> list[dict[str, Any]]: ...


class KubernetesJobs:
    """JobsApi on the ``kubernetes`` client."""

    def __init__(self, access: ClusterAccess, token: Callable[[], str], namespace: str) -> None:
        self.access = access
        self.namespace = namespace
        self._token = token
        self._api: Any | None = None
        self._ca_file: str | None = None

    def _client(self) -> Any:
        if self._api is None:
            from kubernetes import client

            config = client.Configuration()
            config.host = self.access.endpoint
            if self.access.ca_data:
                self._ca_file = _write_ca(self.access.ca_data)
                config.ssl_ca_cert = self._ca_file
            config.api_key = {"authorization": self._token()}
            config.api_key_prefix = {"authorization": "Bearer"}
            # Asked before every request: a fresh token when the cached one is about to expire.
            config.refresh_api_key_hook = lambda c: c.api_key.update(authorization=self._token())  # type: ignore[assignment]
            self._api = client.ApiClient(config)
        return self._api

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self._client())

    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self._client())

    def _call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return function(*args, _request_timeout=_TIMEOUT, **kwargs)
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeError.from_api_exception(error, what) from error

    def _plain(self, obj: Any) -> dict[str, Any]:
        # Raw JSON, not the client's typed models: reading tolerantly (a field a newer API server
        # adds or omits must not fail deserialization).
        if hasattr(obj, "data") and isinstance(obj.data, bytes | bytearray):
            return dict(json.loads(obj.data or b"{}"))
        return dict(self._client().sanitize_for_serialization(obj))

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        kind, name = manifest.get("kind"), manifest.get("metadata", {}).get("name")
        what = f"create {kind} {self.namespace}/{name}"
        if kind == "ConfigMap":
            created = self._call(
                what,
                self._core().create_namespaced_config_map,
                self.namespace,
                dict(manifest),
                _preload_content=False,
            )
            result = self._plain(created) if created is not None else None
        elif kind == "PyTorchJob":
            result = self._call(
                what,
                self._custom().create_namespaced_custom_object,
                PYTORCH_GROUP,
                PYTORCH_VERSION,
                self.namespace,
                PYTORCH_PLURAL,
                dict(manifest),
            )
        else:
            raise ValueError(f"Tailor creates ConfigMaps and PyTorchJobs only, not {kind}")
        if result is None:  # 404 on create: the namespace does not exist
            raise KubeError(
                "NotFound",
                f"{what}: namespace {self.namespace!r} not found",
                ErrorKind.RETRY,
                "create the namespace or set HyperPodNamespace to one that exists",
            )
        return dict(result)

    def get_job(self, name: str) -> dict[str, Any] | None:
        found = self._call(
            f"get PyTorchJob {self.namespace}/{name}",
            self._custom().get_namespaced_custom_object,
            PYTORCH_GROUP,
            PYTORCH_VERSION,
            self.namespace,
            PYTORCH_PLURAL,
            name,
        )
        return dict(found) if found is not None else None

    def get_config_map(self, name: str) -> dict[str, Any] | None:
        found = self._call(
            f"get ConfigMap {self.namespace}/{name}",
            self._core().read_namespaced_config_map,
            name,
            self.namespace,
            _preload_content=False,
        )
        return self._plain(found) if found is not None else None

    def list_jobs(self, label_selector: str) -> list[dict[str, Any]]:
        found = self._call(
            f"list PyTorchJobs in {self.namespace}",
            self._custom().list_namespaced_custom_object,
            PYTORCH_GROUP,
            PYTORCH_VERSION,
            self.namespace,
            PYTORCH_PLURAL,
            label_selector=label_selector,
        )
        return [dict(item) for item in (found or {}).get("items", [])]

    def job_pods(self, name: str) -> list[dict[str, Any]]:
        found = self._call(
            f"list pods of {self.namespace}/{name}",
            self._core().list_namespaced_pod,
            self.namespace,
            label_selector=f"{JOB_NAME_LABEL}={name}",
            _preload_content=False,
        )
        return list(self._plain(found).get("items", [])) if found is not None else []


def _write_ca(ca_data: str) -> str:
    # The client takes a file path only; /tmp is the writable place in Lambda.
    handle = tempfile.NamedTemporaryFile(prefix="eks-ca-", suffix=".pem", delete=False)  # noqa: SIM115
    with handle:
        handle.write(base64.b64decode(ca_data))
    return str(Path(handle.name))
