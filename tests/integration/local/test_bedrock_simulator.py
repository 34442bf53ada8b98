"""The Bedrock simulator (``tailor/local/bedrock_sim.py``): local jobs that train — SIMULATED.

One stack for the module, the simulator driven explicitly (``step``/``advance``/``finish``), with a
rule on the default bus → SQS as the status service's StatusQueue will have it. Every test ends its
jobs (autouse fixture), so the concurrent-job quota starts empty in each.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tailor.local import LocalStack
from tailor.local.bedrock_sim import (
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    LAYOUT_TAG,
    SIMULATE_TAG,
    TRAINING_CSV_KEY,
    VALIDATION_CSV_KEYS,
    BedrockSimulator,
    SimulatorConfig,
    validation_layout,
)

pytestmark = pytest.mark.integration

BUCKET = "sim-artifacts"
JOB_SECONDS = 10.0
CONFIG = SimulatorConfig.exact(job_seconds=JOB_SECONDS, job_quota=8, stop_seconds=1.0)
MODEL_ARN = re.compile(
    r"^arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon\.nova-micro-v1:0:128k/[a-z0-9]{12}$"
)
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Artifacts": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
        "StatusQueue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "BedrockRule": {  # what the status wiring adds: the default bus → StatusQueue
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE]},
                "Targets": [{"Id": "status", "Arn": {"Fn::GetAtt": ["StatusQueue", "Arn"]}}],
            },
        },
    }
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(TEMPLATE, stack_name="bedrock-sim", simulate_bedrock=CONFIG) as running:
        yield running


@pytest.fixture
def sim(stack: LocalStack) -> Iterator[BedrockSimulator]:
    simulator = stack.bedrock_simulator
    simulator.config = CONFIG
    yield simulator
    simulator.config = CONFIG
    simulator.finish()
    _events(stack)


@pytest.fixture
def bedrock(stack: LocalStack) -> Any:
    return stack.client("bedrock")


def _create(
    bedrock: Any, name: str, *, validation: bool = True, fate: str | None = None, **extra: Any
) -> str:
    tags = [{"key": "tailor:run-id", "value": name}]
    if fate:
        tags.append({"key": SIMULATE_TAG, "value": fate})
    tags += extra.pop("tags", [])
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": "arn:aws:iam::123456789012:role/tailor-BedrockCustomizationRole-X",
        "clientRequestToken": f"{name}-token",
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": "s3://data/snapshots/a.jsonl"},
        "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/jobs/{name}/"},
        "hyperParameters": {"epochCount": "3", "learningRate": "0.00001"},
        "jobTags": tags,
    }
    if validation:
        request["validationDataConfig"] = {"validators": [{"s3Uri": "s3://data/snapshots/b.jsonl"}]}
    request.update(extra)
    return str(bedrock.create_model_customization_job(**request)["jobArn"])


def _events(stack: LocalStack) -> list[dict[str, Any]]:
    """What reached the default-bus rule's queue, drained."""
    sqs, url = stack.client("sqs"), stack.queue("StatusQueue").url
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _statuses(events: list[dict[str, Any]], name: str) -> list[str]:
    return [e["detail"]["jobStatus"] for e in events if e["detail"]["jobName"] == name]


def _subtasks(job: dict[str, Any]) -> tuple[str, str, str]:
    details = job["statusDetails"]
    return (
        details["validationDetails"]["status"],
        details["dataProcessingDetails"]["status"],
        details["trainingDetails"]["status"],
    )


def _keys(stack: LocalStack, prefix: str) -> list[str]:
    listed = stack.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(str(o["Key"]) for o in listed)


def _rows(stack: LocalStack, key: str) -> list[dict[str, str]]:
    body = stack.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_a_job_advances_through_its_subtasks_to_completed(
    stack: LocalStack, sim: BedrockSimulator, bedrock: Any
) -> None:
    arn = _create(bedrock, "sim-advance")
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "InProgress"
    assert _subtasks(job) == ("InProgress", "NotStarted", "NotStarted")
    started = sim.job("sim-advance").started
    seen = []
    for fraction in (0.05, 0.2, 0.5, 0.9):
        sim.step(started + timedelta(seconds=fraction * JOB_SECONDS))
        job = bedrock.get_model_customization_job(jobIdentifier="sim-advance")
        seen.append((job["status"], _subtasks(job)))
    assert seen == [
        ("InProgress", ("InProgress", "NotStarted", "NotStarted")),
        ("InProgress", ("Completed", "InProgress", "NotStarted")),
        ("InProgress", ("Completed", "Completed", "InProgress")),
        ("InProgress", ("Completed", "Completed", "InProgress")),
    ]
    assert "endTime" not in job and "outputModelArn" not in job
    before = job["lastModifiedTime"]
    sim.step(started + timedelta(seconds=JOB_SECONDS))
    done = bedrock.get_model_customization_job(jobIdentifier=arn)  # by ARN too
    assert done["status"] == "Completed" and _subtasks(done) == ("Completed",) * 3
    assert done["lastModifiedTime"] > before and done["endTime"] == done["lastModifiedTime"]
    assert MODEL_ARN.match(done["outputModelArn"]), done["outputModelArn"]
    assert done["outputModelName"] == "sim-advance-model"
    assert done["trainingMetrics"]["trainingLoss"] > 0 and done["validationMetrics"][0]["validationLoss"] > 0
    assert "failureMessage" not in done
    training = done["statusDetails"]["trainingDetails"]
    assert training["creationTime"] <= training["lastModifiedTime"] == done["lastModifiedTime"]
    model = bedrock.get_custom_model(modelIdentifier=done["outputModelArn"])
    assert model["modelName"] == "sim-advance-model" and model["jobArn"] == arn
    summary = bedrock.list_model_customization_jobs(nameContains="sim-advance")
    (listed,) = summary["modelCustomizationJobSummaries"]
    assert listed["status"] == "Completed" and listed["customModelArn"] == done["outputModelArn"]
    assert sim.job(arn).history == ["InProgress", "InProgress", "InProgress", "Completed"]

    events = _events(stack)
    assert _statuses(events, "sim-advance") == ["InProgress", "Completed"]  # one per status change
    completed = events[-1]
    assert completed["source"] == "aws.bedrock" and completed["detail-type"] == EVENT_DETAIL_TYPE
    assert completed["resources"] == [arn]
    detail = completed["detail"]
    assert "status" not in detail
    assert detail["jobArn"] == arn and detail["outputModelArn"] == done["outputModelArn"]
    assert detail["outputModelName"] == "sim-advance-model" and "failureMessage" not in detail
    assert detail["lastModifiedTime"] == detail["endTime"]
    assert detail["lastModifiedTime"].endswith("Z") and detail["creationTime"].endswith("Z")
    assert detail["baseModelArn"].endswith("foundation-model/amazon.nova-micro-v1:0:128k")
    assert detail["hyperParameters"] == {"epochCount": "3", "learningRate": "0.00001"}
    assert {"roleArn", "trainingDataConfig", "validationDataConfig", "outputDataConfig"} <= set(detail)
    first = events[0]["detail"]
    assert not {"endTime", "outputModelArn", "failureMessage"} & set(first)


def _named(layout: str, prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(100) if validation_layout(f"{prefix}-{i}") == layout)


def test_metrics_csvs_are_written_where_bedrock_writes_them(
    stack: LocalStack, sim: BedrockSimulator, bedrock: Any
) -> None:
    nested, flat = _named("nested", "sim-nested"), _named("flat", "sim-flat")
    jobs = {
        nested: _create(bedrock, nested),
        flat: _create(bedrock, flat),
        "sim-tagged": _create(bedrock, "sim-tagged", tags=[{"key": LAYOUT_TAG, "value": "flat"}]),
        "sim-no-validation": _create(bedrock, "sim-no-validation", validation=False),
    }
    for name in jobs:
        assert _keys(stack, f"jobs/{name}/") == []  # nothing until the job completes
    sim.finish()
    expected = {nested: "nested", flat: "flat", "sim-tagged": "flat", "sim-no-validation": None}
    for name, arn in jobs.items():
        base = f"jobs/{name}/model-customization-job-{arn.rsplit('/', 1)[-1]}/"
        layout = expected[name]
        wanted = [base + TRAINING_CSV_KEY] + ([base + VALIDATION_CSV_KEYS[layout]] if layout else [])
        assert _keys(stack, f"jobs/{name}/") == sorted(wanted), name
        assert sim.job(name).metrics == [f"s3://{BUCKET}/{key}" for key in wanted]

        rows = _rows(stack, base + TRAINING_CSV_KEY)
        assert list(rows[0]) == ["step_number", "epoch_number", "training_loss", "perplexity"]
        steps = [int(r["step_number"]) for r in rows]
        losses = [float(r["training_loss"]) for r in rows]
        assert steps == list(range(1, len(rows) + 1)) and 40 <= len(rows) <= 200
        assert {int(r["epoch_number"]) for r in rows} == {1, 2, 3}  # epochCount 3
        assert sum(losses[:10]) / 10 > 2 * sum(losses[-10:]) / 10  # it learns
        assert any(b > a for a, b in itertools.pairwise(losses))  # with noise
        assert all(
            math.isclose(float(r["perplexity"]), math.exp(float(r["training_loss"])), rel_tol=1e-3)
            for r in rows
        )
        job = bedrock.get_model_customization_job(jobIdentifier=name)
        assert job["trainingMetrics"]["trainingLoss"] == losses[-1]
        if layout is None:
            assert "validationMetrics" not in job
            continue
        checks = _rows(stack, base + VALIDATION_CSV_KEYS[layout])
        assert list(checks[0]) == ["step_number", "epoch_number", "validation_loss", "perplexity"]
        assert int(checks[-1]["step_number"]) == steps[-1] and len(checks) >= 5
        assert job["validationMetrics"] == [{"validationLoss": float(checks[-1]["validation_loss"])}]


def test_events_can_be_late_or_duplicated(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    sim.config = replace(CONFIG, late_probability=1.0, late_ticks=2)
    _create(bedrock, "sim-late")
    assert sim.step() == [] and _events(stack) == []  # held back
    assert [e.status for e in sim.held] == ["InProgress"]
    sim.finish("sim-late", deliver_late=False)  # Completed is late too
    assert _events(stack) == [] and [e.status for e in sim.held] == ["InProgress", "Completed"]
    put = sim.step()  # the InProgress event's second tick: due; Completed is due a tick later
    assert [(e.status, e.late) for e in put] == [("InProgress", True)]
    sim.step()
    assert _statuses(_events(stack), "sim-late") == ["InProgress", "Completed"]
    assert sim.held == []

    sim.config = replace(CONFIG, duplicate_probability=1.0)
    _create(bedrock, "sim-twice")
    sim.finish("sim-twice")
    events = _events(stack)
    assert _statuses(events, "sim-twice") == ["InProgress", "InProgress", "Completed", "Completed"]
    assert events[0]["detail"] == events[1]["detail"] and events[0]["id"] != events[1]["id"]
    assert [e.duplicate for e in sim.emitted if e.job_name == "sim-twice"] == [False, True, False, True]


def test_a_late_event_arrives_after_a_newer_one(
    stack: LocalStack, sim: BedrockSimulator, bedrock: Any
) -> None:
    """The status service must order by lastModifiedTime, not by arrival."""
    sim.config = replace(CONFIG, late_probability=1.0, late_ticks=2)
    _create(bedrock, "sim-reordered")
    sim.step()  # InProgress held until tick +2
    sim.config = CONFIG
    sim.finish("sim-reordered", deliver_late=False)  # Completed on time, this tick
    sim.step()  # InProgress arrives now
    events = [e for e in _events(stack) if e["detail"]["jobName"] == "sim-reordered"]
    assert [e["detail"]["jobStatus"] for e in events] == ["Completed", "InProgress"]
    assert events[1]["detail"]["lastModifiedTime"] < events[0]["detail"]["lastModifiedTime"]
    assert events[1]["time"] <= events[0]["time"]  # when it happened (EventBridge: whole seconds)


def test_late_and_duplicate_draws_are_seeded(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    from tailor.local import bedrock_sim

    sim.config = replace(CONFIG, late_probability=0.5, duplicate_probability=0.5, seed=7)
    names = [f"sim-seeded-{i}" for i in range(6)]
    for name in names:
        _create(bedrock, name)
    sim.finish()
    flags = {(e.job_name, e.status, e.late, e.duplicate) for e in sim.emitted if e.job_name in names}
    expected = set()
    for name in names:
        for status in ("InProgress", "Completed"):
            late = bedrock_sim._unit(7, "late", name, status, 1) < 0.5
            duplicate = not late and bedrock_sim._unit(7, "dup", name, status, 1) < 0.5
            expected.add((name, status, late, False))
            if duplicate:
                expected.add((name, status, False, True))
    assert flags == expected
    assert any(flag[2] for flag in flags) and any(flag[3] for flag in flags)  # seed 7 shows both


def test_the_concurrent_job_quota(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    sim.config = replace(CONFIG, job_quota=3)
    arns = [_create(bedrock, f"sim-quota-{i}") for i in range(3)]
    with pytest.raises(ClientError) as refused:
        _create(bedrock, "sim-quota-3")
    error = refused.value.response["Error"]
    assert error["Code"] == "ServiceQuotaExceededException" and "quota of 3" in error["Message"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _create(bedrock, "sim-quota-0") == arns[0]  # a repeated token is no new job: no quota
    bedrock.stop_model_customization_job(jobIdentifier=arns[0])  # Stopping still holds its slot
    with pytest.raises(ClientError):
        _create(bedrock, "sim-quota-3")
    sim.finish("sim-quota-1")
    assert _create(bedrock, "sim-quota-3")


def test_fate_fail(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    arn = _create(bedrock, "sim-fail", fate="fail")
    sim.advance("sim-fail", stages=2)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "InProgress"
    sim.advance("sim-fail")
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and _subtasks(job) == ("Completed", "Completed", "Failed")
    assert "SIMULATED" in job["failureMessage"] and "endTime" in job and "outputModelArn" not in job
    assert _keys(stack, "jobs/sim-fail/") == []
    with pytest.raises(ClientError):
        bedrock.get_custom_model(modelIdentifier="sim-fail-model")  # no model from a failed job
    events = _events(stack)
    assert _statuses(events, "sim-fail") == ["InProgress", "Failed"]
    assert events[-1]["detail"]["failureMessage"] == job["failureMessage"]


def test_fate_stop(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    arn = _create(bedrock, "sim-stop", fate="stop")
    started = sim.job(arn).started
    sim.step(started + timedelta(seconds=0.5 * JOB_SECONDS))
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopping" and _subtasks(job) == ("Completed", "Completed", "Stopping")
    sim.step(started + timedelta(seconds=0.6 * JOB_SECONDS))
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopped" and _subtasks(job) == ("Completed", "Completed", "Stopped")
    assert "endTime" in job and "failureMessage" not in job and "outputModelArn" not in job
    assert _keys(stack, "jobs/sim-stop/") == []
    assert _statuses(_events(stack), "sim-stop") == ["InProgress", "Stopping", "Stopped"]


def test_fate_lose_events(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    arn = _create(bedrock, "sim-lost", fate="lose-events")
    sim.finish("sim-lost")
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Completed"
    assert len(_keys(stack, "jobs/sim-lost/")) == 2  # it trained: only the events are lost
    assert _statuses(_events(stack), "sim-lost") == []
    assert not [e for e in sim.emitted if e.job_name == "sim-lost"]


def test_fate_complete_and_an_unknown_fate(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    _create(bedrock, "sim-complete", fate="complete")
    _create(bedrock, "sim-odd-fate", fate="explode")
    sim.finish()
    for name in ("sim-complete", "sim-odd-fate"):
        assert bedrock.get_model_customization_job(jobIdentifier=name)["status"] == "Completed"
    assert any("sim-odd-fate" in note and "explode" in note for note in sim.notes)


def test_stop_goes_through_stopping(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    arn = _create(bedrock, "sim-stopped")
    sim.advance("sim-stopped", stages=2)  # training in progress
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopping" and _subtasks(job) == ("Completed", "Completed", "Stopping")
    assert "endTime" not in job
    bedrock.stop_model_customization_job(jobIdentifier=arn)  # again while Stopping: accepted
    when = sim.job(arn).last_modified
    assert when is not None
    sim.step(when + timedelta(seconds=0.5))  # stop_seconds = 1: still Stopping
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopping"
    sim.step(when + timedelta(seconds=1))
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopped" and _subtasks(job) == ("Completed", "Completed", "Stopped")
    assert _statuses(_events(stack), "sim-stopped") == ["InProgress", "Stopping", "Stopped"]
    with pytest.raises(ClientError) as ended:
        bedrock.stop_model_customization_job(jobIdentifier=arn)
    assert ended.value.response["Error"]["Code"] == "ValidationException"
    # A job stopped before its first sub-task ends: what had not started stays NotStarted.
    early = _create(bedrock, "sim-stopped-early")
    bedrock.stop_model_customization_job(jobIdentifier=early)
    sim.advance("sim-stopped-early")
    assert _subtasks(bedrock.get_model_customization_job(jobIdentifier=early)) == (
        "Stopped",
        "NotStarted",
        "NotStarted",
    )


def test_a_missing_output_bucket_fails_the_job(
    stack: LocalStack, sim: BedrockSimulator, bedrock: Any
) -> None:
    arn = _create(bedrock, "sim-no-bucket", outputDataConfig={"s3Uri": "s3://no-such-bucket/out/"})
    sim.finish("sim-no-bucket")
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "no-such-bucket" in job["failureMessage"]
    assert _statuses(_events(stack), "sim-no-bucket") == ["InProgress", "Failed"]


def test_serve_ticks_the_simulator(stack: LocalStack, sim: BedrockSimulator, bedrock: Any) -> None:
    sim.config = replace(CONFIG, job_seconds=0.3, tick_seconds=0.02)
    arn = _create(bedrock, "sim-served")
    stop = threading.Event()
    server = threading.Thread(target=stack.serve, kwargs={"stop": stop, "poll_interval": 0.02}, daemon=True)
    server.start()
    try:
        assert stop.wait(0.6) is False
    finally:
        stop.set()
        server.join(5)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Completed"
    assert _statuses(_events(stack), "sim-served") == ["InProgress", "Completed"]


def test_the_summary_says_it_is_simulated(stack: LocalStack) -> None:
    summary = stack.describe(echo=False)
    part, deployments, jobs_plane = summary.simulated
    assert deployments.name == "Bedrock deployments and runtime"
    assert jobs_plane.name == "IoT Jobs data plane" and "LOCAL STAND-IN" in jobs_plane.how
    assert part.name == "Bedrock training" and "tailor:simulate" in part.how
    assert "Bedrock model customization" not in {p.name for p in summary.not_available}
    short = "\n".join(summary.short())
    assert "Bedrock training: SIMULATED (jobs advance in 10 s, quota 8" in short
    assert "SIMULATED — tailor.local.bedrock_sim" in summary.render()


def test_the_simulator_is_opt_in() -> None:
    with pytest.raises(ValueError, match="simulate_bedrock"):
        LocalStack(TEMPLATE, job_seconds=3)
    with pytest.raises(ValueError, match="repair_bedrock"):
        LocalStack(TEMPLATE, simulate_bedrock=True, repair_bedrock=False)
    config = LocalStack(TEMPLATE, simulate_bedrock=True, job_seconds=3, job_quota=5).simulator_config
    assert config is not None and (config.job_seconds, config.job_quota) == (3, 5)
    assert LocalStack(TEMPLATE).simulator_config is None
