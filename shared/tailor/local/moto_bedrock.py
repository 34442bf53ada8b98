"""Where moto 5.2's Bedrock differs from AWS's, and the local stack's repairs.

The local stack runs moto's server in this process, so the repairs patch moto's Bedrock response
handlers (``moto.bedrock.responses.BedrockResponse``) while a stack runs: ``install()`` when it
starts, ``uninstall()`` when it stops (plain ``mock_aws`` tests outside a stack see moto as it
is). The services never know: they call the same boto3 API and get what AWS would answer.

Verified against moto 5.2.5 (``tests/integration/local/test_moto_facts.py`` pins each fact, and
``test_local_bedrock.py`` the repaired behaviour):

- ``CreateModelCustomizationJob`` with a ``clientRequestToken`` already used raises
  ``ResourceInUseException`` (same name) or creates a second job (another name); AWS ignores the
  repeat and answers the first job's ARN → the first job's ARN.
- Job ARNs are ``…:model-customization-job/<job name>``; AWS's are
  ``…:model-customization-job/<base model id>/<12 [a-z0-9]>`` (the last part is the job id in the
  output paths) → AWS's shape (tags follow the job).
- ``GetModelCustomizationJob`` / ``StopModelCustomizationJob`` by ARN answer
  ``ResourceNotFoundException`` (the path parameter is never URL-decoded) → names and ARNs.
- ``customizationConfig`` (distillation's teacher) is dropped → kept and echoed.
- ``outputModelName`` is ``<customModelName>-<jobName>`` (AWS: the ``customModelName``); a job in
  progress carries ``failureMessage: "Failure Message"``, an ``endTime``, an ``outputModelArn`` and
  zero metrics, and an invented ``outputModelKmsKeyArn`` → each only where AWS sends it.
- Timestamps are local ``YYYY-MM-DD HH:MM:SS`` strings (boto3 parses them naive) → ISO-8601 UTC.

- ``CreateCustomModel`` (importing a checkpoint trained elsewhere: HyperPod CPT) is missing →
  played with AWS's semantics (token idempotency, name conflicts, ``custom-model/imported/<id>``).

Not repaired here: jobs never leave ``InProgress`` by themselves, ``Stop`` goes straight to
``Stopped`` (AWS: ``Stopping`` first), no ``statusDetails``, no "Model Customization Job State
Change" events, nothing is written to the output URI, and the custom model exists
(``GetCustomModel``) from the job's creation. The Bedrock simulator (``tailor.local.bedrock_sim``,
opt-in) plays those through the hooks below (``set_hooks``): a quota check before a new job is
created, the job once created, and ``Stop``. ``Get``/``List`` echo a job's ``statusDetails`` when the
simulator has set them (``job.tailor_status_details``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote

__all__ = [
    "REPAIRS",
    "BedrockHooks",
    "aws_job_arn",
    "find_job",
    "install",
    "installed",
    "service_quota_exceeded",
    "set_hooks",
    "to_iso",
    "uninstall",
    "validation_error",
]

#: What the repairs change, for the local stack's summary.
REPAIRS: tuple[tuple[str, str], ...] = (
    ("Bedrock: a repeated clientRequestToken raises or makes a second job", "answers the first job's ARN"),
    ("Bedrock: job ARNs end in the job name", "AWS's <base model id>/<12-char job id> shape"),
    ("Bedrock: Get/Stop by job ARN answer ResourceNotFound", "names and ARNs both work"),
    ("Bedrock: customizationConfig not echoed", "kept and returned by GetModelCustomizationJob"),
    ("Bedrock: no CreateCustomModel (model import)", "imports with AWS's token and name semantics"),
    (
        "Bedrock: in-progress jobs carry failureMessage, endTime, outputModelArn",
        "only in the states AWS sends them; outputModelName = customModelName; ISO-8601 UTC times",
    ),
)

_TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
_LOCK = threading.Lock()
_ORIGINALS: dict[str, Callable[..., Any]] = {}
_MISSING: Any = object()


class BedrockHooks(Protocol):
    """What a simulator may add to the repaired handlers (``set_hooks``). Runs in moto's request
    thread; an exception raised by a hook is the API's answer (e.g. ``service_quota_exceeded``)."""

    def before_create(self, backend: Any, params: dict[str, Any]) -> None:
        """Before a *new* job is created (not for a repeated token, which answers the first job)."""

    def created(self, backend: Any, job: Any) -> None:
        """After a new job is created and repaired (AWS ARN, ``tailor_job_id``)."""

    def stop(self, backend: Any, job: Any) -> bool:
        """``StopModelCustomizationJob`` on ``job``: True if handled (else moto's straight ``Stopped``)."""


_HOOKS: list[BedrockHooks] = []


def set_hooks(hooks: BedrockHooks | None) -> None:
    """Install (or, with None, remove) the simulator's hooks."""
    with _LOCK:
        _HOOKS.clear()
        if hooks is not None:
            _HOOKS.append(hooks)


def _hooks() -> BedrockHooks | None:
    return _HOOKS[0] if _HOOKS else None


def service_quota_exceeded(message: str) -> Exception:
    """Bedrock's ``ServiceQuotaExceededException`` (HTTP 400), raisable from a moto handler."""
    from moto.bedrock.exceptions import BedrockClientError

    return BedrockClientError("ServiceQuotaExceededException", message)


def validation_error(message: str) -> Exception:
    from moto.bedrock.exceptions import ValidationException

    return ValidationException(message)


def installed() -> bool:
    return bool(_ORIGINALS)


def aws_job_arn(partition: str, region: str, account: str, base_model: str, job_id: str) -> str:
    """``arn:<p>:bedrock:<region>:<account>:model-customization-job/<base model id>/<job id>``."""
    model_id = base_model.split("foundation-model/", 1)[-1] if base_model.startswith("arn:") else base_model
    return f"arn:{partition}:bedrock:{region}:{account}:model-customization-job/{model_id}/{job_id}"


def _job_id(account: str, region: str, name: str, created: str) -> str:
    digest = hashlib.sha256(f"{account}/{region}/{name}/{created}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:12]


def to_iso(value: Any) -> Any:
    """moto's local ``%Y-%m-%d %H:%M:%S`` → ISO-8601 UTC (what AWS sends); anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        local = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def find_job(backend: Any, identifier: str) -> Any:
    """A job of moto's backend by name or by ARN, or None."""
    jobs = backend.model_customization_jobs
    if identifier in jobs:
        return jobs[identifier]
    return next((job for job in jobs.values() if job.job_arn == identifier), None)


def _identifier(response: Any, after: str, drop_suffix: str = "") -> str:
    path = str(response.path).split("?", 1)[0]
    raw = path.split(after, 1)[1] if after in path else path.rsplit("/", 1)[-1]
    if drop_suffix and raw.endswith(drop_suffix):
        raw = raw[: -len(drop_suffix)]
    return unquote(raw)


def _not_found(identifier: str) -> Exception:
    from moto.bedrock.exceptions import ResourceNotFoundException

    return ResourceNotFoundException(f"Model customization job {identifier} not found")


def _shape(job: Any, document: dict[str, Any]) -> dict[str, Any]:
    """A job document (Get, or a List summary) as AWS would send it for the job's status."""
    status = job.status
    if status != "Failed":
        document.pop("failureMessage", None)
    if status not in _TERMINAL:
        document.pop("endTime", None)
    if status != "Completed":
        for key in ("outputModelArn", "customModelArn", "trainingMetrics", "validationMetrics"):
            document.pop(key, None)
    if not getattr(job, "custom_model_kms_key_id", None):
        document.pop("outputModelKmsKeyArn", None)  # moto invents one; AWS: only with a key
    elif "outputModelKmsKeyArn" in document:
        document["outputModelKmsKeyArn"] = job.custom_model_kms_key_id
    for key in ("creationTime", "lastModifiedTime", "endTime"):
        if key in document:
            document[key] = to_iso(document[key])
    details = getattr(job, "tailor_status_details", None)
    if details:
        document["statusDetails"] = json.loads(json.dumps(details))
    return document


def _create(self: Any) -> str:
    params = json.loads(self.body or "{}")
    backend = self.bedrock_backend
    token = params.get("clientRequestToken")
    if token:
        for job in backend.model_customization_jobs.values():
            if job.client_request_token == token:  # AWS: the same request again, ignored
                return json.dumps({"jobArn": job.job_arn})
    hooks = _hooks()
    if hooks is not None:
        hooks.before_create(backend, params)
    answer = json.loads(_ORIGINALS["create_model_customization_job"](self))
    job = find_job(backend, answer["jobArn"].rsplit("/", 1)[-1])
    if job is None:  # pragma: no cover - moto changed how it stores jobs
        return json.dumps(answer)
    old_arn = job.job_arn
    partition = old_arn.split(":", 2)[1]
    job_id = _job_id(backend.account_id, backend.region_name, job.job_name, job.creation_time)
    job.job_arn = aws_job_arn(
        partition, backend.region_name, backend.account_id, job.base_model_identifier, job_id
    )
    job.tailor_job_id = job_id
    job.customization_config = params.get("customizationConfig")
    job.output_model_name = job.custom_model_name
    if job.base_model_identifier.startswith("arn:"):
        job.base_model_arn = job.base_model_identifier
    tags = backend.tagger.list_tags_for_resource(old_arn)["Tags"]
    backend.tagger.delete_all_tags_for_resource(old_arn)
    if tags:
        backend.tagger.tag_resource(job.job_arn, tags)
    model = backend.custom_models.get(job.custom_model_name)
    if model is not None and getattr(model, "job_arn", None) == old_arn:
        model.job_arn = job.job_arn
    if hooks is not None:
        hooks.created(backend, job)
    return json.dumps({"jobArn": job.job_arn})


def _get(self: Any) -> str:
    identifier = _identifier(self, "/model-customization-jobs/")
    job = find_job(self.bedrock_backend, identifier)
    if job is None:
        raise _not_found(identifier)
    document = dict(job.to_dict())
    config = getattr(job, "customization_config", None)
    if config:
        document["customizationConfig"] = config
    return json.dumps(_shape(job, document))


def _stop(self: Any) -> str:
    identifier = _identifier(self, "/model-customization-jobs/", "/stop")
    job = find_job(self.bedrock_backend, identifier)
    if job is None:
        raise _not_found(identifier)
    hooks = _hooks()
    if hooks is not None and hooks.stop(self.bedrock_backend, job):
        return json.dumps({})
    job.status = "Stopped"
    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    job.last_modified_time = job.end_time = now
    return json.dumps({})


def _list(self: Any) -> str:
    answer = json.loads(_ORIGINALS["list_model_customization_jobs"](self))
    backend = self.bedrock_backend
    summaries = []
    for summary in answer.get("modelCustomizationJobSummaries") or []:
        job = find_job(backend, str(summary.get("jobArn", "")))
        summaries.append(_shape(job, summary) if job is not None else summary)
    answer["modelCustomizationJobSummaries"] = summaries
    if answer.get("nextToken") is None:
        answer.pop("nextToken", None)
    return json.dumps(answer)


def _create_custom_model(self: Any) -> str:
    """moto 5.2 has no CreateCustomModel (importing a model trained elsewhere, e.g. on HyperPod):
    AWS's semantics here — a repeated token answers the first model, a taken name is a conflict,
    the ARN is ``…:custom-model/imported/<12 [a-z0-9]>``, tags follow the model."""
    from moto.bedrock.exceptions import ResourceInUseException
    from moto.bedrock.models import CustomModel

    params = json.loads(self.body or "{}")
    backend = self.bedrock_backend
    name, token = str(params.get("modelName", "")), params.get("clientRequestToken")
    for model in backend.custom_models.values():
        if token and getattr(model, "tailor_import_token", None) == token:
            return json.dumps({"modelArn": model.model_arn})
    if name in backend.custom_models:
        raise ResourceInUseException(f"A custom model named {name} already exists")
    source = ((params.get("modelSourceConfig") or {}).get("s3DataSource") or {}).get("s3Uri", "")
    model = CustomModel(
        model_name=name,
        job_name="",
        job_arn="",
        base_model_arn="",
        hyper_parameters={},
        output_data_config={},
        training_data_config={"s3Uri": source},
        training_metrics={},
        base_model_name="",
        region_name=backend.region_name,
        account_id=backend.account_id,
        customization_type="IMPORTED",
        model_kms_key_arn=params.get("modelKmsKeyArn"),
        validation_data_config=None,
        validation_metrics=None,
    )
    model_id = hashlib.sha256(f"{backend.account_id}/{name}".encode()).hexdigest()[:12]
    partition = model.model_arn.split(":", 2)[1]
    model.model_arn = (
        f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:custom-model/imported/{model_id}"
    )
    model.tailor_import_token = token  # type: ignore[attr-defined]
    model.tailor_source_uri = source  # type: ignore[attr-defined]
    backend.custom_models[name] = model
    tags = [{"Key": t["key"], "Value": t["value"]} for t in params.get("modelTags") or []]
    if tags:
        backend.tagger.tag_resource(model.model_arn, tags)
    return json.dumps({"modelArn": model.model_arn})


_PATCHES: dict[str, Callable[..., str]] = {
    "create_custom_model": _create_custom_model,
    "create_model_customization_job": _create,
    "get_model_customization_job": _get,
    "stop_model_customization_job": _stop,
    "list_model_customization_jobs": _list,
}


def install() -> None:
    """Patch moto's Bedrock handlers (idempotent)."""
    from moto.bedrock.responses import BedrockResponse

    with _LOCK:
        if _ORIGINALS:
            return
        for name, patch in _PATCHES.items():
            _ORIGINALS[name] = getattr(BedrockResponse, name, _MISSING)
            setattr(BedrockResponse, name, patch)


def uninstall() -> None:
    """Restore moto's own handlers (idempotent)."""
    from moto.bedrock.responses import BedrockResponse

    with _LOCK:
        for name, original in _ORIGINALS.items():
            if original is _MISSING:
                delattr(BedrockResponse, name)  # a handler moto never had
            else:
                setattr(BedrockResponse, name, original)
        _ORIGINALS.clear()
        _HOOKS.clear()
