"""``job.json``: the versioned job spec a user uploads last to start a run."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from tailor.jobs.catalog import Technique, UnknownModelError, resolve_model
from tailor.jobs.naming import bedrock_safe_key

SPEC_VERSION = "1"
MAX_SPEC_BYTES = 64 * 1024
# Bedrock's customModelName rule (aws-facts §1).
_CUSTOM_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")


class _SpecModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class RolloutSpec(_SpecModel):
    maximum_per_minute: int = Field(default=50, ge=1, le=1000)
    abort_threshold_percentage: float = Field(default=10.0, gt=0, le=100)
    in_progress_timeout_minutes: int = Field(default=60, ge=1, le=10080)


class EdgeSpec(_SpecModel):
    """Where a compact open model goes once the job completes (Nova weights never leave AWS)."""

    model: str = Field(description="Key (under the dataset folder) of the ONNX student model to ship.")
    targets: list[str] = Field(
        min_length=1, description="IoT thing groups or things, e.g. thinggroup/kiosks."
    )
    profiles: list[str] = Field(default_factory=lambda: ["linux-x86_64"])
    quantize: Literal["int8", "none"] = "int8"
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)


class JobSpec(_SpecModel):
    spec_version: Literal["1"] = "1"
    technique: Technique
    base_model: str
    teacher_model: str | None = None
    training: str = "train.jsonl"
    validation: str | None = None
    hyper_parameters: dict[str, int | float] = Field(default_factory=dict)
    custom_model_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)
    edge: EdgeSpec | None = None

    @field_validator("base_model", "teacher_model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None:
            resolve_model(value)  # raises UnknownModelError (a ValueError) listing the known aliases
        return value

    @field_validator("training", "validation")
    @classmethod
    def _safe_file(cls, value: str | None) -> str | None:
        # A data file named in the spec is a key under datasets/<name>/: Bedrock-safe characters only.
        if value is not None and (not bedrock_safe_key(value) or value.endswith("/")):
            raise ValueError(
                f"{value!r} is not a usable data file name: use letters, digits and -!_*'(). only "
                "(Bedrock rejects S3 keys with spaces, '=', '+', '%' or ':')"
            )
        return value

    @field_validator("custom_model_name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 63 or not _CUSTOM_MODEL_NAME.fullmatch(value)):
            raise ValueError(
                f"customModelName {value!r} must be 1-63 letters/digits, optionally separated by single "
                "'-' or '_' (Bedrock's rule); leave it out to have one derived"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag_value in value.items():
            if not 1 <= len(key) <= 128 or len(tag_value) > 256:
                raise ValueError(f"tag {key!r}: keys are 1-128 characters, values at most 256")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        base = resolve_model(self.base_model)
        if self.technique not in base.techniques:
            supported = ", ".join(sorted(t.value for t in base.techniques)) or "none"
            raise ValueError(
                f"{base.alias} does not support {self.technique.value} (it supports: {supported})"
            )
        if self.technique is Technique.DISTILLATION:
            if not self.teacher_model:
                raise ValueError("distillation needs teacherModel (e.g. nova-premier or nova-pro)")
        elif self.teacher_model:
            raise ValueError(f"teacherModel is only for distillation, not {self.technique.value}")
        _check_hyper_parameters(self)
        return self

    def digest(self) -> str:
        """sha256 of the canonical spec: part of the run id, so an edited spec is a new run."""
        canonical = orjson.dumps(self.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


def _check_hyper_parameters(spec: JobSpec) -> None:
    model = resolve_model(spec.base_model)
    bounds = {b.name: b for b in model.hyperparameters}
    for name, value in spec.hyper_parameters.items():
        bound = bounds.get(name)
        if bound is None:
            known = ", ".join(sorted(bounds)) or "none"
            raise ValueError(f"hyperParameters.{name} is not tunable for {model.alias} (tunable: {known})")
        if bound.kind == "int" and (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"hyperParameters.{name} must be a whole number, got {value}")
        if not bound.min <= value <= bound.max:
            raise ValueError(
                f"hyperParameters.{name}={value} is out of range for {model.alias}: "
                f"{bound.min} to {bound.max} (default {bound.default})"
            )


def parse_spec(raw: bytes) -> JobSpec:
    """Parse job.json bytes. Raises ``SpecError`` with line numbers for JSON errors."""
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"job.json is {len(raw)} bytes; the limit is {MAX_SPEC_BYTES}", line=None)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SpecError(
            f"job.json is not valid JSON: {error.msg}", line=error.lineno, hint="check commas and quotes"
        ) from None
    if not isinstance(document, dict):
        raise SpecError("job.json must be a JSON object", line=1)
    from pydantic import ValidationError

    try:
        return JobSpec.model_validate(document)
    except ValidationError as error:
        raise SpecError.from_validation(error) from None


class SpecError(ValueError):
    """job.json is unusable. ``code`` is a public report code (``spec_invalid`` / ``unsupported_model``)."""

    def __init__(
        self, message: str, *, line: int | None, hint: str | None = None, code: str = "spec_invalid"
    ):
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint or "fix job.json and upload it again (see docs/job-spec.md)"
        self.code = code

    @classmethod
    def from_validation(cls, error: object) -> SpecError:
        from pydantic import ValidationError

        assert isinstance(error, ValidationError)
        problems = []
        code = "spec_invalid"
        for item in error.errors(include_url=False):
            where = ".".join(str(p) for p in item["loc"]) or "job.json"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field (check the spelling; see docs/job-spec.md)"
            ctx_error = item.get("ctx", {}).get("error")
            if isinstance(ctx_error, UnknownModelError):
                code = "unsupported_model"
            problems.append(f"{where}: {message}")
        return cls("; ".join(problems), line=None, code=code)
