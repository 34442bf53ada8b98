"""The local IoT Jobs data plane, driven by the real boto3 ``iot-jobs-data`` client over moto's IoT."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tailor.local.iot_jobs import LocalJobsDataPlane

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Fleet:
    def __init__(self, endpoint: str, plane: LocalJobsDataPlane) -> None:
        self.iot = boto3.client("iot", endpoint_url=endpoint, region_name=REGION)
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        self.plane = plane
        self.jobs = boto3.client("iot-jobs-data", endpoint_url=plane.url, region_name=REGION)

    def things(self, *names: str, group: str | None = None) -> None:
        for name in names:
            self.iot.create_thing(thingName=name)
            if group:
                self.iot.add_thing_to_thing_group(thingGroupName=group, thingName=name)

    def group(self, name: str, parent: str | None = None) -> str:
        extra = {"parentGroupName": parent} if parent else {}
        return str(self.iot.create_thing_group(thingGroupName=name, **extra)["thingGroupArn"])

    def job(self, targets: list[str], document: Any = None, selection: str = "CONTINUOUS") -> str:
        job_id = f"job-{uuid.uuid4().hex[:8]}"
        self.iot.create_job(
            jobId=job_id,
            targets=targets,
            document=json.dumps(document if document is not None else {"op": "noop"}),
            targetSelection=selection,
        )
        return job_id

    def thing_arn(self, name: str) -> str:
        return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"

    def next(self, thing: str) -> dict[str, Any]:
        execution: dict[str, Any] = self.jobs.start_next_pending_job_execution(thingName=thing).get(
            "execution", {}
        )
        return execution


@pytest.fixture
def fleet(moto_endpoint: str) -> Iterator[Fleet]:
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    plane = LocalJobsDataPlane(
        iot_endpoint=moto_endpoint, s3_endpoint=moto_endpoint, region=REGION, account_id=ACCOUNT
    )
    plane.start()
    try:
        yield Fleet(moto_endpoint, plane)
    finally:
        plane.stop()


def test_start_next_moves_queued_to_in_progress_and_update_finishes(fleet: Fleet) -> None:
    fleet.things("a")
    job_id = fleet.job([fleet.thing_arn("a")], {"hello": "world"})

    pending = fleet.jobs.get_pending_job_executions(thingName="a")
    assert [j["jobId"] for j in pending["queuedJobs"]] == [job_id]
    assert pending["inProgressJobs"] == []

    execution = fleet.next("a")
    assert execution["jobId"] == job_id
    assert execution["status"] == "IN_PROGRESS"
    assert execution["thingName"] == "a"
    assert json.loads(execution["jobDocument"]) == {"hello": "world"}
    assert execution["versionNumber"] == 2

    # StartNext again returns the same IN_PROGRESS execution (a device that restarted mid-job).
    assert fleet.next("a")["jobId"] == job_id
    pending = fleet.jobs.get_pending_job_executions(thingName="a")
    assert [j["jobId"] for j in pending["inProgressJobs"]] == [job_id]

    updated = fleet.jobs.update_job_execution(
        thingName="a",
        jobId=job_id,
        status="SUCCEEDED",
        statusDetails={"version": "1.0.0"},
        includeJobExecutionState=True,
    )
    assert updated["executionState"]["status"] == "SUCCEEDED"
    described = fleet.jobs.describe_job_execution(thingName="a", jobId=job_id)["execution"]
    assert (described["status"], described["statusDetails"]) == ("SUCCEEDED", {"version": "1.0.0"})
    assert fleet.next("a") == {}
    [record] = fleet.plane.executions(job_id)
    assert (record.thing_name, record.status, record.status_details) == (
        "a",
        "SUCCEEDED",
        {"version": "1.0.0"},
    )


def test_terminal_statuses_are_final(fleet: Fleet) -> None:
    fleet.things("a")
    job_id = fleet.job([fleet.thing_arn("a")])
    fleet.next("a")
    fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="REJECTED")

    with pytest.raises(ClientError) as raised:
        fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="SUCCEEDED")
    assert raised.value.response["Error"]["Code"] == "InvalidStateTransitionException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_errors_carry_the_service_model_codes(fleet: Fleet) -> None:
    fleet.things("a")
    with pytest.raises(fleet.jobs.exceptions.ResourceNotFoundException):
        fleet.jobs.start_next_pending_job_execution(thingName="ghost")
    with pytest.raises(fleet.jobs.exceptions.ResourceNotFoundException):
        fleet.jobs.describe_job_execution(thingName="a", jobId="nope")
    with pytest.raises(fleet.jobs.exceptions.ResourceNotFoundException):
        fleet.jobs.update_job_execution(thingName="a", jobId="nope", status="FAILED")
    job_id = fleet.job([fleet.thing_arn("a")])
    with pytest.raises(fleet.jobs.exceptions.InvalidRequestException):
        fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="QUEUED")
    with pytest.raises(ClientError) as raised:
        fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="IN_PROGRESS", expectedVersion=7)
    assert raised.value.response["Error"]["Code"] == "VersionConflictException"


def test_describe_next_does_not_start_it(fleet: Fleet) -> None:
    fleet.things("a")
    job_id = fleet.job([fleet.thing_arn("a")])
    described = fleet.jobs.describe_job_execution(thingName="a", jobId="$next")["execution"]
    assert (described["jobId"], described["status"]) == (job_id, "QUEUED")


def test_groups_are_expanded_nested_and_continuously(fleet: Fleet) -> None:
    fleet_arn = fleet.group("fleet")
    fleet.group("lab", parent="fleet")
    fleet.things("a", group="fleet")
    fleet.things("b", group="lab")
    continuous = fleet.job([fleet_arn])
    snapshot = fleet.job([fleet_arn], selection="SNAPSHOT")
    assert {(r.job_id, r.thing_name) for r in fleet.plane.executions()} == {
        (continuous, "a"),
        (continuous, "b"),
        (snapshot, "a"),
        (snapshot, "b"),
    }

    fleet.things("c", group="lab")  # joins later

    assert {r.thing_name for r in fleet.plane.executions(continuous)} == {"a", "b", "c"}
    assert {r.thing_name for r in fleet.plane.executions(snapshot)} == {"a", "b"}
    assert fleet.next("c")["jobId"] == continuous


def test_cancel_job_cancels_queued_executions_and_offers_no_new_ones(fleet: Fleet) -> None:
    group = fleet.group("fleet")
    fleet.things("a", "b", group="fleet")
    job_id = fleet.job([group])
    assert fleet.next("a")["jobId"] == job_id  # a is IN_PROGRESS, b QUEUED

    fleet.iot.cancel_job(jobId=job_id)
    fleet.things("c", group="fleet")

    statuses = {r.thing_name: r.status for r in fleet.plane.executions(job_id)}
    assert statuses == {"a": "IN_PROGRESS", "b": "CANCELED"}
    assert fleet.next("b") == {}
    assert fleet.next("c") == {}
    described = fleet.jobs.describe_job_execution(thingName="b", jobId=job_id)["execution"]
    assert described["status"] == "CANCELED"
    # Not force-canceled: the device that already started may still finish.
    fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="SUCCEEDED")


def test_force_cancel_cancels_in_progress_too(fleet: Fleet) -> None:
    fleet.things("a")
    job_id = fleet.job([fleet.thing_arn("a")])
    fleet.next("a")

    fleet.iot.cancel_job(jobId=job_id, force=True)

    with pytest.raises(fleet.jobs.exceptions.InvalidStateTransitionException):
        fleet.jobs.update_job_execution(thingName="a", jobId=job_id, status="SUCCEEDED")
    assert [r.status for r in fleet.plane.executions(job_id)] == ["CANCELED"]


def test_oldest_queued_job_comes_first(fleet: Fleet) -> None:
    fleet.things("a")
    first = fleet.job([fleet.thing_arn("a")])
    fleet.plane.executions()  # first is seen (queued) before second exists
    second = fleet.job([fleet.thing_arn("a")])
    order = [fleet.next("a")["jobId"]]
    fleet.jobs.update_job_execution(thingName="a", jobId=order[0], status="SUCCEEDED")
    order.append(fleet.next("a")["jobId"])
    assert order == [first, second]


@pytest.mark.parametrize("kind", ["v2", "v1", "virtual-host"])
def test_placeholders_become_working_presigned_urls(fleet: Fleet, kind: str) -> None:
    fleet.s3.create_bucket(Bucket="artifacts")
    fleet.s3.put_object(Bucket="artifacts", Key="edge/exports/e1/manifest.json", Body=b"signed bytes")
    url = {
        "v2": f"${{aws:iot:s3-presigned-url-v2:https://s3.{REGION}.amazonaws.com/artifacts/edge/exports/e1/manifest.json}}",
        "v1": "${aws:iot:s3-presigned-url:https://s3.amazonaws.com/artifacts/edge/exports/e1/manifest.json}",
        "virtual-host": f"${{aws:iot:s3-presigned-url-v2:https://artifacts.s3.{REGION}.amazonaws.com/edge/exports/e1/manifest.json}}",
    }[kind]
    fleet.things("a")
    fleet.job([fleet.thing_arn("a")], {"manifest": {"url": url}, "other": "kept"})

    document = json.loads(fleet.next("a")["jobDocument"])

    presigned = document["manifest"]["url"]
    assert presigned.startswith(fleet.plane._s3.meta.endpoint_url)
    assert "X-Amz-Signature=" in presigned
    assert document["other"] == "kept"
    with urllib.request.urlopen(presigned) as response:
        assert response.read() == b"signed bytes"
