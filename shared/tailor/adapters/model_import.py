"""Bring a checkpoint trained outside Bedrock into Bedrock: ``CreateCustomModel`` (aws-facts §4).

Exactly once: the call carries a token derived from the run and the model the run's tag; a repeat
that finds the name taken looks the model up and adopts it when the tag is the run's own.
Import is asynchronous (the model is ``Creating`` until Bedrock has copied the weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.adapters.bedrock import BedrockError, call_bedrock
from tailor.adapters.errors import ErrorKind

RUN_TAG = "tailor-run-id"


@dataclass(frozen=True, slots=True)
class ImportRequest:
    model_name: str
    checkpoint_uri: str
    role_arn: str
    run_id: str
    token: str
    kms_key_arn: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedModel:
    arn: str
    name: str
    adopted: bool = False  # an earlier try's import: found, not created again


class ModelImporter(Protocol):
    def import_model(self, request: ImportRequest) -> ImportedModel: ...


class BedrockModelImporter:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("bedrock")
        return self._client

    def import_model(self, request: ImportRequest) -> ImportedModel:
        kwargs: dict[str, Any] = {
            "modelName": request.model_name,
            "modelSourceConfig": {"s3DataSource": {"s3Uri": request.checkpoint_uri}},
            "roleArn": request.role_arn,
            "modelTags": [{"key": RUN_TAG, "value": request.run_id}],
            "clientRequestToken": request.token,
        }
        if request.kms_key_arn:
            kwargs["modelKmsKeyArn"] = request.kms_key_arn
        try:
            response = call_bedrock(self.client.create_custom_model, **kwargs)
        except BedrockError as error:
            if error.kind is not ErrorKind.CONFLICT and "already exists" not in error.message:
                raise
            return self._adopt(request, error)
        return ImportedModel(str(response["modelArn"]), request.model_name)

    def _adopt(self, request: ImportRequest, conflict: BedrockError) -> ImportedModel:
        model = call_bedrock(self.client.get_custom_model, modelIdentifier=request.model_name)
        arn = str(model["modelArn"])
        tags = call_bedrock(self.client.list_tags_for_resource, resourceARN=arn).get("tags", [])
        if any(t.get("key") == RUN_TAG and t.get("value") == request.run_id for t in tags):
            return ImportedModel(arn, request.model_name, adopted=True)
        raise BedrockError(
            "ModelNameTaken",
            f"a custom model named {request.model_name!r} exists and is not this run's ({conflict.code})",
            ErrorKind.FATAL,
            "rename or delete that custom model, then upload job.json again",
        ) from conflict


@dataclass
class InMemoryModelImporter:
    """Fake ModelImporter with AWS's semantics: a repeated token is the same model."""

    models: dict[str, ImportRequest] = field(default_factory=dict)
    calls: int = 0
    fail_with: BedrockError | None = None

    def import_model(self, request: ImportRequest) -> ImportedModel:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        arn = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/{request.model_name}"
        existing = self.models.get(request.model_name)
        if existing is not None:
            if existing.run_id != request.run_id:
                raise BedrockError("ModelNameTaken", request.model_name, ErrorKind.FATAL)
            return ImportedModel(arn, request.model_name, adopted=True)
        self.models[request.model_name] = request
        return ImportedModel(arn, request.model_name)
