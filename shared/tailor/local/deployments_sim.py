"""SIMULATED Bedrock on-demand deployments and runtime, for the local stack only.

moto 5.2 mocks none of ``CreateCustomModelDeployment`` / ``Get…`` / ``List…`` / ``Delete…``, and
its ``bedrock-runtime`` backend answers ``InvokeModel`` only (``Converse`` raises
``NotImplementedError`` → HTTP 500). moto's server finds a handler by matching the request's method
and path against botocore's service models (``bedrock`` first, then ``bedrock-agent``, then
``bedrock-runtime``: they share the signing name ``bedrock``) and then calls the method of that
name on the response class. So ``install()`` adds those methods to ``moto.bedrock.responses.
BedrockResponse`` and ``moto.bedrockruntime.responses.BedrockRuntimeResponse`` while a stack runs,
and ``uninstall()`` removes them again.

What it plays (aws-facts §4): a deployment ARN
``arn:aws:bedrock:<region>:<account>:custom-model-deployment/<12 [a-z0-9]>``; the same
``clientRequestToken`` answers the same deployment; the model must be a custom model moto's Bedrock
knows whose job (if any) is ``Completed``; status ``Creating`` → ``Active`` (or ``Failed`` when
steered) after ``active_after_seconds`` or, if set, after ``active_after_gets`` reads; a quota of
deployments in ``Creating``; ``Delete`` removes it at once. ``Converse`` on an ``Active`` deployment
answers a short, deterministic text labelled ``[simulated by the Tailor local stack — no model
ran]`` with ``additionalModelResponseFields.tailorSimulated = true``; ``InvokeModel`` on a
deployment ARN answers the same in Nova's messages-v1 shape (other model ids: moto's own). No model
runs.

Steering a failure: the tag ``tailor:simulate-deploy`` = ``fail`` on the deployment, on the custom
model, or on the job that made it (job.json ``tags`` → ``jobTags``); or
``DeploymentConfig(fail=True)`` for every deployment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

__all__ = [
    "LABEL",
    "SIMULATE_DEPLOY_TAG",
    "DeploymentConfig",
    "DeploymentSimulator",
    "SimulatedDeployment",
    "answer_text",
    "install",
    "installed",
    "uninstall",
]

LABEL = "[simulated by the Tailor local stack — no model ran]"
SIMULATE_DEPLOY_TAG = "tailor:simulate-deploy"
FAILURE_MESSAGE = (
    "SIMULATED by the Tailor local stack: the deployment failed as steered "
    f"({SIMULATE_DEPLOY_TAG}=fail or DeploymentConfig(fail=True)); nothing ran."
)
INVALID_MODEL = "The provided model identifier is invalid."
#: Base models whose fine-tuned or distilled custom models Bedrock deploys on demand (aws-facts §4).
ON_DEMAND_BASE_MODELS = ("amazon.nova-micro", "amazon.nova-lite", "amazon.nova-pro", "amazon.nova-2-lite")
ON_DEMAND_TYPES = frozenset({"FINE_TUNING", "DISTILLATION"})

_NAME = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")
_CUSTOM_MODEL_ARN = re.compile(
    r"^arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/"
    r"(imported|[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}"
    r"([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}$"
)
_DEPLOYMENTS_PATH = "/model-customization/custom-model-deployments"
_LOCK = threading.RLock()
_ORIGINALS: dict[tuple[str, str], Any] = {}
_ACTIVE: list[DeploymentSimulator] = []
_MISSING = object()


@dataclass(frozen=True)
class DeploymentConfig:
    """How simulated deployments behave. Tests: ``active_after_gets=1`` (the first Get after create
    still says Creating, the next says Active) or ``DeploymentSimulator.finish()``."""

    #: Creating → Active (or Failed) this long after the create (default fits a demo).
    active_after_seconds: float = 2.0
    #: If set, Creating → Active after this many Get calls of the deployment instead (deterministic).
    active_after_gets: int | None = None
    #: Deployments allowed in Creating at once; one more → ServiceQuotaExceededException.
    quota: int = 2
    #: Every deployment fails (as the tag tailor:simulate-deploy=fail does for one).
    fail: bool = False
    #: Refuse models Bedrock cannot deploy on demand (not Nova Micro/Lite/Pro/2 Lite fine-tuned/distilled).
    check_support: bool = True

    def __post_init__(self) -> None:
        if self.active_after_seconds < 0:
            raise ValueError("active_after_seconds must be >= 0")
        if self.active_after_gets is not None and self.active_after_gets < 0:
            raise ValueError("active_after_gets must be >= 0")
        if self.quota < 1:
            raise ValueError("quota must be >= 1")

    def describe(self) -> str:
        timing = (
            f"Active after {self.active_after_gets} Get call(s)"
            if self.active_after_gets is not None
            else f"Active in {self.active_after_seconds:g} s"
        )
        return f"{timing}, quota {self.quota} creating" + (", all fail" if self.fail else "")


@dataclass
class SimulatedDeployment:
    arn: str
    name: str
    model_arn: str
    token: str | None
    description: str | None
    tags: dict[str, str]
    created: datetime
    fate: str  # Active | Failed
    status: str = "Creating"
    updated: datetime | None = None
    gets: int = 0
    invocations: int = 0

    def summary(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "customModelDeploymentArn": self.arn,
            "customModelDeploymentName": self.name,
            "modelArn": self.model_arn,
            "createdAt": _iso(self.created),
            "status": self.status,
            "lastUpdatedAt": _iso(self.updated or self.created),
        }
        if self.status == "Failed":
            document["failureMessage"] = FAILURE_MESSAGE
        return document

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "customModelDeploymentArn": self.arn,
            "modelDeploymentName": self.name,
            "modelArn": self.model_arn,
            "createdAt": _iso(self.created),
            "status": self.status,
            "lastUpdatedAt": _iso(self.updated or self.created),
        }
        if self.description:
            document["description"] = self.description
        if self.status == "Failed":
            document["failureMessage"] = FAILURE_MESSAGE
        return document


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now() -> datetime:
    return datetime.now(UTC)


def answer_text(prompt: str) -> str:
    """The simulated runtime's answer to ``prompt`` (deterministic, labelled)."""
    flat = " ".join(prompt.split())
    quoted = flat[:60] + ("…" if len(flat) > 60 else "")
    return f'{LABEL} You asked: "{quoted}"'


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def _error(code: str, message: str, status: int = 400) -> Exception:
    from moto.bedrock.exceptions import BedrockClientError

    error = BedrockClientError(code, message)
    error.code = status
    return error


def _not_found(identifier: str) -> Exception:
    return _error("ResourceNotFoundException", f"Custom model deployment {identifier} not found.", 404)


def _tags(raw: Any) -> dict[str, str]:
    """Bedrock's ``[{key, value}]`` (or moto's tagger's ``[{Key, Value}]``) → a dict."""
    tags: dict[str, str] = {}
    for tag in raw or []:
        if isinstance(tag, dict):
            key = tag.get("key", tag.get("Key"))
            if key is not None:
                tags[str(key)] = str(tag.get("value", tag.get("Value", "")))
    return tags


def _tagged(backend: Any, arn: str) -> dict[str, str]:
    return _tags(backend.tagger.list_tags_for_resource(arn)["Tags"])


class DeploymentSimulator:
    """The local stack's deployments (one per stack, ``LocalStack.deployment_simulator``).

    State lives here, not in moto (a moto reset does not clear it; a new stack has a new one).
    """

    def __init__(self, config: DeploymentConfig | None = None, *, clock: Callable[[], datetime] = _now):
        self.config = config or DeploymentConfig()
        self.clock = clock
        self.deployments: dict[str, SimulatedDeployment] = {}  # arn → deployment
        #: Every Converse answered: (deployment ARN, prompt, answer text).
        self.invocations: list[tuple[str, str, str]] = []
        self._counter = 0

    # -- life -------------------------------------------------------------------------------------

    def install(self) -> None:
        install()
        with _LOCK:
            _ACTIVE.clear()
            _ACTIVE.append(self)

    def uninstall(self) -> None:
        with _LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        uninstall()

    def describe(self) -> str:
        return self.config.describe()

    # -- driving (tests) --------------------------------------------------------------------------

    def finish(self, identifier: str | None = None) -> list[SimulatedDeployment]:
        """Settle deployment(s) in Creating (name or ARN; default all) to their fate now."""
        with _LOCK:
            settled = []
            for deployment in self.deployments.values():
                if identifier not in (None, deployment.arn, deployment.name):
                    continue
                if deployment.status == "Creating":
                    self._settle(deployment, self.clock())
                    settled.append(deployment)
            return settled

    def deployment(self, identifier: str) -> SimulatedDeployment | None:
        with _LOCK:
            found = self._find(identifier)
            if found is not None:
                self._refresh(found)
            return found

    # -- semantics ------------------------------------------------------------------------------

    def _find(self, identifier: str) -> SimulatedDeployment | None:
        if identifier in self.deployments:
            return self.deployments[identifier]
        return next((d for d in self.deployments.values() if d.name == identifier), None)

    def _settle(self, deployment: SimulatedDeployment, now: datetime) -> None:
        deployment.status = deployment.fate
        deployment.updated = now

    def _refresh(self, deployment: SimulatedDeployment) -> None:
        if deployment.status != "Creating" or self.config.active_after_gets is not None:
            return
        due = deployment.created + timedelta(seconds=self.config.active_after_seconds)
        if self.clock() >= due:
            self._settle(deployment, due)

    def _arn(self, region: str, account: str, name: str) -> str:
        self._counter += 1
        seed = f"{account}/{region}/{name}/{self._counter}/{self.clock().isoformat()}"
        suffix = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()[:12]
        return f"arn:aws:bedrock:{region}:{account}:custom-model-deployment/{suffix}"

    def _custom_model(self, backend: Any, model_arn: str) -> Any:
        """moto's custom model with this ARN whose job (if moto knows it) is Completed, or None."""
        model = next((m for m in backend.custom_models.values() if m.model_arn == model_arn), None)
        if model is None:
            return None
        job = backend.model_customization_jobs.get(getattr(model, "job_name", None) or "")
        if job is not None and job.status != "Completed":
            return None
        return model

    def _fate(self, backend: Any, model: Any, tags: dict[str, str]) -> str:
        if self.config.fail:
            return "Failed"
        steer = [tags.get(SIMULATE_DEPLOY_TAG), _tagged(backend, model.model_arn).get(SIMULATE_DEPLOY_TAG)]
        job = backend.model_customization_jobs.get(getattr(model, "job_name", None) or "")
        if job is not None:
            steer.append(_tags(job.job_tags).get(SIMULATE_DEPLOY_TAG))
            steer.append(_tagged(backend, job.job_arn).get(SIMULATE_DEPLOY_TAG))
        return "Failed" if "fail" in steer else "Active"

    def _check_support(self, model: Any) -> None:
        if not self.config.check_support:
            return
        base = str(getattr(model, "base_model_arn", "") or getattr(model, "base_model_name", ""))
        base_id = base.rsplit("/", 1)[-1]
        kind = getattr(model, "customization_type", None) or "FINE_TUNING"
        if not base_id.startswith(ON_DEMAND_BASE_MODELS) or kind not in ON_DEMAND_TYPES:
            raise _error(
                "ValidationException",
                f"The model {model.model_arn} ({base_id}, {kind}) does not support on-demand deployment "
                "(SIMULATED check by the Tailor local stack: Nova Micro/Lite/Pro/2 Lite fine-tuned or "
                "distilled only; use Provisioned Throughput).",
            )

    def create(self, backend: Any, params: dict[str, Any]) -> str:
        name = str(params.get("modelDeploymentName") or "")
        model_arn = str(params.get("modelArn") or "")
        token = params.get("clientRequestToken")
        with _LOCK:
            if token:
                for deployment in self.deployments.values():
                    if deployment.token == token:  # the same request again
                        return deployment.arn
            if not _NAME.match(name):
                raise _error(
                    "ValidationException",
                    f"1 validation error detected: Value '{name}' at 'modelDeploymentName' failed to satisfy "
                    "constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){1,63}",
                )
            if not _CUSTOM_MODEL_ARN.match(model_arn):
                raise _error(
                    "ValidationException",
                    f"1 validation error detected: Value '{model_arn}' at 'modelArn' failed to satisfy "
                    "constraint: Member must be a custom model ARN",
                )
            model = self._custom_model(backend, model_arn)
            if model is None:
                raise _error("ResourceNotFoundException", f"Custom model {model_arn} not found.", 404)
            if any(d.name == name for d in self.deployments.values()):
                raise _error(
                    "ValidationException",
                    f"The deployment name {name} is currently in use "
                    "(SIMULATED answer: AWS's is unverified).",
                )
            self._check_support(model)
            for deployment in self.deployments.values():
                self._refresh(deployment)
            creating = sum(1 for d in self.deployments.values() if d.status == "Creating")
            if creating >= self.config.quota:
                raise _error(
                    "ServiceQuotaExceededException",
                    f"SIMULATED quota of the Tailor local stack: {creating} custom model deployment(s) are "
                    f"already being created (quota {self.config.quota}); retry later.",
                )
            tags = _tags(params.get("tags"))
            deployment = SimulatedDeployment(
                arn=self._arn(backend.region_name, backend.account_id, name),
                name=name,
                model_arn=model_arn,
                token=str(token) if token else None,
                description=params.get("description"),
                tags=tags,
                created=self.clock(),
                fate=self._fate(backend, model, tags),
            )
            if self.config.active_after_gets == 0 or (
                self.config.active_after_gets is None and self.config.active_after_seconds == 0
            ):
                self._settle(deployment, deployment.created)
            self.deployments[deployment.arn] = deployment
            if tags:
                backend.tagger.tag_resource(deployment.arn, [{"Key": k, "Value": v} for k, v in tags.items()])
            return deployment.arn

    def get(self, identifier: str) -> dict[str, Any]:
        with _LOCK:
            deployment = self._find(identifier)
            if deployment is None:
                raise _not_found(identifier)
            deployment.gets += 1
            gets = self.config.active_after_gets
            if gets is not None and deployment.status == "Creating" and deployment.gets > gets:
                self._settle(deployment, self.clock())
            self._refresh(deployment)
            return deployment.document()

    def delete(self, backend: Any, identifier: str) -> None:
        with _LOCK:
            deployment = self._find(identifier)
            if deployment is None:
                raise _not_found(identifier)
            del self.deployments[deployment.arn]
            backend.tagger.delete_all_tags_for_resource(deployment.arn)

    def list(self, query: dict[str, str]) -> dict[str, Any]:
        with _LOCK:
            found = list(self.deployments.values())
            for deployment in found:
                self._refresh(deployment)
            if "nameContains" in query:
                found = [d for d in found if query["nameContains"] in d.name]
            if "statusEquals" in query:
                found = [d for d in found if d.status == query["statusEquals"]]
            if "modelArnEquals" in query:
                found = [d for d in found if d.model_arn == query["modelArnEquals"]]
            if "createdAfter" in query:
                after = datetime.fromisoformat(query["createdAfter"].replace("Z", "+00:00"))
                found = [d for d in found if d.created > after]
            if "createdBefore" in query:
                before = datetime.fromisoformat(query["createdBefore"].replace("Z", "+00:00"))
                found = [d for d in found if d.created < before]
            found.sort(key=lambda d: (d.created, d.arn), reverse=query.get("sortOrder") != "Ascending")
            try:
                start = int(query.get("nextToken") or 0)
                size = int(query.get("maxResults") or 100)
            except ValueError as error:
                raise _error("ValidationException", "Invalid pagination token.") from error
            page = found[start : start + size]
            answer: dict[str, Any] = {"modelDeploymentSummaries": [d.summary() for d in page]}
            if start + size < len(found):
                answer["nextToken"] = str(start + size)
            return answer

    def converse(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with _LOCK:
            deployment = self._find(model_id) if model_id.startswith("arn:") else None
            if deployment is None:
                if ":custom-model-deployment/" in model_id or model_id.startswith("arn:"):
                    raise _error("ValidationException", INVALID_MODEL)
                raise _error(
                    "ValidationException",
                    f"{INVALID_MODEL} (The Tailor local stack's SIMULATED runtime answers only this stack's "
                    "custom model deployments, by ARN.)",
                )
            self._refresh(deployment)
            if deployment.status == "Creating":
                raise _error(
                    "ModelNotReadyException",
                    "The model specified in the request is not ready to serve inference requests "
                    "(the deployment is still Creating).",
                    429,
                )
            if deployment.status != "Active":
                raise _error("ValidationException", INVALID_MODEL)
            messages = body.get("messages") or []
            if not messages:
                raise _error("ValidationException", "A conversation must start with a user message.")
            texts = [
                str(part.get("text", ""))
                for message in messages
                for part in message.get("content") or []
                if isinstance(part, dict)
            ]
            system = " ".join(str(part.get("text", "")) for part in body.get("system") or [])
            last = messages[-1]
            prompt = " ".join(
                str(p.get("text", "")) for p in last.get("content") or [] if isinstance(p, dict)
            )
            text = answer_text(prompt)
            stop = "end_turn"
            limit = (body.get("inferenceConfig") or {}).get("maxTokens")
            if isinstance(limit, int) and limit > 0 and _tokens(text) > limit:
                text, stop = text[: limit * 4], "max_tokens"
            deployment.invocations += 1
            self.invocations.append((deployment.arn, prompt, text))
            inputs = _tokens(system) + sum(_tokens(t) for t in texts)
            outputs = _tokens(text)
            return {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": stop,
                "usage": {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs},
                "metrics": {"latencyMs": 1},
                "additionalModelResponseFields": {"tailorSimulated": True},
            }


# -- moto handlers -------------------------------------------------------------------------------


def _simulator() -> DeploymentSimulator:
    if not _ACTIVE:  # pragma: no cover - handlers are only installed with a simulator
        raise _error("InternalServerException", "no local deployment simulator is running", 500)
    return _ACTIVE[0]


def _path(response: Any) -> str:
    return str(response.path).split("?", 1)[0]


def _identifier(response: Any) -> str:
    path = _path(response)
    return unquote(path.split(_DEPLOYMENTS_PATH + "/", 1)[-1])


def _create(self: Any) -> tuple[str, dict[str, Any]]:
    arn = _simulator().create(self.bedrock_backend, json.loads(self.body or "{}"))
    return json.dumps({"customModelDeploymentArn": arn}), {"status": 202}


def _get(self: Any) -> str:
    return json.dumps(_simulator().get(_identifier(self)))


def _delete(self: Any) -> str:
    _simulator().delete(self.bedrock_backend, _identifier(self))
    return json.dumps({})


def _list(self: Any) -> str:
    # moto parses the query string into ``querystring`` (name → list of values)
    query = {str(key): str(values[-1]) for key, values in (self.querystring or {}).items() if values}
    return json.dumps(_simulator().list(query))


def _converse(self: Any) -> str:
    path = _path(self)
    model_id = unquote(path.split("/model/", 1)[-1].rsplit("/converse", 1)[0])
    return json.dumps(_simulator().converse(model_id, json.loads(self.body or "{}")))


def _invoke_model(self: Any) -> Any:
    """``InvokeModel`` on a deployment ARN: Nova's messages-v1 body, answered as ``Converse`` is (the
    same label; ``tailorSimulated`` at the top level). Any other model id: moto's own handler."""
    path = _path(self)
    model_id = unquote(path.split("/model/", 1)[-1].rsplit("/invoke", 1)[0])
    if ":custom-model-deployment/" not in model_id:
        return _ORIGINALS[("bedrock-runtime", "invoke_model")](self)
    try:
        request = json.loads(self.body or "{}")
    except ValueError as error:
        raise _error("ValidationException", "Malformed input request: the body is not JSON.") from error
    answer = _simulator().converse(model_id, request)
    body = {
        "output": answer["output"],
        "stopReason": answer["stopReason"],
        "usage": answer["usage"],
        "tailorSimulated": True,
    }
    return json.dumps(body), {"status": 200, "Content-Type": "application/json"}


def _handlers() -> dict[tuple[str, str], Callable[..., Any]]:
    return {
        ("bedrock", "create_custom_model_deployment"): _create,
        ("bedrock", "get_custom_model_deployment"): _get,
        ("bedrock", "list_custom_model_deployments"): _list,
        ("bedrock", "delete_custom_model_deployment"): _delete,
        ("bedrock-runtime", "converse"): _converse,
        ("bedrock-runtime", "invoke_model"): _invoke_model,
        ("backend", "_list_arns"): _list_arns,
    }


def _list_arns(self: Any) -> list[str]:
    """moto's ARNs that Tag/Untag/ListTagsForResource accept, plus this stack's deployments."""
    arns: list[str] = _ORIGINALS[("backend", "_list_arns")](self)
    with _LOCK:
        if _ACTIVE:
            arns += list(_ACTIVE[0].deployments)
    return arns


def _classes() -> dict[str, Any]:
    from moto.bedrock.models import BedrockBackend
    from moto.bedrock.responses import BedrockResponse
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    return {"bedrock": BedrockResponse, "bedrock-runtime": BedrockRuntimeResponse, "backend": BedrockBackend}


def installed() -> bool:
    return bool(_ORIGINALS)


def install() -> None:
    """Add the handlers to moto's Bedrock response classes (idempotent)."""
    classes = _classes()
    with _LOCK:
        if _ORIGINALS:
            return
        for (service, name), handler in _handlers().items():
            cls = classes[service]
            _ORIGINALS[(service, name)] = cls.__dict__.get(name, _MISSING)
            setattr(cls, name, handler)


def uninstall() -> None:
    """Remove them (or restore moto's own, should a later moto have any) (idempotent)."""
    classes = _classes()
    with _LOCK:
        for (service, name), original in _ORIGINALS.items():
            if original is _MISSING:
                delattr(classes[service], name)
            else:
                setattr(classes[service], name, original)
        _ORIGINALS.clear()
        _ACTIVE.clear()
