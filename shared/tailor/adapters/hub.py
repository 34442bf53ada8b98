"""The Nova CPT payload template from the SageMaker Public Hub, with the checked-in fallback.

``DescribeHubContent(HubName=SageMakerPublicHub, HubContentType=Model, HubContentName=<model>)``
returns a ``HubContentDocument`` (a JSON string) whose recipe collection names, per recipe, the S3
URIs of its templates; the HyperPod EKS payload template is the one Tailor renders. *Unverified
here*: the document's field names (``RecipeCollection``, ``HpEksPayloadTemplateS3Uri``) were not
read from AWS in this workplace, so the lookup is tolerant (any recipe entry naming the recipe or
CPT with a key containing ``HpEksPayloadTemplate``). Whatever goes wrong — the hub unreadable, the
recipe or template absent, a template that does not render — the fallback is used and a warning says
why: a Hub outage must not block a run, and the rendered objects record their source.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tailor.hyperpod.recipes import CptRecipe
from tailor.hyperpod.render import JobValues, PayloadTemplate, TemplateError, fallback_template, render_job

logger = logging.getLogger(__name__)

PUBLIC_HUB = "SageMakerPublicHub"
_TEMPLATE_KEY = "HpEksPayloadTemplate"


class HubTemplates:
    def __init__(self, sagemaker: Any, s3: Any, hub_name: str = PUBLIC_HUB) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.hub_name = hub_name
        self._cache: dict[str, PayloadTemplate] = {}

    def payload_template(self, recipe: CptRecipe) -> PayloadTemplate:
        cached = self._cache.get(recipe.recipe_name)
        if cached is None:
            cached = self._cache[recipe.recipe_name] = self._load(recipe)
        return cached

    def _load(self, recipe: CptRecipe) -> PayloadTemplate:
        try:
            template = self._from_hub(recipe)
            _probe(recipe, template)
        except Exception as error:  # every failure has the same answer: the fallback, said aloud
            fallback = fallback_template()
            logger.warning(
                "Nova CPT template from the SageMaker Public Hub unavailable: using %s",
                fallback.source,
                extra={
                    "recipe": recipe.recipe_name,
                    "hub_content": recipe.hub_content_name,
                    "why": str(error),
                },
            )
            return fallback
        return template

    def _from_hub(self, recipe: CptRecipe) -> PayloadTemplate:
        content = self.sagemaker.describe_hub_content(
            HubName=self.hub_name, HubContentType="Model", HubContentName=recipe.hub_content_name
        )
        document = json.loads(content.get("HubContentDocument") or "{}")
        uri = _template_uri(document, recipe)
        if uri is None:
            raise LookupError(f"{recipe.hub_content_name}'s document names no HyperPod EKS template for CPT")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        version = content.get("HubContentVersion", "?")
        return PayloadTemplate(body, f"hub:{recipe.hub_content_name}@{version}")


def _template_uri(document: Any, recipe: CptRecipe) -> str | None:
    entries = document.get("RecipeCollection") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        named = entry.get("Name") == recipe.recipe_name or recipe.recipe_name in str(
            entry.get("RecipeFilePath", "")
        )
        cpt = str(entry.get("CustomizationTechnique", "")).upper() in ("CPT", "CONTINUED_PRE_TRAINING")
        if not (named or cpt):
            continue
        for key, value in entry.items():
            if _TEMPLATE_KEY in key and isinstance(value, str) and value.startswith("s3://"):
                return value
    return None


def _probe(recipe: CptRecipe, template: PayloadTemplate) -> None:
    """Render a sample job: a Hub template Tailor cannot render is treated as unavailable."""
    sample = JobValues(
        "tailor-probe",
        "default",
        "s3://b/d",
        "s3://b/o/",
        min(recipe.instance_counts),
        recipe.instance_types[0],
        {},
    )
    try:
        render_job(recipe, sample, template)
    except TemplateError:
        raise
    except Exception as error:
        raise TemplateError("hyperpod_template", f"{template.source}: {error}", "fall back") from error
