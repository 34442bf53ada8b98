"""The zero-config inbox: ``inbox/<technique>/<model alias>/<file>.jsonl`` becomes a job spec.

Every rejection says how to fix it, and when the fix is a rename, gives the ``aws s3 mv`` that
does it (the file name made Bedrock-safe, the folder corrected when the intent is clear).
"""

from __future__ import annotations

import re
import shlex
import unicodedata

from tailor.ingestion.triggers import INBOX_PREFIX, InboxTrigger
from tailor.jobs.catalog import (
    NovaModel,
    Technique,
    UnknownModelError,
    UnknownTechniqueError,
    models_supporting,
    resolve_model,
    teachers_for,
)
from tailor.jobs.naming import bedrock_safe_key
from tailor.jobs.spec import UNSUPPORTED_MODEL, UNSUPPORTED_TECHNIQUE, JobSpec, SpecError

KEY_INVALID = "key_invalid"  # tailor.datasets.codes.IssueCode.KEY_INVALID
_SUFFIX = ".jsonl"
_UNSAFE = re.compile(r"[^-!_*'().a-zA-Z0-9]+")
_TECHNIQUES = "|".join(t.value for t in Technique)


def inbox_spec(trigger: InboxTrigger, *, bucket: str | None = None) -> JobSpec:
    """The spec of an inbox drop: the folder's technique and model, the catalog's defaults.

    Raises ``SpecError`` with code ``unsupported_technique`` (unknown technique folder, a model
    without that technique, or distillation, which needs a teacher the inbox cannot name),
    ``unsupported_model`` (unknown model folder) or ``key_invalid`` (a file name Bedrock refuses
    or that has no name before ``.jsonl``). ``bucket`` makes the suggested ``aws s3 mv`` exact.
    """
    rename = _Rename(trigger, bucket)
    technique = _technique(trigger, rename)
    model = _model(trigger, technique, rename)
    _check_supported(trigger, technique, model, rename)
    if technique is Technique.DISTILLATION:
        name = rename.file.removesuffix(_SUFFIX)
        teachers = teachers_for(model)
        teacher = teachers[-1].alias if teachers else "nova-premier"
        raise SpecError(
            f"the inbox cannot start distillation: it needs a teacher model ({trigger.folder!r})",
            line=None,
            code=UNSUPPORTED_TECHNIQUE,
            hint=(
                f"move it: aws s3 mv {_quote(rename.old)} "
                f"{_quote(f's3://{rename.bucket}/datasets/{name}/{rename.file}')}, then upload beside it "
                "a job.json that names the teacher, e.g. "
                f'{{"technique": "distillation", "baseModel": "{model.alias}", '
                f'"teacherModel": "{teacher}", "training": "{rename.file}"}} (upload job.json last)'
            ),
        )
    if not usable_file_name(trigger.file):
        why = (
            "has no name before .jsonl"
            if bedrock_safe_key(trigger.file)
            else "has characters Bedrock refuses in S3 keys (only letters, digits and -!_*'(). work)"
        )
        raise SpecError(
            f"inbox file name {trigger.file!r} {why}",
            line=None,
            code=KEY_INVALID,
            hint=f"rename it: {rename.command()}",
        )
    from pydantic import ValidationError

    try:
        return JobSpec.model_validate(
            {"technique": technique.value, "baseModel": trigger.model, "training": trigger.file},
            by_alias=True,
            by_name=False,
        )
    except ValidationError as error:  # the checks above should leave nothing for the spec to refuse
        spec_error = SpecError.from_validation(error)
        spec_error.hint = f"put the file under {INBOX_PREFIX}<{_TECHNIQUES}>/<model alias>/"
        raise spec_error from None


def usable_file_name(name: str) -> bool:
    """A Bedrock-safe ``*.jsonl`` name with something before the extension."""
    stem = name.removesuffix(_SUFFIX)
    return "/" not in name and bedrock_safe_key(name) and stem.strip(".") != ""


def safe_file_name(name: str) -> str:
    """``name`` made Bedrock-safe: accents dropped, every run of other characters one '-'."""
    stem = name.removesuffix(_SUFFIX)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_stem).strip("-")
    return (cleaned if cleaned.strip(".") else "data") + _SUFFIX


class _Rename:
    """The ``aws s3 mv`` that fixes an inbox key, built from what is known to be wrong."""

    def __init__(self, trigger: InboxTrigger, bucket: str | None) -> None:
        self.trigger = trigger
        self.bucket = bucket or "<bucket>"
        self.technique = trigger.technique
        self.model = trigger.model
        self.file = trigger.file if usable_file_name(trigger.file) else safe_file_name(trigger.file)

    @property
    def old(self) -> str:
        return f"s3://{self.bucket}/{self.trigger.folder}{self.trigger.file}"

    def command(self, *, technique: str | None = None, model: str | None = None) -> str:
        folder = f"{INBOX_PREFIX}{technique or self.technique}/{model or self.model}/"
        new = f"s3://{self.bucket}/{folder}{self.file}"
        return f"aws s3 mv {_quote(self.old)} {_quote(new)}"


def _quote(uri: str) -> str:
    # Keep the <bucket> placeholder readable; quote anything a shell would split or expand.
    return uri if re.fullmatch(r"[-\w./:<>]+", uri) else shlex.quote(uri)


def _technique(trigger: InboxTrigger, rename: _Rename) -> Technique:
    if trigger.technique in {t.value for t in Technique}:
        return Technique(trigger.technique)
    try:
        meant: Technique | None = Technique.parse(trigger.technique)
    except UnknownTechniqueError:
        meant = None
    choices = ", ".join(t.value for t in Technique)
    if meant is not None:
        hint = f"the folder is spelled {meant.value}; move the file: {rename.command(technique=meant.value)}"
    else:
        hint = (
            f"put the file under {INBOX_PREFIX}<{_TECHNIQUES}>/<model alias>/, e.g. "
            f"{rename.command(technique=Technique.FINE_TUNING.value)}"
        )
    raise SpecError(
        f"inbox folder {trigger.technique!r} is not a technique: use one of {choices}",
        line=None,
        code=UNSUPPORTED_TECHNIQUE,
        hint=hint,
    )


def _model(trigger: InboxTrigger, technique: Technique, rename: _Rename) -> NovaModel:
    try:
        return resolve_model(trigger.model)
    except UnknownModelError as error:
        aliases = [m.alias for m in models_supporting(technique)] or list(error.known)
        raise SpecError(
            f"inbox folder {trigger.model!r} is not a known Nova model: {error}",
            line=None,
            code=UNSUPPORTED_MODEL,
            hint=(
                f"put the file under a model alias folder ({', '.join(aliases)} for {technique.value}), "
                f"e.g. {rename.command(model=aliases[0])}"
            ),
        ) from None


def _check_supported(trigger: InboxTrigger, technique: Technique, model: NovaModel, rename: _Rename) -> None:
    if model.supports(technique):
        return
    supported = ", ".join(sorted(t.value for t in model.techniques)) or "none"
    others = [m.alias for m in models_supporting(technique)]
    hint = f"models that support {technique.value}: {', '.join(others) or 'none'}"
    if others:
        hint += f"; e.g. {rename.command(model=others[0])}"
    raise SpecError(
        f"{model.alias} does not support {technique.value} (it supports: {supported}); "
        f"the file is in {trigger.folder!r}",
        line=None,
        code=UNSUPPORTED_TECHNIQUE,
        hint=hint,
    )
