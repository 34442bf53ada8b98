"""``HyperPodBackend``: a Nova continued pre-training run becomes a PyTorchJob on the EKS cluster.

Behind the same ``CustomizationBackend`` protocol as Bedrock, fed the same request
(``submission.request.build_request``): its job name, token, snapshot URI, output URI and
hyperparameters become the Nova CPT recipe's ConfigMap and PyTorchJob (``hyperpod.render``).

Exactly once: the objects are named after the run's deterministic job name and carry its request
token as an annotation. "Already exists" with our token is our own earlier try (adopted); with
another token it is somebody else's job and the next name is tried, as for Bedrock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tailor.adapters.errors import ErrorKind
from tailor.adapters.kubernetes import JobsApi, KubeError
from tailor.events.models import CostEstimate
from tailor.hyperpod.cost import hyperpod_estimate
from tailor.hyperpod.recipes import CptRecipe, RecipeError, check_capacity, cpt_recipe_for
from tailor.hyperpod.render import JobValues, PayloadTemplate, RenderedJob, render_job
from tailor.hyperpod.settings import BACKEND, HyperPodSettings, JobRef
from tailor.jobs.catalog import NovaModel, Technique, resolve_model
from tailor.submission.backends import MAX_NAME_COLLISIONS, StartedJob
from tailor.submission.request import RUN_TAG, RequestError

logger = logging.getLogger(__name__)

RUN_LABEL = "tailor.aws/run-id"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "tailor"
TOKEN_ANNOTATION = "tailor.aws/request-token"
MODEL_ANNOTATION = "tailor.aws/custom-model-name"
TEMPLATE_ANNOTATION = "tailor.aws/template-source"
_FINISHED = frozenset({"Succeeded", "Failed"})

TemplateSource = Callable[[CptRecipe], PayloadTemplate | None]


def run_selector() -> str:
    return f"{MANAGED_LABEL}={MANAGER}"


def finished(job: Mapping[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") in _FINISHED and c.get("status") == "True" for c in conditions)


def token_of(obj: Mapping[str, Any] | None) -> str | None:
    if not obj:
        return None
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(TOKEN_ANNOTATION)
    return str(value) if value else None


class HyperPodBackend:
    name = BACKEND

    def __init__(
        self, jobs: JobsApi, settings: HyperPodSettings, templates: TemplateSource | None = None
    ) -> None:
        self.jobs = jobs
        self.settings = settings
        self.templates = templates or (lambda _recipe: None)

    def accepts(self, technique: Technique, model: NovaModel) -> bool:
        # Every Nova model: one without a CPT recipe (Premier) is refused by preflight, by name.
        return technique is Technique.CONTINUED_PRE_TRAINING

    def in_progress(self) -> int:
        """Tailor's PyTorchJobs on the cluster that have not finished (the concurrency cap counts)."""
        return sum(1 for job in self.jobs.list_jobs(run_selector()) if not finished(job))

    def refine_estimate(self, estimate: CostEstimate, model: NovaModel) -> CostEstimate:
        """Instance-hours at the instance price, not Bedrock's per-token price."""
        try:
            recipe = cpt_recipe_for(model.alias)
        except RecipeError:
            return estimate  # preflight refuses the run with the reason
        return hyperpod_estimate(
            estimate,
            model_alias=model.alias,
            instance_type=self.settings.instance_type,
            replicas=self.settings.replicas or min(recipe.instance_counts),
            price_override=self.settings.instance_price_usd,
        )

    def recipe_and_replicas(self, request: Mapping[str, Any]) -> tuple[CptRecipe, int]:
        model = resolve_model(str(request["baseModelIdentifier"]))
        try:
            recipe = cpt_recipe_for(model.alias)
            replicas = self.settings.replicas or min(recipe.instance_counts)
            check_capacity(recipe, self.settings.instance_type, replicas)
        except RecipeError as error:
            raise RequestError(error.code, error.message, error.hint) from None
        return recipe, replicas

    def preflight(self, request: Mapping[str, Any]) -> None:
        """A finding about the run (no recipe, instance type or count not allowed) before any call."""
        self.render(request)

    def render(self, request: Mapping[str, Any]) -> RenderedJob:
        recipe, replicas = self.recipe_and_replicas(request)
        validators = (request.get("validationDataConfig") or {}).get("validators") or []
        values = JobValues(
            job_name=str(request["jobName"]),
            namespace=self.settings.namespace,
            data_s3_path=str(request["trainingDataConfig"]["s3Uri"]),
            output_s3_path=str(request["outputDataConfig"]["s3Uri"]),
            replicas=replicas,
            instance_type=self.settings.instance_type,
            hyper_parameters=dict(request.get("hyperParameters") or {}),
            labels={RUN_LABEL: _run_id(request), MANAGED_LABEL: MANAGER},
            validation_s3_path=str(validators[0]["s3Uri"]) if validators else None,
        )
        try:
            rendered = render_job(recipe, values, self.templates(recipe))
        except RecipeError as error:
            raise RequestError(error.code, error.message, error.hint) from None
        annotations = {
            TOKEN_ANNOTATION: str(request["clientRequestToken"]),
            MODEL_ANNOTATION: str(request["customModelName"]),
            TEMPLATE_ANNOTATION: rendered.template_source,
        }
        for obj in (rendered.config_map, rendered.pytorch_job):
            metadata = obj.setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
        return rendered

    def ref(self, name: str) -> str:
        return str(JobRef(self.settings.cluster_name, self.settings.namespace, name))

    def find_own(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob | None:
        # Names are tried in order, so the first free name ends the search: no later one is ours.
        for collisions in range(MAX_NAME_COLLISIONS):
            request = build(collisions)
            job = self.jobs.get_job(str(request["jobName"]))
            if job is None:
                return None
            if token_of(job) == request.get("clientRequestToken"):
                return self._started(request, adopted=True)
        return None

    def submit(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob:
        for collisions in range(MAX_NAME_COLLISIONS):
            request = build(collisions)
            rendered = self.render(request)
            token = str(request["clientRequestToken"])
            # The ConfigMap first: a PyTorchJob without its recipe would crash-loop.
            if not self._create_own(rendered.config_map, token, self.jobs.get_config_map):
                continue
            created = self._create_own(rendered.pytorch_job, token, self.jobs.get_job)
            if created is None:
                continue
            logger.info(
                "PyTorchJob %s",
                "adopted" if created == "adopted" else "created",
                extra={"job": request["jobName"], "template": rendered.template_source},
            )
            return self._started(request, adopted=created == "adopted")
        raise KubeError(
            "NameCollision",
            f"{MAX_NAME_COLLISIONS} job names for this run are taken by objects that are not Tailor's",
            ErrorKind.FATAL,
            "delete the stray PyTorchJobs/ConfigMaps of that name in the namespace, then upload again",
        )

    def _create_own(
        self,
        manifest: Mapping[str, Any],
        token: str,
        get: Callable[[str], dict[str, Any] | None],
    ) -> str | None:
        """``created``, ``adopted`` (ours existed), or None (the name is somebody else's)."""
        try:
            self.jobs.create(manifest)
        except KubeError as error:
            if error.kind is not ErrorKind.CONFLICT:
                raise
            existing = get(str(manifest["metadata"]["name"]))
            if existing is not None and token_of(existing) == token:
                return "adopted"
            return None
        return "created"

    def _started(self, request: Mapping[str, Any], *, adopted: bool) -> StartedJob:
        name = str(request["jobName"])
        return StartedJob(self.ref(name), name, str(request["customModelName"]), adopted=adopted)


def _run_id(request: Mapping[str, Any]) -> str:
    tags: Iterable[Mapping[str, str]] = request.get("jobTags") or []
    return next((t["value"] for t in tags if t.get("key") == RUN_TAG), "")
