"""Duplicate storms (issue "Prove it holds", item 3): every trigger Tailor consumes — the S3 Object
Created event, DatasetValidated, JobCompleted, DeploymentRequested and EdgeExportRequested —
delivered three times AT ONCE (three threads put the very message EventBridge delivered on the
function's queue, released by one barrier, before any copy is consumed) through the embedded local
stack built from template.yaml. The single right outcome each time: one run, one Bedrock job, one
deployment, one export with one IoT job, one outcome event each, and nothing in any DLQ.

Bedrock training and deployments are SIMULATED by the local stack (``tailor.local.bedrock_sim``,
``tailor.local.deployments_sim``); the IoT Jobs data plane is a local stand-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_helpers import (
    FUNCTION_QUEUES,
    body_of,
    deployments_of,
    exports_of,
    held_back,
    iot_jobs,
    job_arn_of,
    jobs_of,
    of,
    records_handled,
    run_ids_of,
    settle,
    storm,
    take,
    upload_dataset,
)

from tailor.adapters.bus import EventBridgePublisher
from tailor.edge.sample import build_intent_classifier
from tailor.events.envelope import new_detail
from tailor.events.models import DeploymentRequested, EdgeExportRequested
from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.deployments_sim import DeploymentConfig
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_intent_classifier(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def stack(sample: Path) -> Iterator[LocalStack]:
    with LocalStack(
        time_scale=0.0001,
        parameter_values={"CustomizationJobQuota": 50},
        simulate_bedrock=SimulatorConfig.exact(job_quota=50),
        deployments=DeploymentConfig(active_after_gets=1, quota=5),
    ) as local:
        iot = local.client("iot")
        iot.create_thing_group(thingGroupName="kiosks")
        for thing in ("kiosk-1", "kiosk-2"):
            iot.create_thing(thingName=thing)
            iot.add_thing_to_thing_group(thingGroupName="kiosks", thingName=thing)
        local.upload("models/intent/model.onnx", sample.read_bytes())
        yield local


def _put_once_and_take(stack: LocalStack, queue_id: str, detail: object) -> list[str]:
    """Publish one event on the Tailor bus and take what EventBridge delivered to ``queue_id``."""
    with held_back(stack, queue_id):
        EventBridgePublisher(stack.env_value("TAILOR_BUS_NAME")).publish([detail])  # type: ignore[list-item]
        settle(stack)
        return take(stack, queue_id)


def _completed_run(stack: LocalStack, name: str) -> tuple[str, dict[str, object]]:
    upload_dataset(stack, name)
    settle(stack)
    (run_id,) = run_ids_of(stack, name)
    stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
    (completed,) = of(settle(stack), "JobCompleted", run_id)
    return run_id, completed


def test_every_trigger_of_a_run_delivered_three_times_at_once_is_one_of_each(
    stack: LocalStack, sample: Path
) -> None:
    name = "storm"
    with held_back(stack, *FUNCTION_QUEUES):
        stack.upload(f"datasets/{name}/student.onnx", sample.read_bytes())
        upload_dataset(
            stack,
            name,
            deploy={"onDemand": True},
            edge={"model": "student.onnx", "targets": ["thinggroup/kiosks"], "name": "storm-edge"},
        )
        s3_events = take(stack, "IngestQueue")
    assert len(s3_events) == 1  # job.json's Object Created (the data files do not start a run)

    # 1. The S3 Object Created event x3 → one run, one validation.
    with held_back(stack, "SubmitQueue"):
        ingested = records_handled(stack, "IngestionFunction")
        storm(stack, "IngestQueue", s3_events)
        events = settle(stack)
        validated = take(stack, "SubmitQueue")
    assert records_handled(stack, "IngestionFunction") - ingested == 3  # each copy was handled
    (run_id,) = run_ids_of(stack, name)
    assert len(of(events, "DatasetValidated", run_id)) == 1
    assert of(events, "DatasetRejected") == []
    assert len(validated) == 1

    # 2. DatasetValidated x3 → one Bedrock job, one JobSubmitted.
    submitted = records_handled(stack, "SubmissionFunction")
    storm(stack, "SubmitQueue", validated)
    events = settle(stack)
    assert records_handled(stack, "SubmissionFunction") - submitted >= 3
    assert len(of(events, "JobSubmitted", run_id)) == 1
    assert len(jobs_of(stack, run_id)) == 1

    # 3. JobCompleted x3, on both queues that take it → one deployment, one export, one IoT job.
    with held_back(stack, "DeployQueue", "ExportQueue"):
        stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
        events = settle(stack)
        deploy_triggers = body_of("JobCompleted", take(stack, "DeployQueue"))
        export_triggers = body_of("JobCompleted", take(stack, "ExportQueue"))
    (completed,) = of(events, "JobCompleted", run_id)
    assert len(deploy_triggers) == 1 and len(export_triggers) == 1
    before = set(iot_jobs(stack))
    deployed = records_handled(stack, "DeploymentFunction")
    exported = records_handled(stack, "EdgeExportFunction")
    storm(stack, "DeployQueue", deploy_triggers)
    storm(stack, "ExportQueue", export_triggers)
    events = settle(stack, timeout=120)
    assert records_handled(stack, "DeploymentFunction") - deployed >= 3  # holds while Creating: more
    assert records_handled(stack, "EdgeExportFunction") - exported == 3

    assert len(of(events, "ModelDeployed", run_id)) == 1
    assert of(events, "ModelDeploymentFailed", run_id) == []
    assert len(deployments_of(stack, str(completed["outputModelArn"]))) == 1
    (published,) = of(events, "EdgePackagePublished", run_id)
    assert of(events, "EdgeExportFailed", run_id) == []
    assert [e["exportId"] for e in exports_of(stack, runId=run_id)] == [published["exportId"]]
    assert len(set(iot_jobs(stack)) - before) == 1
    assert len(jobs_of(stack, run_id)) == 1


def test_a_deployment_request_delivered_three_times_at_once_is_one_deployment(stack: LocalStack) -> None:
    run_id, completed = _completed_run(stack, "asklater")
    assert deployments_of(stack, str(completed["outputModelArn"])) == []  # it did not ask
    request = new_detail(DeploymentRequested(run_id=run_id), producer="tailor.user")
    delivered = _put_once_and_take(stack, "DeployQueue", request)
    assert len(delivered) == 1

    deployed = records_handled(stack, "DeploymentFunction")
    storm(stack, "DeployQueue", delivered)
    events = settle(stack)
    assert records_handled(stack, "DeploymentFunction") - deployed >= 3
    assert len(of(events, "ModelDeployed", run_id)) == 1
    assert len(deployments_of(stack, str(completed["outputModelArn"]))) == 1


def test_an_edge_export_request_delivered_three_times_at_once_is_one_export(stack: LocalStack) -> None:
    bucket = stack.env_value("DATA_BUCKET")
    request = new_detail(
        EdgeExportRequested(
            export_id="storm-request",
            model_uri=f"s3://{bucket}/models/intent/model.onnx",
            targets=["thinggroup/kiosks"],
        ),
        producer="tailor.user",
        event_id=str(uuid.uuid4()),
    )
    delivered = _put_once_and_take(stack, "ExportQueue", request)
    assert len(delivered) == 1
    before = set(iot_jobs(stack))
    exported = records_handled(stack, "EdgeExportFunction")

    storm(stack, "ExportQueue", delivered)
    events = settle(stack, timeout=120)
    assert records_handled(stack, "EdgeExportFunction") - exported == 3
    (published,) = of(events, "EdgePackagePublished")
    assert of(events, "EdgeExportFailed") == []
    source = f"s3://{bucket}/models/intent/model.onnx"
    assert [e["exportId"] for e in exports_of(stack, sourceUri=source)] == [published["exportId"]]
    assert len(set(iot_jobs(stack)) - before) == 1


def test_a_dataset_validated_for_a_finished_run_changes_nothing(stack: LocalStack) -> None:
    """A very late storm: DatasetValidated x3 again after the run completed → no second job."""
    with held_back(stack, "SubmitQueue"):
        upload_dataset(stack, "late")
        settle(stack)
        validated = take(stack, "SubmitQueue")
    storm(stack, "SubmitQueue", validated)
    settle(stack)
    (run_id,) = run_ids_of(stack, "late")
    stack.bedrock_simulator.finish(job_arn_of(stack, run_id))
    settle(stack)

    submitted = records_handled(stack, "SubmissionFunction")
    storm(stack, "SubmitQueue", validated)
    events = settle(stack)
    assert records_handled(stack, "SubmissionFunction") - submitted == 3
    assert of(events, "JobSubmitted", run_id) == [] and of(events, "JobSubmissionFailed", run_id) == []
    assert len(jobs_of(stack, run_id)) == 1
