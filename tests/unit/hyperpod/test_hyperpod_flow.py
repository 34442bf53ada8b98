"""The HyperPod backend and reconciler against the simulated cluster over real HTTP: the real
Kubernetes client, an EKS token, the rendered objects, exactly once, every outcome, the import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.eks_token import EksTokenSource
from tailor.adapters.kubernetes import ClusterAccess, KubeError, KubernetesJobs
from tailor.adapters.model_import import InMemoryModelImporter
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.events.models import DatasetValidated
from tailor.hyperpod.backend import TOKEN_ANNOTATION, HyperPodBackend
from tailor.hyperpod.reconcile import FULL_RANK_NOTE, HyperPodDeps, reconcile_hyperpod
from tailor.hyperpod.settings import HyperPodSettings, JobRef
from tailor.ingestion import IngestionDeps, ingest_object
from tailor.jobs.pricing import price_table
from tailor.jobs.state import RunStatus
from tailor.local.hyperpod_sim import SimulatedHyperPodCluster
from tailor.submission.quota import QuotaGate
from tailor.submission.request import SubmissionSettings
from tailor.submission.service import Delivery, HoldMessage, SubmissionDeps, SubmitOutcome, submit_run

DATA, ARTIFACTS, CLUSTER = "tailor-data", "tailor-artifacts", "hp-eks"
ROLE = "arn:aws:iam::123456789012:role/tailor-BedrockImportRole"
INTERVAL = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


class World:
    def __init__(
        self, cluster: SimulatedHyperPodCluster, objects: InMemoryObjectStore, **settings: Any
    ) -> None:
        self.cluster = cluster
        self.objects = objects
        self.runs = InMemoryRunStore()
        self.bus = InMemoryPublisher()
        self.importer = InMemoryModelImporter()
        self.settings = HyperPodSettings(
            cluster_name=CLUSTER, artifacts_bucket=ARTIFACTS, import_role_arn=ROLE, **settings
        )
        token = EksTokenSource(CLUSTER, "us-east-1")
        self.jobs = KubernetesJobs(ClusterAccess(CLUSTER, cluster.url), token.token, self.settings.namespace)
        self.backend = HyperPodBackend(self.jobs, self.settings)
        self.ingestion = IngestionDeps(self.objects, self.runs, self.bus, ARTIFACTS)

    def submission(self) -> SubmissionDeps:
        return SubmissionDeps(
            runs=self.runs,
            bus=self.bus,
            backends=(self.backend,),
            settings=SubmissionSettings(role_arn=ROLE, artifacts_bucket=ARTIFACTS),
            prices=price_table(None),
            quota=QuotaGate(self.settings.max_concurrent_jobs, self.backend.in_progress),
        )

    def status(self, now: datetime | None = None) -> HyperPodDeps:
        return HyperPodDeps(
            runs=self.runs,
            bus=self.bus,
            jobs=self.jobs,
            importer=self.importer,
            objects=self.objects,
            settings=self.settings,
            now=now or datetime.now(UTC),
        )

    def validated(self, name: str = "corpus", model: str = "nova-lite", **spec: Any) -> DatasetValidated:
        corpus = b"".join(
            orjson.dumps({"text": f"Domain passage {i} about turbines."}) + b"\n" for i in range(50)
        )
        self.objects.put_bytes(DATA, f"datasets/{name}/train.jsonl", corpus)
        body = {"technique": "continued-pre-training", "baseModel": model, **spec}
        info = self.objects.put_bytes(DATA, f"datasets/{name}/job.json", orjson.dumps(body))
        event = S3ObjectCreatedDetail(
            bucket=S3Bucket(name=DATA),
            object=S3Object(key=info.key, etag=info.etag, **{"version-id": info.version_id}),
        )
        result = ingest_object(event, self.ingestion)
        found = [d for d in self.bus.details("DatasetValidated") if d["data"]["runId"] == result.run_id]
        assert found, f"not validated: {result}"
        return DatasetValidated.model_validate(found[-1]["data"])

    def submit(self, data: DatasetValidated) -> Any:
        return submit_run(data, Delivery(), self.submission())

    def cycle(self, n: int = 1, now: datetime | None = None) -> None:
        for _ in range(n):
            reconcile_hyperpod(self.status(now), INTERVAL)

    def published(self, detail_type: str) -> list[dict[str, Any]]:
        return [d["data"] for d in self.bus.details(detail_type)]


@pytest.fixture
def objects() -> InMemoryObjectStore:
    return InMemoryObjectStore()


@pytest.fixture
def cluster(objects: InMemoryObjectStore) -> Iterator[SimulatedHyperPodCluster]:
    def write(uri: str, body: bytes) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        objects.put_bytes(bucket, key, body)

    with SimulatedHyperPodCluster(write) as sim:
        yield sim


@pytest.fixture
def world(cluster: SimulatedHyperPodCluster, objects: InMemoryObjectStore) -> World:
    return World(cluster, objects)


def test_a_cpt_run_becomes_one_pytorchjob_and_its_recipe(world: World) -> None:
    data = world.validated()
    result = world.submit(data)
    assert result.outcome is SubmitOutcome.SUBMITTED
    ref = JobRef.parse(str(result.job_arn))
    assert ref is not None and (ref.cluster, ref.namespace) == (CLUSTER, "kubeflow")
    job = world.cluster.job("kubeflow", ref.name)
    assert job is not None
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert specs["Master"]["replicas"] == 1 and specs["Worker"]["replicas"] == 15  # Lite's smallest: 16
    assert job["metadata"]["labels"]["tailor.aws/run-id"] == data.run_id
    recipe_map = world.jobs.get_config_map(f"{ref.name}-recipe")
    assert recipe_map is not None
    import yaml

    recipe = yaml.safe_load(recipe_map["data"]["config.yaml"])
    assert recipe["run"]["data_s3_path"] == data.dataset.snapshot.training.uri  # type: ignore[union-attr]
    assert recipe["run"]["output_s3_path"] == f"s3://{ARTIFACTS}/jobs/{data.run_id}/"
    assert recipe["run"]["replicas"] == 16 and recipe["run"]["model_type"].startswith("amazon.nova-lite")
    submitted = world.published("JobSubmitted")
    assert len(submitted) == 1 and submitted[0]["jobArn"] == result.job_arn
    assert submitted[0]["estimate"]["estimatedUsd"] > 0  # instance-hours, not "no price"


def test_a_duplicate_delivery_creates_nothing_more(world: World) -> None:
    data = world.validated()
    world.submit(data)
    again = world.submit(data)
    assert again.outcome is SubmitOutcome.ALREADY_DONE
    assert world.cluster.creates("pytorchjobs") == 1 and len(world.published("JobSubmitted")) == 1


def test_a_crash_after_create_is_adopted_not_created_twice(world: World) -> None:
    data = world.validated()
    # The crash window: the job exists on the cluster, the run never recorded it.
    world.backend.submit(
        lambda c: __import__("tailor.submission.request", fromlist=["x"]).build_request(
            data, SubmissionSettings(role_arn=ROLE, artifacts_bucket=ARTIFACTS), c
        )
    )
    result = world.submit(data)
    assert result.outcome is SubmitOutcome.ADOPTED
    assert world.cluster.creates("pytorchjobs") == 1
    assert world.runs.get(data.run_id).status is RunStatus.SUBMITTED  # type: ignore[union-attr]


def test_already_exists_for_a_job_that_is_not_ours_takes_the_next_name(world: World) -> None:
    data = world.validated()
    name = __import__("tailor.jobs.naming", fromlist=["x"]).job_name(data.run_id)
    world.jobs.create(
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": name, "annotations": {TOKEN_ANNOTATION: "someone-else"}},
            "spec": {"pytorchReplicaSpecs": {"Master": {"replicas": 1, "template": {}}}},
        }
    )
    result = world.submit(data)
    assert result.outcome is SubmitOutcome.SUBMITTED and str(result.job_arn).endswith(f"{name}-r2")


def test_a_full_cluster_holds_the_message(world: World) -> None:
    world.submit(world.validated("one"))
    with pytest.raises(HoldMessage):
        world.submit(world.validated("two"))
    assert world.cluster.creates("pytorchjobs") == 1


def test_capacity_the_recipe_does_not_allow_is_refused_before_any_call(
    cluster: SimulatedHyperPodCluster, objects: InMemoryObjectStore
) -> None:
    world = World(cluster, objects, replicas=5)
    result = world.submit(world.validated())
    assert result.outcome is SubmitOutcome.REFUSED
    failed = world.published("JobSubmissionFailed")[0]
    assert failed["errorCode"] == "hyperpod_replicas" and "HyperPodReplicas" in failed["hint"]
    assert cluster.creates("pytorchjobs") == 0 and cluster.creates("configmaps") == 0


def test_premier_has_no_cpt_recipe() -> None:
    # Ingestion already rejects a Premier CPT spec (the catalog has no CPT limits for it); the
    # recipe table refuses it too, by name, should a run ever reach the backend.
    from tailor.hyperpod.recipes import RecipeError, cpt_recipe_for

    with pytest.raises(RecipeError) as raised:
        cpt_recipe_for("nova-premier")
    assert raised.value.code == "hyperpod_no_recipe" and "nova-lite" in raised.value.hint


def test_success_imports_the_checkpoint_and_completes_once(world: World) -> None:
    data = world.validated()
    world.submit(data)
    world.cycle(6)
    completed = world.published("JobCompleted")
    assert len(completed) == 1
    event = completed[0]
    assert event["backend"] == "sagemaker-hyperpod" and event["requiresProvisionedThroughput"] is True
    assert event["note"] == FULL_RANK_NOTE and "imported" in event["outputModelArn"]
    (imported,) = world.importer.models.values()
    assert imported.checkpoint_uri.startswith("s3://tailor-local-hyperpod-escrow/")
    assert imported.run_id == data.run_id and imported.role_arn == ROLE
    statuses = [e["status"] for e in world.published("JobStatusChanged")]
    assert statuses == ["InProgress", "Completed"]
    assert world.runs.get(data.run_id).status is RunStatus.COMPLETED  # type: ignore[union-attr]
    world.cycle(2)  # later polls: no new events
    assert len(world.published("JobCompleted")) == 1


@pytest.mark.parametrize(("scenario", "needle"), [("fail", "failed"), ("crash-loop", "CrashLoopBackOff")])
def test_failures_end_the_run_with_the_reason(world: World, scenario: str, needle: str) -> None:
    data = world.validated()
    result = world.submit(data)
    world.cluster.set_scenario(str(JobRef.parse(str(result.job_arn)).name), scenario)  # type: ignore[union-attr]
    world.cycle(8)
    failed = world.published("JobFailed")
    assert len(failed) == 1 and needle in failed[0]["failureMessage"]
    assert world.importer.calls == 0


def test_restarting_stays_in_progress_then_completes(world: World) -> None:
    result = world.submit(world.validated())
    world.cluster.set_scenario(str(JobRef.parse(str(result.job_arn)).name), "restart-then-succeed")  # type: ignore[union-attr]
    world.cycle(1)
    assert world.published("JobStatusChanged")[-1]["status"] == "InProgress"
    world.cycle(6)
    assert len(world.published("JobCompleted")) == 1 and not world.published("JobFailed")


def test_a_stuck_validated_run_is_adopted_by_the_reconciler(world: World) -> None:
    data = world.validated()
    world.backend.submit(
        lambda c: __import__("tailor.submission.request", fromlist=["x"]).build_request(
            data, SubmissionSettings(role_arn=ROLE, artifacts_bucket=ARTIFACTS), c
        )
    )
    world.cycle(1, now=datetime.now(UTC) + INTERVAL * 2)
    assert world.runs.get(data.run_id).status is not RunStatus.VALIDATED  # type: ignore[union-attr]
    assert len(world.published("JobSubmitted")) == 1


def test_a_malformed_manifest_fails_the_run(objects: InMemoryObjectStore) -> None:
    def write(uri: str, body: bytes) -> None:  # a trainer that writes something else
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        objects.put_bytes(bucket, key, b'{"nope": 1}' if key.endswith("manifest.json") else body)

    with SimulatedHyperPodCluster(write) as cluster:
        world = World(cluster, objects)
        world.submit(world.validated())
        world.cycle(4)
    failed = world.published("JobFailed")
    assert failed and "not a HyperPod manifest" in failed[0]["failureMessage"]
    assert world.importer.calls == 0


def test_a_missing_manifest_waits_then_fails(objects: InMemoryObjectStore) -> None:
    with SimulatedHyperPodCluster(lambda uri, body: None) as cluster:  # writes nothing
        world = World(cluster, objects)
        world.submit(world.validated())
        world.cycle(4)
        assert not world.published("JobFailed") and not world.published("JobCompleted")
        world.cycle(1, now=datetime.now(UTC) + timedelta(hours=2))
    failed = world.published("JobFailed")
    assert failed and "manifest.json" in failed[0]["failureMessage"]


def test_a_bad_token_is_a_retryable_error_with_the_rbac_hint(world: World) -> None:
    bad = KubernetesJobs(ClusterAccess(CLUSTER, world.cluster.url), lambda: "not-a-token", "kubeflow")
    with pytest.raises(KubeError) as raised:
        bad.get_job("x")
    assert raised.value.kind.value == "retry" and "rbac.yaml" in str(raised.value.hint)


def test_a_configured_price_prices_the_estimate(
    cluster: SimulatedHyperPodCluster, objects: InMemoryObjectStore
) -> None:
    world = World(cluster, objects, instance_price_usd=10.0)
    world.submit(world.validated())
    estimate = world.published("JobSubmitted")[0]["estimate"]
    assert estimate["estimatedUsd"] == 160.0  # 16 instances x 1 h minimum x $10
    assert any("assumption" in note for note in estimate["notes"])


def test_rendered_json_is_what_the_cluster_stored(world: World) -> None:
    result = world.submit(world.validated())
    job = world.cluster.job("kubeflow", str(JobRef.parse(str(result.job_arn)).name))  # type: ignore[union-attr]
    assert json.loads(json.dumps(job))["kind"] == "PyTorchJob"
    assert replace(world.settings).namespace == job["metadata"]["namespace"]  # type: ignore[index]
