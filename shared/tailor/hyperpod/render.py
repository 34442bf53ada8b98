"""Render a run's ConfigMap and PyTorchJob from a Nova CPT payload template.

Safe by construction: placeholders ``{{ name }}`` are the only template syntax, and each takes a
JSON-encoded value (a JSON string or object is a YAML flow scalar/mapping), so nothing a value holds
— a newline, a colon, braces — can become YAML structure. A template with other syntax (helm's
``.Values``, Jinja blocks) or an unknown placeholder does not render: the error names its source so
the caller falls back to the checked-in template. The result is checked: one ConfigMap, one
PyTorchJob, DNS-1123 names, the recipe under ``config.yaml``, the ConfigMap mounted by Master.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from tailor.hyperpod.recipes import CptRecipe, RecipeError

FALLBACK_VERSION = "nova-cpt-eks-v1"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_FOREIGN_SYNTAX = re.compile(r"\{%|\{\{\s*\.|\{\{-|-\}\}")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HYPERPARAMETERS = {
    "epochCount": ("trainer", "max_epochs", int),
    "learningRate": ("optim", "lr", float),
    "learningRateWarmupSteps": ("sched", "warmup_steps", int),
}


@dataclass(frozen=True, slots=True)
class PayloadTemplate:
    text: str
    source: str  # "hub:<content>@<version>" or "fallback:nova-cpt-eks-v1"


@dataclass(frozen=True, slots=True)
class JobValues:
    job_name: str
    namespace: str
    data_s3_path: str
    output_s3_path: str
    replicas: int
    instance_type: str
    hyper_parameters: Mapping[str, str]  # Tailor's names, Bedrock-style strings
    labels: Mapping[str, str] = field(default_factory=dict)
    validation_s3_path: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedJob:
    config_map: dict[str, Any]
    pytorch_job: dict[str, Any]
    template_source: str


class TemplateError(RecipeError):
    """The template itself does not render (Hub content changed shape): fall back."""


def fallback_template() -> PayloadTemplate:
    text = resources.files("tailor.hyperpod").joinpath(f"templates/{FALLBACK_VERSION}.yaml").read_text()
    return PayloadTemplate(text, f"fallback:{FALLBACK_VERSION}")


def recipe_document(recipe: CptRecipe, values: JobValues) -> dict[str, Any]:
    """The Nova CPT recipe for this run, with Tailor's hyperparameters mapped onto its fields."""
    unknown = sorted(set(values.hyper_parameters) - set(_HYPERPARAMETERS))
    if unknown:
        raise RecipeError(
            "spec_invalid",
            f"hyperParameters {', '.join(unknown)} have no place in the Nova CPT recipe",
            f"use only {', '.join(_HYPERPARAMETERS)}",
        )
    tuned: dict[str, Any] = {}
    for name, (_, _, kind) in _HYPERPARAMETERS.items():
        raw = values.hyper_parameters.get(name, recipe.defaults[name])
        try:
            tuned[name] = kind(float(raw)) if kind is int else kind(raw)
        except ValueError:
            raise RecipeError(
                "spec_invalid", f"hyperParameters.{name}={raw!r} is not a number", "fix job.json"
            ) from None
    run: dict[str, Any] = {
        "name": values.job_name,
        "model_type": recipe.model_type,
        "model_name_or_path": recipe.model_name_or_path,
        "replicas": values.replicas,
        "data_s3_path": values.data_s3_path,
        "output_s3_path": values.output_s3_path,
    }
    if values.validation_s3_path:
        run["validation_data_s3_path"] = values.validation_s3_path
    return {
        "run": run,
        "training_config": {
            "max_length": recipe.max_length,
            "global_batch_size": recipe.global_batch_size,
            "trainer": {"max_epochs": tuned["epochCount"]},
            "model": {
                "hidden_dropout": 0.0,
                "attention_dropout": 0.0,
                "ffn_dropout": 0.0,
                "optim": {
                    "lr": tuned["learningRate"],
                    "name": "distributed_fused_adam",
                    "adam_w_mode": True,
                    "eps": 1e-06,
                    "weight_decay": 0.0,
                    "betas": [0.9, 0.999],
                    "sched": {
                        "warmup_steps": tuned["learningRateWarmupSteps"],
                        "constant_steps": 0,
                        "min_lr": tuned["learningRate"] / 10,
                    },
                },
            },
        },
    }


def render_job(recipe: CptRecipe, values: JobValues, template: PayloadTemplate | None = None) -> RenderedJob:
    import yaml

    template = template or fallback_template()
    _check_name(values.job_name, "the job name")
    config_map_name = f"{values.job_name}-recipe"
    _check_name(config_map_name, "the ConfigMap name")
    recipe_yaml = yaml.safe_dump(recipe_document(recipe, values), sort_keys=False)
    slots: dict[str, Any] = {
        "job_name": values.job_name,
        "config_map_name": config_map_name,
        "namespace": values.namespace,
        "labels": dict(values.labels),
        "instance_type": values.instance_type,
        "image": recipe.image,
        "replicas": values.replicas,
        "recipe_yaml": recipe_yaml,
    }
    if _FOREIGN_SYNTAX.search(template.text):
        raise TemplateError(
            "hyperpod_template", f"{template.source}: template syntax Tailor does not render", "fall back"
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in slots:
            raise TemplateError(
                "hyperpod_template", f"{template.source}: unknown placeholder {name!r}", "fall back"
            )
        return json.dumps(slots[name], ensure_ascii=True)

    try:
        documents = [d for d in yaml.safe_load_all(_PLACEHOLDER.sub(fill, template.text)) if d]
    except yaml.YAMLError as error:
        raise TemplateError(
            "hyperpod_template", f"{template.source}: not YAML ({error})", "fall back"
        ) from None
    return _checked(documents, values, config_map_name, recipe_yaml, template.source)


def _check_name(name: str, what: str) -> None:
    if len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise RecipeError(
            "hyperpod_name",
            f"{what} {name!r} is not a Kubernetes name (DNS-1123 label: a-z, 0-9, '-', at most 63)",
            "this is Tailor's bug: the job name derives from the run id",
        )


def _checked(
    documents: list[Any], values: JobValues, config_map_name: str, recipe_yaml: str, source: str
) -> RenderedJob:
    def bad(why: str) -> TemplateError:
        return TemplateError("hyperpod_template", f"{source}: {why}", "fall back")

    by_kind = {d.get("kind"): d for d in documents if isinstance(d, dict)}
    if len(documents) != 2 or set(by_kind) != {"ConfigMap", "PyTorchJob"}:
        raise bad("it must render exactly one ConfigMap and one PyTorchJob")
    config_map, job = by_kind["ConfigMap"], by_kind["PyTorchJob"]
    if (config_map.get("data") or {}).get("config.yaml") != recipe_yaml:
        raise bad("the ConfigMap does not hold the recipe under config.yaml")
    if (job.get("metadata") or {}).get("name") != values.job_name:
        raise bad("the PyTorchJob is not named after the run's job")
    specs = (job.get("spec") or {}).get("pytorchReplicaSpecs") or {}
    master = specs.get("Master")
    if not isinstance(master, dict):
        raise bad("the PyTorchJob has no Master replica spec")
    volumes = ((master.get("template") or {}).get("spec") or {}).get("volumes") or []
    if not any((v.get("configMap") or {}).get("name") == config_map_name for v in volumes):
        raise bad("Master does not mount the recipe ConfigMap")
    master["replicas"] = 1
    specs.pop("Worker", None)
    if values.replicas > 1:
        worker = copy.deepcopy(master)
        worker["replicas"] = values.replicas - 1
        specs["Worker"] = worker
    for obj in (config_map, job):
        metadata = obj.setdefault("metadata", {})
        metadata["namespace"] = values.namespace
        metadata["labels"] = {**(metadata.get("labels") or {}), **values.labels}
    return RenderedJob(config_map=config_map, pytorch_job=job, template_source=source)
