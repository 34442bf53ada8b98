"""The Nova CPT recipes Tailor submits, per model: what they are called and what capacity they take.

Source: the SageMaker HyperPod recipes (``recipes_collection/recipes/training/nova/``, the Nova
user guide's "Amazon Nova recipes" and HyperPod compute tables). *Unverified here*: the exact
instance counts and the container image were not read from AWS in this workplace; they are kept in
this one table, dated, so a change is one edit. The Hub's recipe document (``adapters.hub``) is
read at submission time for the payload template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tailor.submission.request import RequestError

RECIPES_AS_OF = "2026-12"
_SOURCE = (
    "SageMaker HyperPod recipes, training/nova (CPT), and the Nova user guide's HyperPod compute "
    f"table, as of {RECIPES_AS_OF}; unverified"
)
# The Nova training container of the HyperPod recipes (unverified tag; the Hub template wins).
DEFAULT_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-HP-CPT-latest"


class RecipeError(RequestError):
    """A finding about the run against the recipe: refused before any call, never retried."""


@dataclass(frozen=True, slots=True)
class CptRecipe:
    model_alias: str
    model_type: str  # the recipe's run.model_type
    model_name_or_path: str  # the recipe's run.model_name_or_path
    hub_content_name: str  # the model's content in SageMakerPublicHub
    recipe_name: str
    instance_types: tuple[str, ...]
    instance_counts: tuple[int, ...]
    max_length: int = 8192
    global_batch_size: int = 256
    image: str = DEFAULT_IMAGE
    recipe_version: str = RECIPES_AS_OF
    defaults: dict[str, str] = field(
        default_factory=lambda: {"epochCount": "1", "learningRate": "1e-05", "learningRateWarmupSteps": "10"}
    )
    source_note: str = _SOURCE


_P5 = ("ml.p5.48xlarge",)
RECIPES: dict[str, CptRecipe] = {
    recipe.model_alias: recipe
    for recipe in (
        CptRecipe(
            "nova-micro",
            "amazon.nova-micro-v1:0:128k",
            "nova-micro/prod",
            "nova-textgeneration-micro",
            "nova_micro_p5_gpu_pretrain",
            _P5,
            (8, 16, 32),
        ),
        CptRecipe(
            "nova-lite",
            "amazon.nova-lite-v1:0:300k",
            "nova-lite/prod",
            "nova-textgeneration-lite",
            "nova_lite_p5_gpu_pretrain",
            _P5,
            (16, 32),
        ),
        CptRecipe(
            "nova-pro",
            "amazon.nova-pro-v1:0:300k",
            "nova-pro/prod",
            "nova-textgeneration-pro",
            "nova_pro_p5_gpu_pretrain",
            _P5,
            (24, 48),
        ),
        CptRecipe(
            "nova-2-lite",
            "amazon.nova-2-lite-v1:0:256k",
            "nova-lite-2/prod",
            "nova-textgeneration-lite-v2",
            "nova_lite_2_0_p5_gpu_pretrain",
            _P5,
            (8, 16, 32),
        ),
    )
}


def cpt_recipe_for(model_alias: str) -> CptRecipe:
    recipe = RECIPES.get(model_alias)
    if recipe is None:
        known = ", ".join(sorted(RECIPES))
        raise RecipeError(
            "hyperpod_no_recipe",
            f"{model_alias} has no Nova continued pre-training recipe on SageMaker HyperPod "
            f"(CPT recipes exist for {known})",
            f"set baseModel to one of {known}",
        )
    return recipe


def check_capacity(recipe: CptRecipe, instance_type: str, replicas: int) -> None:
    if instance_type not in recipe.instance_types:
        raise RecipeError(
            "hyperpod_instance_type",
            f"the {recipe.model_alias} CPT recipe runs on {', '.join(recipe.instance_types)}, "
            f"not {instance_type}",
            f"set the HyperPodInstanceType parameter to {recipe.instance_types[0]}",
        )
    if replicas not in recipe.instance_counts:
        counts = ", ".join(str(c) for c in recipe.instance_counts)
        raise RecipeError(
            "hyperpod_replicas",
            f"the {recipe.model_alias} CPT recipe takes {counts} instances, not {replicas}",
            f"set the HyperPodReplicas parameter to one of {counts} (0 = {min(recipe.instance_counts)})",
        )
