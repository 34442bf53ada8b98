"""The Amazon Nova model catalog: ids, aliases, techniques, per-technique data limits,
distillation roles and hyperparameter bounds (aws-facts §2 and §3).

Pure data and lookups: no boto3, no pydantic, cheap to import (the ingestion Lambda and the CLI
both load it). Where AWS documents nothing, the value is marked *unverified* and kept in one place
so it can be changed without touching the rules that use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# The one dated, sourced table of customization prices lives beside the catalog (docs/costs.md).
from tailor.jobs.prices import CUSTOM_MODEL_STORAGE_SOURCE as CUSTOM_MODEL_STORAGE_SOURCE
from tailor.jobs.prices import CUSTOM_MODEL_STORAGE_USD_PER_MONTH as CUSTOM_MODEL_STORAGE_USD_PER_MONTH
from tailor.jobs.prices import PRICES_AS_OF as PRICES_AS_OF
from tailor.jobs.prices import TRAINING_PRICES as TRAINING_PRICES
from tailor.jobs.prices import ListedPrice as ListedPrice

MiB = 1024 * 1024
CUSTOMIZATION_REGION = "us-east-1"  # where Bedrock offers Nova customization


class Technique(StrEnum):
    """A customization technique as users name it (job.json, CLI, inbox/ prefix)."""

    FINE_TUNING = "fine-tuning"
    DISTILLATION = "distillation"
    CONTINUED_PRE_TRAINING = "continued-pre-training"

    @property
    def customization_type(self) -> str:
        """Bedrock's ``customizationType`` value (``FINE_TUNING`` ...)."""
        return self.name

    @classmethod
    def parse(cls, value: str | Technique) -> Technique:
        """Accept the value (``fine-tuning``), the API name (``FINE_TUNING``) or ``fine_tuning``."""
        if isinstance(value, Technique):
            return value
        wanted = str(value).strip().lower().replace("_", "-").replace(" ", "-")
        for technique in cls:
            if wanted == technique.value:
                return technique
        raise UnknownTechniqueError(str(value))


class UnknownTechniqueError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        choices = ", ".join(t.value for t in Technique)
        super().__init__(f"unknown technique {name!r}: use one of {choices}")


class Backend(StrEnum):
    """Where a technique actually runs for Nova."""

    BEDROCK = "bedrock"
    SAGEMAKER_HYPERPOD = "sagemaker-hyperpod"


CPT_BACKEND_NOTE = (
    "Amazon Bedrock does not run continued pre-training for Amazon Nova (its CONTINUED_PRE_TRAINING "
    "type exists only for older Titan Text models). Nova continued pre-training runs on Amazon "
    "SageMaker HyperPod with the Nova CPT recipes: Tailor validates the data, but a Bedrock job "
    "cannot be submitted for it."
)


@dataclass(frozen=True, slots=True)
class MediaRules:
    """What a fine-tuning record may carry besides text (None on a technique means text only)."""

    image_formats: frozenset[str]
    video_formats: frozenset[str]
    document_formats: frozenset[str] = frozenset()
    max_images: int = 10
    max_image_bytes: int = 10 * MiB
    min_image_side_px: int = 25
    max_videos: int = 1
    max_video_bytes: int = 50 * MiB
    max_video_seconds: int = 90
    max_documents: int = 1
    max_document_bytes: int = 10 * MiB


@dataclass(frozen=True, slots=True)
class TechniqueLimits:
    """The data rules of one technique on one model."""

    technique: Technique
    min_records: int
    max_records: int | None  # training + validation together; None: unbounded (CPT corpora)
    validation_allowed: bool
    media: MediaRules | None  # None: text only
    context_tokens: int | None  # per record; None: no per-record cap (CPT packs long text)
    assistant_required: bool = True  # distillation accepts prompts without a response
    recommended_min_records: int | None = None
    reasoning_allowed: bool = False  # reasoningContent items in assistant turns
    backend: Backend = Backend.BEDROCK

    @property
    def text_only(self) -> bool:
        return self.media is None


HyperParameterKind = Literal["int", "float"]


@dataclass(frozen=True, slots=True)
class HyperParameterBound:
    """One tunable Bedrock hyperparameter. Bedrock takes every value as a string."""

    name: str
    kind: HyperParameterKind
    min: float
    max: float
    default: float

    def coerce(self, value: object) -> int | float:
        """The value as a number of the right kind, or ValueError saying what is allowed."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{self.name} must be a number, got {value!r}") from None
        if self.kind == "int":
            if not number.is_integer():
                raise ValueError(f"{self.name} must be a whole number, got {value!r}")
            number = int(number)
        if not self.min <= number <= self.max:
            raise ValueError(
                f"{self.name}={value} is out of range: {self.format(self.min)} to {self.format(self.max)} "
                f"(default {self.format(self.default)})"
            )
        return number

    def format(self, value: float) -> str:
        """The string Bedrock expects in ``hyperParameters``."""
        if self.kind == "int":
            return str(int(value))
        # Plain decimal ("0.00001", not "1e-05"): the form the Bedrock docs show.
        return f"{float(value):.12f}".rstrip("0").rstrip(".") or "0"


_WARMUP = "learningRateWarmupSteps"


def _hyperparameters(warmup_max: int) -> tuple[HyperParameterBound, ...]:
    return (
        HyperParameterBound("epochCount", "int", 1, 5, 2),
        HyperParameterBound("learningRate", "float", 1e-6, 1e-4, 1e-5),
        HyperParameterBound(_WARMUP, "int", 0, warmup_max, 10),
    )


@dataclass(frozen=True, slots=True)
class NovaModel:
    """One Nova model. ``model_id`` is the Bedrock base model id used for customization."""

    model_id: str
    alias: str
    display_name: str
    limits: tuple[TechniqueLimits, ...]
    teacher_id: str | None = None  # teacherModelIdentifier when this model teaches; None: never
    student: bool = False  # may be a distillation student
    # The API allows up to 100 warmup steps; the Nova guide says 20. Change per model here.
    warmup_max_steps: int = 100
    warmup_divisor: int | None = None  # guidance: warmup ≈ records / divisor

    @property
    def techniques(self) -> frozenset[Technique]:
        return frozenset(limit.technique for limit in self.limits)

    @property
    def base_id(self) -> str:
        """The id without the context suffix: ``amazon.nova-lite-v1:0:300k`` → ``amazon.nova-lite-v1:0``."""
        head, _, tail = self.model_id.rpartition(":")
        return head if tail.endswith("k") and head.count(":") == 1 else self.model_id

    @property
    def is_teacher(self) -> bool:
        return self.teacher_id is not None

    @property
    def is_student(self) -> bool:
        return self.student

    @property
    def hyperparameters(self) -> tuple[HyperParameterBound, ...]:
        if not (self.techniques & {Technique.FINE_TUNING, Technique.DISTILLATION}):
            return ()
        return _hyperparameters(self.warmup_max_steps)

    def hyperparameter(self, name: str) -> HyperParameterBound:
        for bound in self.hyperparameters:
            if bound.name == name:
                return bound
        known = ", ".join(b.name for b in self.hyperparameters) or "none"
        raise KeyError(f"{name} is not tunable for {self.alias} (tunable: {known})")

    def supports(self, technique: Technique | str) -> bool:
        return Technique.parse(technique) in self.techniques

    def limits_for(self, technique: Technique | str) -> TechniqueLimits:
        wanted = Technique.parse(technique)
        for limit in self.limits:
            if limit.technique is wanted:
                return limit
        supported = ", ".join(sorted(t.value for t in self.techniques)) or "none"
        raise ValueError(f"{self.alias} does not support {wanted.value} (it supports: {supported})")

    def backend_for(self, technique: Technique | str) -> Backend:
        return self.limits_for(technique).backend

    def recommended_warmup_steps(self, records: int) -> int | None:
        if self.warmup_divisor is None:
            return None
        return max(0, min(self.warmup_max_steps, round(records / self.warmup_divisor)))

    def with_warmup_max(self, steps: int) -> NovaModel:
        return dataclasses.replace(self, warmup_max_steps=steps)


# --- the catalog ------------------------------------------------------------------------------

_CONTEXT_TOKENS = 32_000  # per record, Micro/Lite/Pro (aws-facts §3)
_FT_MAX_RECORDS = 20_000
_DISTILLATION_MAX_RECORDS = 15_000

_IMAGES_V1 = frozenset({"png", "jpeg", "gif", "webp"})
_VIDEOS_V1 = frozenset({"mov", "mkv", "mp4", "webm"})
_MEDIA_V1 = MediaRules(image_formats=_IMAGES_V1, video_formats=_VIDEOS_V1)
_MEDIA_V2 = MediaRules(
    image_formats=frozenset({"png", "jpeg", "gif"}),
    video_formats=frozenset({"mov", "mkv", "mp4"}),
    document_formats=frozenset({"pdf"}),
)


def _fine_tuning(media: MediaRules | None) -> TechniqueLimits:
    return TechniqueLimits(
        technique=Technique.FINE_TUNING,
        min_records=8,
        max_records=_FT_MAX_RECORDS,
        validation_allowed=True,
        media=media,
        context_tokens=_CONTEXT_TOKENS,
    )


# Bedrock distillation reads one prompt dataset; it has no validation set (a defensive choice:
# rejecting here is cheaper than a job that fails later).
_DISTILLATION = TechniqueLimits(
    technique=Technique.DISTILLATION,
    min_records=1,
    max_records=_DISTILLATION_MAX_RECORDS,
    validation_allowed=False,
    media=None,
    context_tokens=_CONTEXT_TOKENS,
    assistant_required=False,
    recommended_min_records=100,
)

# Runs on SageMaker HyperPod (Nova CPT recipes), never on Bedrock: see CPT_BACKEND_NOTE.
_CPT = TechniqueLimits(
    technique=Technique.CONTINUED_PRE_TRAINING,
    min_records=1,
    max_records=None,
    validation_allowed=True,
    media=None,
    context_tokens=None,
    backend=Backend.SAGEMAKER_HYPERPOD,
)

NOVA_MICRO = NovaModel(
    model_id="amazon.nova-micro-v1:0:128k",
    alias="nova-micro",
    display_name="Nova Micro",
    limits=(_fine_tuning(None), _DISTILLATION, _CPT),
    student=True,
    warmup_divisor=640,
)
NOVA_LITE = NovaModel(
    model_id="amazon.nova-lite-v1:0:300k",
    alias="nova-lite",
    display_name="Nova Lite",
    limits=(_fine_tuning(_MEDIA_V1), _DISTILLATION, _CPT),
    student=True,
    warmup_divisor=160,
)
NOVA_PRO = NovaModel(
    model_id="amazon.nova-pro-v1:0:300k",
    alias="nova-pro",
    display_name="Nova Pro",
    limits=(_fine_tuning(_MEDIA_V1), _DISTILLATION, _CPT),
    teacher_id="amazon.nova-pro-v1:0",
    student=True,
    warmup_divisor=320,
)
NOVA_PREMIER = NovaModel(
    model_id="amazon.nova-premier-v1:0",
    alias="nova-premier",
    display_name="Nova Premier",
    limits=(),  # teacher only: not customizable itself
    teacher_id="us.amazon.nova-premier-v1:0",  # teaches through the US inference profile only
)
NOVA_2_LITE = NovaModel(
    model_id="amazon.nova-2-lite-v1:0:256k",
    alias="nova-2-lite",
    display_name="Nova 2 Lite",
    limits=(
        TechniqueLimits(
            technique=Technique.FINE_TUNING,
            min_records=200,
            max_records=_FT_MAX_RECORDS,
            validation_allowed=False,
            media=_MEDIA_V2,
            context_tokens=_CONTEXT_TOKENS,  # unverified for Nova 2 Lite: same cap as v1 assumed
            reasoning_allowed=True,
        ),
        _CPT,
    ),
    # Distillation role unverified: not offered until AWS documents it.
)

MODELS: tuple[NovaModel, ...] = (NOVA_MICRO, NOVA_LITE, NOVA_PRO, NOVA_PREMIER, NOVA_2_LITE)

# (teacher alias, student alias), aws-facts §2.
DISTILLATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("nova-pro", "nova-lite"),
    ("nova-pro", "nova-micro"),
    ("nova-premier", "nova-lite"),
    ("nova-premier", "nova-micro"),
    ("nova-premier", "nova-pro"),
)


class UnknownModelError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        self.known = tuple(model.alias for model in MODELS)
        super().__init__(
            f"unknown model {name!r}: use one of {', '.join(self.known)} "
            f"or a Bedrock model id such as {NOVA_LITE.model_id}"
        )


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def _build_index(models: Iterable[NovaModel]) -> dict[str, NovaModel]:
    index: dict[str, NovaModel] = {}
    for model in models:
        for name in (model.alias, model.display_name, model.model_id, model.base_id, model.teacher_id):
            if name:
                index[_normalise(name)] = model
    return index


_INDEX = _build_index(MODELS)


def resolve_model(name: str | NovaModel) -> NovaModel:
    """Find a model by alias (any case), Bedrock id (with or without the context suffix),
    teacher inference profile id or foundation-model ARN. Raises ``UnknownModelError``."""
    if isinstance(name, NovaModel):
        return name
    key = _normalise(str(name))
    if key.startswith("arn:"):
        key = key.rsplit("/", 1)[-1]
    model = _INDEX.get(key)
    if model is None:
        raise UnknownModelError(str(name))
    return model


def known_aliases() -> tuple[str, ...]:
    return tuple(model.alias for model in MODELS)


def models_supporting(technique: Technique | str) -> tuple[NovaModel, ...]:
    wanted = Technique.parse(technique)
    return tuple(model for model in MODELS if wanted in model.techniques)


def distillation_pairs() -> tuple[tuple[NovaModel, NovaModel], ...]:
    """Every valid (teacher, student) pair."""
    return tuple((resolve_model(t), resolve_model(s)) for t, s in DISTILLATION_PAIRS)


def is_valid_teacher(teacher: str | NovaModel, student: str | NovaModel) -> bool:
    """True when ``teacher`` may distil into ``student``. Unknown names raise ``UnknownModelError``."""
    pair = (resolve_model(teacher).alias, resolve_model(student).alias)
    return pair in DISTILLATION_PAIRS


def teachers_for(student: str | NovaModel) -> tuple[NovaModel, ...]:
    alias = resolve_model(student).alias
    return tuple(resolve_model(t) for t, s in DISTILLATION_PAIRS if s == alias)


def bedrock_supports(technique: Technique | str, model: str | NovaModel | None = None) -> bool:
    """Whether Bedrock can run ``technique`` (for ``model``, when given). Nova CPT never runs there."""
    wanted = Technique.parse(technique)
    if model is None:
        return wanted is not Technique.CONTINUED_PRE_TRAINING
    nova = resolve_model(model)
    return nova.supports(wanted) and nova.backend_for(wanted) is Backend.BEDROCK


def listed_price(model: str | NovaModel) -> ListedPrice | None:
    """The catalog's training price entry for ``model`` (any alias or id), or None when it has none."""
    model_id = resolve_model(model).model_id
    return next((price for price in TRAINING_PRICES if price.model_id == model_id), None)


def backend_note(technique: Technique | str) -> str | None:
    """What to tell a user whose technique does not run on Bedrock, else None."""
    return CPT_BACKEND_NOTE if Technique.parse(technique) is Technique.CONTINUED_PRE_TRAINING else None
