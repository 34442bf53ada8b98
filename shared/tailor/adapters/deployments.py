"""Bedrock on-demand deployments of custom models (aws-facts §4) and the runtime that answers them.

``CreateCustomModelDeployment`` → ``Creating`` → ``Active`` | ``Failed``; invoke with the deployment
ARN as ``modelId`` (Converse); ``DeleteCustomModelDeployment`` removes it (the custom model stays).
moto mocks none of this: the local stack adds a simulated lifecycle and runtime (tailor/local).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.adapters.bedrock import BedrockError, call_bedrock, classify_client_error


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    arn: str
    name: str
    status: str  # Creating | Active | Failed
    model_arn: str
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    input_tokens: int
    output_tokens: int
    simulated: bool = False  # the local stack's runtime says so in its answers


class DeploymentGateway(Protocol):
    def create_deployment(
        self, *, name: str, model_arn: str, token: str, tags: Mapping[str, str], description: str
    ) -> str:
        """CreateCustomModelDeployment; the deployment ARN. Raises BedrockError."""
        ...

    def get_deployment(self, identifier: str) -> DeploymentInfo | None: ...

    def find_deployment(self, name: str) -> DeploymentInfo | None:
        """The deployment with exactly this name (ListCustomModelDeployments nameContains), if any."""
        ...

    def delete_deployment(self, identifier: str) -> None: ...


class ModelRuntime(Protocol):
    def converse(self, model_id: str, prompt: str, system: str | None = None) -> Answer: ...


def _info(found: Mapping[str, Any]) -> DeploymentInfo:
    return DeploymentInfo(
        arn=str(found.get("customModelDeploymentArn")),
        name=str(found.get("modelDeploymentName")),
        status=str(found.get("status")),
        model_arn=str(found.get("modelArn", "")),
        failure_message=found.get("failureMessage") or None,
    )


class BedrockDeployments:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("bedrock")
        return self._client

    def create_deployment(
        self, *, name: str, model_arn: str, token: str, tags: Mapping[str, str], description: str
    ) -> str:
        response = call_bedrock(
            self.client.create_custom_model_deployment,
            modelDeploymentName=name,
            modelArn=model_arn,
            description=description,
            tags=[{"key": k, "value": v} for k, v in sorted(tags.items())],
            clientRequestToken=token,
        )
        return str(response["customModelDeploymentArn"])

    def get_deployment(self, identifier: str) -> DeploymentInfo | None:
        try:
            found = call_bedrock(
                self.client.get_custom_model_deployment, customModelDeploymentIdentifier=identifier
            )
        except BedrockError as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise
        return _info(found)

    def find_deployment(self, name: str) -> DeploymentInfo | None:
        paginator = self.client.get_paginator("list_custom_model_deployments")
        try:
            for page in paginator.paginate(nameContains=name):
                for summary in page.get("modelDeploymentSummaries", []):
                    if (
                        summary.get("customModelDeploymentName") == name
                        or summary.get("modelDeploymentName") == name
                    ):
                        return self.get_deployment(str(summary["customModelDeploymentArn"]))
        except Exception as error:
            classified = classify_client_error(error)
            if classified is None:
                raise
            raise classified from error
        return None

    def delete_deployment(self, identifier: str) -> None:
        call_bedrock(self.client.delete_custom_model_deployment, customModelDeploymentIdentifier=identifier)


class BedrockRuntime:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("bedrock-runtime")
        return self._client

    def converse(self, model_id: str, prompt: str, system: str | None = None) -> Answer:
        kwargs: dict[str, Any] = {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
        }
        if system:
            kwargs["system"] = [{"text": system}]
        response = call_bedrock(self.client.converse, **kwargs)
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(str(part.get("text", "")) for part in content)
        usage = response.get("usage", {})
        simulated = bool((response.get("additionalModelResponseFields") or {}).get("tailorSimulated"))
        return Answer(text, int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)), simulated)


@dataclass
class InMemoryDeployments:
    """Fake DeploymentGateway with AWS's semantics: the same token is the same deployment; a name
    in use with another token is a conflict; ``settle(arn, "Active"|"Failed")`` moves one on."""

    region: str = "us-east-1"
    account: str = "123456789012"
    deployments: dict[str, tuple[DeploymentInfo, str]] = field(default_factory=dict)  # arn → info, token
    fail_next: list[Exception] = field(default_factory=list)
    create_calls: int = 0
    get_calls: int = 0

    def create_deployment(
        self, *, name: str, model_arn: str, token: str, tags: Mapping[str, str], description: str
    ) -> str:
        self.create_calls += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        for info, known in self.deployments.values():
            if info.name == name:
                if known == token:
                    return info.arn
                raise BedrockError.classify("ConflictException", f"deployment name {name} is in use")
        arn = f"arn:aws:bedrock:{self.region}:{self.account}:custom-model-deployment/{secrets.token_hex(6)}"
        self.deployments[arn] = (
            DeploymentInfo(arn=arn, name=name, status="Creating", model_arn=model_arn),
            token,
        )
        return arn

    def get_deployment(self, identifier: str) -> DeploymentInfo | None:
        self.get_calls += 1
        for info, _ in self.deployments.values():
            if identifier in (info.arn, info.name):
                return info
        return None

    def find_deployment(self, name: str) -> DeploymentInfo | None:
        return next((info for info, _ in self.deployments.values() if info.name == name), None)

    def delete_deployment(self, identifier: str) -> None:
        found = self.get_deployment(identifier)
        if found is None:
            raise BedrockError.classify("ResourceNotFoundException", f"no deployment {identifier}")
        del self.deployments[found.arn]

    def settle(self, arn: str, status: str, failure_message: str | None = None) -> None:
        info, token = self.deployments[arn]
        self.deployments[arn] = (replace(info, status=status, failure_message=failure_message), token)
