"""Nova CPT end to end on the embedded stack with the SIMULATED HyperPod cluster: template.yaml's
real wiring (HyperPodRule → HyperPodQueue → HyperPodFunction, its reconcile schedule), the real
Kubernetes client over HTTP, the simulated Public Hub, moto's Bedrock import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tailor.local import LocalStack
from tailor.local.demo import samples_dir
from tailor.local.dispatcher import DispatcherTimeoutError

pytestmark = pytest.mark.integration

CPT = "support-cpt"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(simulate_hyperpod=True, simulate_bedrock=True, time_scale=0.001) as running:
        yield running


def _upload(stack: LocalStack, name: str, spec: bytes | None = None) -> None:
    folder = samples_dir() / CPT
    for path in sorted(folder.iterdir()):
        if path.name != "job.json":
            stack.upload(f"datasets/{name}/{path.name}", path.read_bytes())
    body = spec or (folder / "job.json").read_bytes()
    stack.upload(f"datasets/{name}/job.json", body, content_type="application/json")


def _events(stack: LocalStack, name: str, detail_type: str) -> list[dict[str, Any]]:
    found = []
    for event in stack.published_events(history=True):
        data = event["detail"]["data"]
        uri = str(((data.get("dataset") or {}).get("triggerUri")) or "")
        run = str(data.get("runId", ""))
        if event["detail-type"] == detail_type and (f"/{name}/" in uri or run.startswith(f"{name}-")):
            found.append(data)
    return found


def test_a_cpt_corpus_trains_on_the_simulated_cluster_and_lands_in_bedrock(stack: LocalStack) -> None:
    _upload(stack, "cpt-one")
    stack.run_until_idle()
    submitted = _events(stack, "cpt-one", "JobSubmitted")
    assert len(submitted) == 1 and submitted[0]["jobArn"].startswith("hyperpod://tailor-local-hyperpod/")
    name = submitted[0]["jobArn"].rsplit("/", 1)[-1]
    job = stack.hyperpod_cluster.job("kubeflow", name)
    assert job is not None
    assert job["metadata"]["annotations"]["tailor.aws/template-source"].startswith("hub:")  # the Hub path
    stack.reconcile_hyperpod(cycles=5)
    completed = _events(stack, "cpt-one", "JobCompleted")
    assert len(completed) == 1
    model_arn = completed[0]["outputModelArn"]
    assert completed[0]["backend"] == "sagemaker-hyperpod" and completed[0]["requiresProvisionedThroughput"]
    model = stack.client("bedrock").get_custom_model(modelIdentifier=completed[0]["outputModelName"])
    assert model["modelArn"] == model_arn
    assert not stack.dlq_messages("HyperPodFunction")
    refused = _events(stack, "cpt-one", "JobSubmissionFailed")
    assert not refused  # the submission service never saw it: the rules partition by technique


def test_duplicate_deliveries_make_one_job(stack: LocalStack) -> None:
    before = stack.hyperpod_cluster.creates("pytorchjobs")
    _upload(stack, "cpt-storm")
    stack.run_until_idle()
    # The same DatasetValidated three times more, as an at-least-once bus may deliver it.
    (raw,) = [
        e
        for e in stack.published_events(history=True)
        if e["detail-type"] == "DatasetValidated" and "/cpt-storm/" in json.dumps(e["detail"])
    ]
    entry = {
        "Source": raw["source"],
        "DetailType": raw["detail-type"],
        "Detail": json.dumps(raw["detail"]),
        "EventBusName": stack.env_value("TAILOR_BUS_NAME"),
    }
    stack.client("events").put_events(Entries=[entry, entry, entry])
    stack.run_until_idle()
    assert stack.hyperpod_cluster.creates("pytorchjobs") == before + 1
    assert len(_events(stack, "cpt-storm", "JobSubmitted")) == 1
    assert not stack.dlq_messages("HyperPodFunction")
    stack.reconcile_hyperpod(cycles=5)  # frees the cluster (HyperPodMaxConcurrentJobs = 1)
    assert len(_events(stack, "cpt-storm", "JobCompleted")) == 1


def test_a_busy_cluster_holds_the_next_run_until_a_job_ends(stack: LocalStack) -> None:
    _upload(stack, "cpt-busy-a")
    stack.run_until_idle()
    _upload(stack, "cpt-busy-b")
    with pytest.raises(DispatcherTimeoutError, match="HyperPodQueue"):
        stack.run_until_idle(timeout=3)  # b's message is held while a runs: never idle
    assert len(_events(stack, "cpt-busy-a", "JobSubmitted")) == 1
    assert not _events(stack, "cpt-busy-b", "JobSubmitted")  # held on HyperPodQueue, not refused
    assert not _events(stack, "cpt-busy-b", "JobSubmissionFailed")
    stack.reconcile_hyperpod(cycles=5)
    stack.run_until_idle()
    assert len(_events(stack, "cpt-busy-b", "JobSubmitted")) == 1
    stack.reconcile_hyperpod(cycles=5)


def test_the_rendered_recipe_points_at_the_validated_snapshot(stack: LocalStack) -> None:
    _upload(stack, "cpt-recipe")
    stack.run_until_idle()
    (submitted,) = _events(stack, "cpt-recipe", "JobSubmitted")
    (validated,) = _events(stack, "cpt-recipe", "DatasetValidated")
    name = submitted["jobArn"].rsplit("/", 1)[-1]
    maps = stack.hyperpod_cluster._config_maps  # the simulated API server's store
    recipe = yaml.safe_load(maps[("kubeflow", f"{name}-recipe")]["data"]["config.yaml"])
    assert recipe["run"]["data_s3_path"] == validated["dataset"]["snapshot"]["training"]["uri"]
    assert recipe["run"]["output_s3_path"].endswith(f"/jobs/{submitted['runId']}/")


def test_the_hyperpod_function_env_matches_the_template(stack: LocalStack) -> None:
    """With HyperPodClusterName set, the conditional resources exist and are wired as written."""
    from test_local_template import TEMPLATE, assert_function_env_matches

    from tailor.local.sam_transform import load_template, transform_template

    transformed = transform_template(load_template(TEMPLATE))
    assert_function_env_matches(stack, transformed, injected={"HyperPodFunction": {"HYPERPOD_K8S_ENDPOINT"}})
    env = stack.function_env("HyperPodFunction")
    assert env["HYPERPOD_K8S_ENDPOINT"] == stack.hyperpod_cluster.url
    assert env["POWERTOOLS_SERVICE_NAME"] == "hyperpod"
    assert env["HYPERPOD_CLUSTER_NAME"] == "tailor-local-hyperpod"
