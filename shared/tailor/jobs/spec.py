"""``job.json``: the versioned job spec a user uploads last to start a run.

Strict on purpose: a value of the wrong JSON type, a duplicate key, or a data file outside the
dataset folder is an error that says where it is, never a silent coercion.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator
from pydantic.alias_generators import to_camel

from tailor.jobs.catalog import (
    Technique,
    UnknownModelError,
    UnknownTechniqueError,
    resolve_model,
    teachers_for,
)
from tailor.jobs.naming import bedrock_safe_key

SPEC_VERSION = "1"
MAX_SPEC_BYTES = 64 * 1024
MAX_SPEC_DEPTH = 32
# Bedrock's customModelName rule (aws-facts §1).
_CUSTOM_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Public report codes (the same strings as tailor.datasets.codes.IssueCode).
SPEC_INVALID = "spec_invalid"
UNSUPPORTED_MODEL = "unsupported_model"
UNSUPPORTED_TECHNIQUE = "unsupported_technique"
DEFAULT_HINT = "fix job.json and upload it again (see docs/job-spec.md)"

KeyPath = tuple[str | int, ...]


class SpecRuleError(ValueError):
    """A rule broken inside the spec. ``path`` (JSON keys/indexes) says where when the validator
    knows better than pydantic's location; ``code`` is the public report code."""

    def __init__(self, message: str, *, path: KeyPath | None = None, code: str = SPEC_INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.code = code


class _SpecModel(BaseModel):
    # strict: "3" is not 3, true is not 1, 1 is not "1" (a coercion would hide the user's mistake).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )


class RolloutSpec(_SpecModel):
    """How an IoT Job reaches the fleet (safe defaults: start slow, stop on failures)."""

    # Exponential rollout: baseRatePerMinute things a minute, times incrementFactor every time
    # rateIncreaseAfterSucceeded more things succeeded, never above maximumPerMinute.
    maximum_per_minute: int = Field(default=50, ge=1, le=1000)
    base_rate_per_minute: int = Field(default=5, ge=1, le=1000)
    increment_factor: float = Field(default=2.0, ge=1.1, le=5.0)
    rate_increase_after_succeeded: int = Field(default=10, ge=1)
    # Abort (cancel the job) when more than this share of executions failed, once enough ran.
    abort_threshold_percentage: float = Field(default=10.0, gt=0, le=100)
    abort_min_executed_things: int = Field(default=20, ge=1)
    in_progress_timeout_minutes: int = Field(default=60, ge=1, le=10080)
    # Retries of a FAILED or TIMED_OUT execution on the same device (IoT allows up to 10).
    retry_attempts: int = Field(default=2, ge=0, le=10)
    # Lifetime of each presigned download URL in the job document (IoT allows 60-3600 s).
    presigned_url_expiry_seconds: int = Field(default=3600, ge=60, le=3600)


class FidelitySpec(_SpecModel):
    """The release gate: the int8 model must agree with the fp32 one on the golden inputs."""

    min_cosine: float = Field(default=0.99, gt=0, le=1)
    min_argmax_agreement: float = Field(default=0.99, gt=0, le=1)


class EdgeSpec(_SpecModel):
    """Where a compact open model goes once the job completes (Nova weights never leave AWS)."""

    model: str = Field(description="Key (under the dataset folder) of the ONNX student model to ship.")
    targets: list[str] = Field(
        min_length=1, description="IoT thing groups or things, e.g. thinggroup/kiosks."
    )
    name: str | None = Field(default=None, description="Package name; default: the model's folder name.")
    golden: str | None = Field(
        default=None, description="Golden inputs (JSON) beside the model; default: generated from its inputs."
    )
    profiles: list[str] = Field(default_factory=lambda: ["linux-x86_64"])
    quantize: Literal["int8", "none"] = "int8"
    fidelity: FidelitySpec = Field(default_factory=FidelitySpec)
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)

    @field_validator("model", "golden")
    @classmethod
    def _safe_key(cls, value: str | None) -> str | None:
        if value is not None:
            problem = data_file_problem(value)
            if problem:
                raise SpecRuleError(problem)
        return value

    @field_validator("targets")
    @classmethod
    def _fleet_targets(cls, value: list[str]) -> list[str]:
        from tailor.edge.targets import target_problem

        for target in value:
            problem = target_problem(target)
            if problem:
                raise SpecRuleError(problem)
        return value

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, value: list[str]) -> list[str]:
        from tailor.edge.profiles import PROFILES

        unknown = [name for name in value if name not in PROFILES]
        if unknown or not value:
            raise SpecRuleError(
                f"unknown device profile(s) {unknown or value}: use one or more of {sorted(PROFILES)}"
            )
        return value


class BudgetSpec(_SpecModel):
    """The most a run may cost to train: no job starts when the estimate is above it (docs/costs.md)."""

    max_training_cost_usd: float = Field(gt=0, description="USD for training (tokens x epochs x price).")


_LATER_SECTIONS = ("budget", "deploy")


class DeploySpec(_SpecModel):
    """What to do with the trained model (docs/deployment.md)."""

    on_demand: bool = Field(
        default=False, description="After Completed: an on-demand deployment, billed per token, to invoke."
    )


class JobSpec(_SpecModel):
    spec_version: Literal["1"] = "1"
    # Not strict: the (already checked) string becomes the enum; events carry it as a string.
    technique: Annotated[Technique, Strict(False)]
    base_model: str
    teacher_model: str | None = None
    training: str = "train.jsonl"
    validation: str | None = None
    hyper_parameters: dict[str, int | float] = Field(default_factory=dict)
    custom_model_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)
    edge: EdgeSpec | None = None
    budget: BudgetSpec | None = None
    deploy: DeploySpec | None = None

    @field_validator("technique", mode="before")
    @classmethod
    def _known_technique(cls, value: object) -> object:
        if isinstance(value, Technique):
            return value
        if not isinstance(value, str):
            raise SpecRuleError(f'must be a string such as "fine-tuning", got {describe(value)}')
        if value not in {t.value for t in Technique}:
            raise UnknownTechniqueError(value)
        return value

    @field_validator("base_model", "teacher_model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None:
            resolve_model(value)  # raises UnknownModelError (a ValueError) listing the known aliases
        return value

    @field_validator("training", "validation")
    @classmethod
    def _safe_file(cls, value: str | None) -> str | None:
        if value is not None:
            problem = data_file_problem(value)
            if problem:
                raise SpecRuleError(problem)
        return value

    @field_validator("hyper_parameters", mode="before")
    @classmethod
    def _numbers_only(cls, value: object) -> object:
        # JSON numbers only: a string is not coerced and a boolean is not a number.
        if not isinstance(value, dict):
            return value  # pydantic says "must be an object"
        bad = [(k, v) for k, v in value.items() if isinstance(v, bool) or not isinstance(v, int | float)]
        if bad:
            raise SpecRuleError(
                "; ".join(f"hyperParameters.{k}: {_type_message('float_type', v)}" for k, v in bad),
                path=("hyperParameters", str(bad[0][0])),
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
            raise SpecRuleError(
                f"{base.alias} does not support {self.technique.value} (it supports: {supported})",
                path=("technique",),
                code=UNSUPPORTED_TECHNIQUE,
            )
        if self.technique is Technique.DISTILLATION:
            if not self.teacher_model:
                raise SpecRuleError("distillation needs teacherModel (e.g. nova-premier or nova-pro)")
            teachers = teachers_for(base)
            if resolve_model(self.teacher_model).alias not in {t.alias for t in teachers}:
                able = ", ".join(t.alias for t in teachers) or "none"
                raise SpecRuleError(
                    f"{resolve_model(self.teacher_model).alias} cannot teach {base.alias} "
                    f"(teachers for {base.alias}: {able})",
                    path=("teacherModel",),
                )
        elif self.teacher_model:
            raise SpecRuleError(
                f"teacherModel is only for distillation, not {self.technique.value}", path=("teacherModel",)
            )
        _check_hyper_parameters(self)
        return self

    def digest(self) -> str:
        """sha256 of the canonical spec: part of the run id, so an edited spec is a new run."""
        # Sections added after run ids existed (budget, deploy) count only when present: a spec
        # without them keeps the digest it always had, so its run id stays.
        unset = {name for name in _LATER_SECTIONS if getattr(self, name) is None}
        document = self.model_dump(mode="json", by_alias=True, exclude=unset or None)
        canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


def data_file_problem(name: str) -> str | None:
    """Why ``name`` cannot be a data file beside job.json, or None. A sub-folder path
    (``data/train.jsonl``) is fine; absolute paths, ``.``/``..`` and empty segments are not, and
    every character must be one Bedrock accepts in an S3 key."""
    if name.startswith("/"):
        return f"{name!r} is an absolute path: name the file relative to job.json's folder, e.g. train.jsonl"
    segments = name.split("/")
    if any(s in {".", ".."} for s in segments):
        return (
            f"{name!r} leaves or re-enters job.json's folder ('.' / '..'): data files sit in the "
            "dataset folder or a sub-folder of it, e.g. train.jsonl or data/train.jsonl"
        )
    if "" in segments:
        return (
            f"{name!r} has an empty path segment ('//' or a trailing '/'): name a file, e.g. data/train.jsonl"
        )
    if not bedrock_safe_key(name):
        return (
            f"{name!r} is not a usable data file name: use letters, digits and -!_*'(). only "
            "(Bedrock rejects S3 keys with spaces, '=', '+', '%' or ':')"
        )
    return None


def _check_hyper_parameters(spec: JobSpec) -> None:
    model = resolve_model(spec.base_model)
    bounds = {b.name: b for b in model.hyperparameters}
    for name, value in spec.hyper_parameters.items():
        path: KeyPath = ("hyperParameters", name)
        bound = bounds.get(name)
        if bound is None:
            known = ", ".join(sorted(bounds)) or "none"
            raise SpecRuleError(
                f"hyperParameters.{name} is not tunable for {model.alias} (tunable: {known})", path=path
            )
        if bound.kind == "int" and (isinstance(value, float) and not value.is_integer()):
            raise SpecRuleError(f"hyperParameters.{name} must be a whole number, got {value}", path=path)
        if not bound.min <= value <= bound.max:
            raise SpecRuleError(
                f"hyperParameters.{name}={value} is out of range for {model.alias}: "
                f"{bound.min} to {bound.max} (default {bound.default})",
                path=path,
            )


def describe(value: object) -> str:
    """A JSON value as a user would recognise it in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_NUMBER_TYPES = {"int_type": "a whole number", "float_type": "a number"}
_CONTAINER_TYPES = {
    "dict_type": "an object ({...})",
    "model_type": "an object ({...})",
    "list_type": "a list ([...])",
    "string_type": "a string (in double quotes)",
}


def _type_message(kind: str, value: object) -> str:
    if kind in _NUMBER_TYPES:
        message = f"must be {_NUMBER_TYPES[kind]}, got {describe(value)}"
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            message += f" (write {value.strip()} without quotes)"
        elif kind == "int_type" and isinstance(value, float):
            message += " (write it without a decimal point)"
        return message
    message = f"must be {_CONTAINER_TYPES[kind]}, got {describe(value)}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        message += f' (write "{value}" in quotes)'
    return message


def parse_spec(raw: bytes) -> JobSpec:
    """Parse job.json bytes. Raises ``SpecError`` with line numbers where the problem has one."""
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"job.json is {len(raw)} bytes; the limit is {MAX_SPEC_BYTES}", line=None)
    text = _decode(raw)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise _json_error(text, error) from None
    if not isinstance(document, dict):
        raise SpecError(
            f"job.json must be a JSON object ({{...}}), not {describe(document)}",
            line=1,
            hint='start the file with { and give the fields, e.g. {"technique": "fine-tuning", ...}',
        )
    lines = _key_lines(text)
    from pydantic import ValidationError

    try:
        return JobSpec.model_validate(document, by_alias=True, by_name=False)
    except ValidationError as error:
        raise SpecError.from_validation(error, lines) from None


def _decode(raw: bytes) -> str:
    """job.json as text: UTF-8, with or without a byte-order mark (editors on Windows add one)."""
    offset = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    try:
        return raw[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        at = offset + error.start
        line = raw.count(b"\n", 0, at) + 1
        utf16 = raw.startswith(_UTF16_BOMS)
        raise SpecError(
            f"job.json is not valid UTF-8 at byte {at} (line {line})"
            + (": it looks like UTF-16" if utf16 else ""),
            line=line,
            hint="save job.json as UTF-8 (in most editors: Save As... > Encoding > UTF-8)",
        ) from None


_NOT_A_NUMBER = re.compile(r"-?(?:NaN|Infinity)")


def _json_error(text: str, error: orjson.JSONDecodeError) -> SpecError:
    where = f"line {error.lineno}, column {error.colno}"
    if "infinity when parsed as double" in error.msg:
        number = _NUMBER.match(text, error.pos)
        shown = number.group() if number else "a number"
        if len(shown) > 24:
            shown = shown[:21] + "..."
        return SpecError(
            f"job.json: the number {shown} at {where} is out of range",
            line=error.lineno,
            hint="use a number within double precision (at most about 1.8e308 in size)",
        )
    for start in (error.pos - 1, error.pos):  # orjson points after the sign of "-Infinity"
        constant = _NOT_A_NUMBER.match(text, max(start, 0))
        if constant:
            column = error.colno - (error.pos - max(start, 0))
            return SpecError(
                f"job.json: {constant.group()} at line {error.lineno}, column {column} is not a JSON number",
                line=error.lineno,
                hint="write a finite number: JSON has no NaN or Infinity",
            )
    return SpecError(
        f"job.json is not valid JSON: {error.msg} ({where})",
        line=error.lineno,
        hint="check commas and quotes",
    )


def _key_lines(text: str) -> dict[KeyPath, int]:
    try:
        return _KeyLines(text).scan()
    except SpecError:
        raise
    except (AssertionError, IndexError, ValueError):  # pragma: no cover - orjson accepted the text
        return {}  # messages lose their line numbers, nothing else


class _KeyLines:
    """Walks JSON text that already parsed: the line of every key (for messages), and a clear
    error for a duplicate key (JSON parsers silently keep the last one)."""

    _SPACE = re.compile(r"[ \t\n\r]*")
    _SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")
    _STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[KeyPath, int] = {}

    def scan(self) -> dict[KeyPath, int]:
        self._value(0, ())
        return self.lines

    def line_at(self, pos: int) -> int:
        return bisect_right(self.newlines, pos) + 1

    def _skip(self, pos: int) -> int:
        match = self._SPACE.match(self.text, pos)
        return match.end() if match else pos

    def _value(self, pos: int, path: KeyPath) -> int:
        text = self.text
        pos = self._skip(pos)
        if len(path) > MAX_SPEC_DEPTH:
            raise SpecError(
                f"job.json nests deeper than {MAX_SPEC_DEPTH} levels (line {self.line_at(pos)})",
                line=self.line_at(pos),
            )
        char = text[pos]
        if char == "{":
            return self._object(pos + 1, path)
        if char == "[":
            return self._array(pos + 1, path)
        if char == '"':
            return self._string(pos)[1]
        scalar = self._SCALAR.match(text, pos)
        assert scalar is not None, "the text parsed as JSON"
        return scalar.end()

    def _string(self, pos: int) -> tuple[str, int]:
        literal = self._STRING.match(self.text, pos)
        assert literal is not None, "the text parsed as JSON"
        decoded = json.loads(literal.group())
        assert isinstance(decoded, str)
        return decoded, literal.end()

    def _object(self, pos: int, path: KeyPath) -> int:
        text = self.text
        pos = self._skip(pos)
        if text[pos] == "}":
            return pos + 1
        seen: dict[str, int] = {}
        while True:
            pos = self._skip(pos)
            key, pos = self._string(pos)
            line = self.line_at(pos)
            if key in seen:
                raise _duplicate(key, path, seen[key], line)
            seen[key] = line
            self.lines[(*path, key)] = line
            pos = self._skip(pos) + 1  # the ':'
            pos = self._skip(self._value(pos, (*path, key)))
            if text[pos] == ",":
                pos += 1
                continue
            return pos + 1  # the '}'

    def _array(self, pos: int, path: KeyPath) -> int:
        text = self.text
        pos = self._skip(pos)
        if text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            pos = self._skip(pos)
            self.lines[(*path, index)] = self.line_at(pos)
            pos = self._skip(self._value(pos, (*path, index)))
            if text[pos] == ",":
                pos += 1
                index += 1
                continue
            return pos + 1  # the ']'


def _dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


def _duplicate(key: str, path: KeyPath, first: int, again: int) -> SpecError:
    inside = f"in {_dotted(path)}" if path else "at the top level"
    return SpecError(
        f'job.json: key "{key}" appears twice {inside} (lines {first} and {again}); '
        "JSON keeps only one of them silently",
        line=again,
        hint=f'keep one "{key}" (line {first} or {again}) and delete the other',
    )


class SpecError(ValueError):
    """job.json is unusable. ``code`` is a public report code (``spec_invalid``,
    ``unsupported_model``, ``unsupported_technique``; the ingestion adds ``key_invalid`` ...)."""

    def __init__(
        self, message: str, *, line: int | None, hint: str | None = None, code: str = SPEC_INVALID
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint or DEFAULT_HINT
        self.code = code

    @classmethod
    def from_validation(cls, error: object, lines: dict[KeyPath, int] | None = None) -> SpecError:
        """One SpecError for all of pydantic's complaints; ``lines`` (key path → line) gives the
        line of the first one that can be placed."""
        from pydantic import ValidationError

        assert isinstance(error, ValidationError)
        problems: list[str] = []
        codes: set[str] = set()
        line: int | None = None
        for item in error.errors(include_url=False):
            path: KeyPath = tuple(item["loc"])
            ctx_error = item.get("ctx", {}).get("error")
            kind = item["type"]
            if isinstance(ctx_error, SpecRuleError):
                codes.add(ctx_error.code)
                path = ctx_error.path or path
                message = ctx_error.message
                located = message.startswith(_dotted(path)) if path else False
                problems.append(message if located or not path else f"{_dotted(path)}: {message}")
            else:
                if isinstance(ctx_error, UnknownModelError):
                    codes.add(UNSUPPORTED_MODEL)
                elif isinstance(ctx_error, UnknownTechniqueError):
                    codes.add(UNSUPPORTED_TECHNIQUE)
                problems.append(f"{_dotted(path) or 'job.json'}: {_message(kind, item)}")
            if line is None and lines:
                line = _line_of(path, lines)
        code = next((c for c in (UNSUPPORTED_MODEL, UNSUPPORTED_TECHNIQUE) if c in codes), SPEC_INVALID)
        return cls("; ".join(problems), line=line, code=code)


def _message(kind: str, item: Any) -> str:
    if kind == "extra_forbidden":
        field = str(item["loc"][-1]) if item["loc"] else ""
        if field in _FIELD_ALIASES:
            return f"unknown field: write it as {_FIELD_ALIASES[field]} (job.json fields are camelCase)"
        return "unknown field (check the spelling; see docs/job-spec.md)"
    if kind == "missing":
        return "missing (this field is required)"
    if kind in _NUMBER_TYPES or kind in _CONTAINER_TYPES:
        return _type_message(kind, item["input"])
    if kind == "literal_error":
        expected = str(item.get("ctx", {}).get("expected", "")).replace("'", '"')
        return f"must be {expected}, got {describe(item['input'])}"
    message = str(item["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be"):
        message = "must be" + message.removeprefix("Input should be") + f", got {describe(item['input'])}"
    return message


# snake_case field name -> its job.json spelling, for "unknown field" messages.
_FIELD_ALIASES: dict[str, str] = {
    name: to_camel(name)
    for model in (JobSpec, EdgeSpec, RolloutSpec, FidelitySpec, BudgetSpec)
    for name in model.model_fields
    if to_camel(name) != name
}


def _line_of(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None
