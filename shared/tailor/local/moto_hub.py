"""A SIMULATED SageMaker Public Hub while the local stack runs: moto 5.2 has no DescribeHubContent.

The local stack publishes Tailor's checked-in Nova CPT payload template to a local "recipes"
bucket and answers ``DescribeHubContent`` for each Nova model with a document naming it, so the
HyperPod backend's Hub path (document → template URI → GetObject → render) runs locally; the
rendered objects' source says ``hub:<content>@local-simulated``. Reversible: ``install``/``uninstall``.
"""

from __future__ import annotations

import json
from typing import Any

RECIPES_BUCKET = "tailor-local-model-customization-recipes"
_VERSION = "local-simulated"
_original: Any = None
_MISSING: Any = object()


def _document_for(content_name: str) -> dict[str, Any] | None:
    from tailor.hyperpod.recipes import RECIPES

    for recipe in RECIPES.values():
        if recipe.hub_content_name == content_name:
            return {
                "RecipeCollection": [
                    {
                        "Name": recipe.recipe_name,
                        "CustomizationTechnique": "CPT",
                        "HpEksPayloadTemplateS3Uri": f"s3://{RECIPES_BUCKET}/{template_key()}",
                    }
                ]
            }
    return None


def template_key() -> str:
    from tailor.hyperpod.render import FALLBACK_VERSION

    return f"nova/hyperpod/{FALLBACK_VERSION}.yaml"


def _describe_hub_content(response: Any) -> str:
    from moto.sagemaker.exceptions import ResourceNotFound

    params = json.loads(response.body or "{}")
    name = str(params.get("HubContentName", ""))
    document = _document_for(name) if params.get("HubName") == "SageMakerPublicHub" else None
    if document is None:
        raise ResourceNotFound(f"Hub content {name} not found in {params.get('HubName')}")
    return json.dumps(
        {
            "HubContentName": name,
            "HubContentArn": (
                f"arn:aws:sagemaker:{response.region}:aws:hub-content/SageMakerPublicHub/Model/{name}/1.0.0"
            ),
            "HubContentVersion": _VERSION,
            "HubContentType": "Model",
            "DocumentSchemaVersion": "2.0.0",
            "HubName": "SageMakerPublicHub",
            "HubArn": f"arn:aws:sagemaker:{response.region}:aws:hub/SageMakerPublicHub",
            "HubContentDocument": json.dumps(document),
            "HubContentStatus": "Available",
            "CreationTime": 0,
        }
    )


def publish_template(s3: Any) -> None:
    """Upload the checked-in template where the simulated Hub document points."""
    from tailor.hyperpod.render import fallback_template

    s3.create_bucket(Bucket=RECIPES_BUCKET)
    s3.put_object(Bucket=RECIPES_BUCKET, Key=template_key(), Body=fallback_template().text.encode())


def install() -> None:
    global _original
    from moto.sagemaker.responses import SageMakerResponse

    if _original is None:
        _original = getattr(SageMakerResponse, "describe_hub_content", _MISSING)
        SageMakerResponse.describe_hub_content = _describe_hub_content  # type: ignore[attr-defined]


def uninstall() -> None:
    global _original
    from moto.sagemaker.responses import SageMakerResponse

    if _original is None:
        return
    if _original is _MISSING:
        delattr(SageMakerResponse, "describe_hub_content")
    else:
        SageMakerResponse.describe_hub_content = _original  # type: ignore[attr-defined]
    _original = None
