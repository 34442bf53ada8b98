"""The CreateModelCustomizationJob request, exactly as Bedrock expects it (aws-facts §1, §2).

Built from the ``DatasetValidated`` event alone (tolerant wire model), so a retry builds the same
request: the same names, the same token, the snapshot URIs that were validated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tailor.events.models import DatasetValidated, JobSpecData
from tailor.jobs.catalog import NovaModel, Technique, UnknownModelError, is_valid_teacher, resolve_model
from tailor.jobs.naming import custom_model_name, job_name, request_token

RUN_TAG = "tailor-run-id"
MAX_TAGS = 50  # per resource (jobTags, customModelTags)
# Tokens the teacher may generate per response when it writes the training data (Bedrock's
# maxResponseLengthForInference). 1,000 covers the answers of support-style prompts.
MAX_RESPONSE_LENGTH = 1000
# CONTINUED_PRE_TRAINING: Bedrock's own word, for the request a HyperPod backend translates (the
# Bedrock backend never accepts a Nova CPT run: aws-facts §2).
_CUSTOMIZATION_TYPES = {
    Technique.FINE_TUNING: "FINE_TUNING",
    Technique.DISTILLATION: "DISTILLATION",
    Technique.CONTINUED_PRE_TRAINING: "CONTINUED_PRE_TRAINING",
}


class RequestError(ValueError):
    """The run cannot become a valid request: a finding about the run, never retried."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class SubmissionSettings:
    """What the template tells the submission function (docs/CONTRACTS.md)."""

    role_arn: str
    artifacts_bucket: str
    region: str = "us-east-1"
    kms_key_arn: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    job_quota: int = 2
    max_wait_seconds: int = 24 * 3600
    prices_json: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SubmissionSettings:
        env = os.environ if env is None else env

        def listed(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())

        role = env.get("BEDROCK_ROLE_ARN", "")
        bucket = env.get("ARTIFACTS_BUCKET", "")
        if not role or not bucket:
            raise RuntimeError("BEDROCK_ROLE_ARN and ARTIFACTS_BUCKET must be set (template.yaml sets them)")
        return cls(
            role_arn=role,
            artifacts_bucket=bucket,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            kms_key_arn=env.get("BEDROCK_KMS_KEY_ARN") or None,
            subnet_ids=listed("BEDROCK_SUBNET_IDS"),
            security_group_ids=listed("BEDROCK_SECURITY_GROUP_IDS"),
            job_quota=int(env.get("CUSTOMIZATION_JOB_QUOTA") or 2),
            max_wait_seconds=int(float(env.get("QUOTA_MAX_WAIT_HOURS") or 24) * 3600),
            prices_json=env.get("TRAINING_PRICES_JSON") or None,
        )

    @property
    def account(self) -> str:
        """The account id, read off the role ARN (``arn:aws:iam::<account>:role/…``)."""
        return self.role_arn.split(":")[4]


def output_uri(settings: SubmissionSettings, run_id: str) -> str:
    return f"s3://{settings.artifacts_bucket}/jobs/{run_id}/"


def _model(name: str, field: str) -> NovaModel:
    try:
        return resolve_model(name)
    except UnknownModelError as error:
        raise RequestError(
            "unsupported_model",
            f"{field} {name!r} is not in this Tailor's model catalog: {error}",
            "use a model alias the catalog knows (docs/job-spec.md), or upgrade Tailor",
        ) from None


def _hyper_parameters(spec: JobSpecData, model: NovaModel) -> dict[str, str]:
    """Every tunable parameter as Bedrock's string, the catalog's default where the spec is silent."""
    unknown = sorted(set(spec.hyper_parameters) - {b.name for b in model.hyperparameters})
    if unknown:
        raise RequestError(
            "spec_invalid",
            f"hyperParameters {', '.join(unknown)} are not tunable for {model.alias}",
            "remove them from job.json",
        )
    values = {}
    for bound in model.hyperparameters:
        try:
            value = bound.coerce(spec.hyper_parameters.get(bound.name, bound.default))
        except ValueError as error:
            raise RequestError("spec_invalid", f"hyperParameters.{error}", "fix job.json") from None
        values[bound.name] = bound.format(value)
    return values


def _tags(spec: JobSpecData, run_id: str) -> list[dict[str, str]]:
    tags = {**spec.tags, RUN_TAG: run_id}
    if len(tags) > MAX_TAGS:
        raise RequestError(
            "spec_invalid",
            f"job.json has {len(spec.tags)} tags; Bedrock takes {MAX_TAGS}, one is Tailor's run id",
            f"keep at most {MAX_TAGS - 1} tags",
        )
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def _teacher_identifier(teacher: NovaModel, settings: SubmissionSettings) -> str:
    teacher_id = str(teacher.teacher_id)
    if teacher_id.startswith(("us.", "eu.", "apac.", "global.")):
        # A teacher served only through an inference profile (Nova Premier) is named by its ARN.
        return f"arn:aws:bedrock:{settings.region}:{settings.account}:inference-profile/{teacher_id}"
    return teacher_id


def build_request(data: DatasetValidated, settings: SubmissionSettings, collision: int = 0) -> dict[str, Any]:
    """The boto3 keyword arguments of CreateModelCustomizationJob for this run. ``collision``: how
    many job names were already taken by jobs that are not ours."""
    spec = data.spec
    snapshot = data.dataset.snapshot
    if snapshot is None:
        raise RequestError(
            "snapshot_missing",
            "the DatasetValidated event has no snapshot: Bedrock could train on bytes nobody validated",
            "upload job.json again (ingestion takes the snapshot)",
        )
    try:
        technique = Technique.parse(spec.technique)
    except ValueError as error:
        raise RequestError("unsupported_technique", str(error), "see docs/job-spec.md") from None
    model = _model(spec.base_model, "baseModel")
    if technique not in _CUSTOMIZATION_TYPES:
        raise RequestError(
            "unsupported_technique", f"Bedrock does not run {technique.value}", "see docs/runs.md"
        )
    name = job_name(data.run_id, collision)
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": custom_model_name(data.run_id, spec.custom_model_name, _label(data), collision),
        "roleArn": settings.role_arn,
        "clientRequestToken": request_token(name),
        "baseModelIdentifier": model.model_id,
        "customizationType": _CUSTOMIZATION_TYPES[technique],
        "trainingDataConfig": {"s3Uri": snapshot.training.uri},
        "outputDataConfig": {"s3Uri": output_uri(settings, data.run_id)},
        "hyperParameters": _hyper_parameters(spec, model),
        "jobTags": _tags(spec, data.run_id),
        "customModelTags": _tags(spec, data.run_id),
    }
    if snapshot.validation is not None:
        request["validationDataConfig"] = {"validators": [{"s3Uri": snapshot.validation.uri}]}
    if technique is Technique.DISTILLATION:
        teacher = _model(spec.teacher_model or "", "teacherModel")
        if not is_valid_teacher(teacher, model):
            raise RequestError(
                "spec_invalid",
                f"{teacher.alias} cannot teach {model.alias}",
                "pick a teacher from docs/job-spec.md",
            )
        request["customizationConfig"] = {
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": _teacher_identifier(teacher, settings),
                    "maxResponseLengthForInference": MAX_RESPONSE_LENGTH,
                }
            }
        }
    if settings.kms_key_arn:
        request["customModelKmsKeyId"] = settings.kms_key_arn
    if settings.subnet_ids:
        request["vpcConfig"] = {
            "subnetIds": list(settings.subnet_ids),
            "securityGroupIds": list(settings.security_group_ids),
        }
    return request


def _label(data: DatasetValidated) -> str:
    """The dataset's name: ``datasets/<name>/job.json`` or the inbox file's stem."""
    key = data.dataset.trigger_uri.split("/", 3)[-1]
    parts = key.split("/")
    if parts[0] == "datasets" and len(parts) >= 3:
        return parts[1]
    return parts[-1].removesuffix(".jsonl")
