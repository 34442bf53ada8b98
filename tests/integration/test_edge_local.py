"""Edge export through the embedded local stack, the same path a user takes: a real small ONNX
model uploaded → ``EdgeExportRequested`` (what ``tailor export`` puts) or ``JobCompleted`` → the
edge export function (real onnx/onnxruntime) → a KMS-signed bundle in S3 and one IoT Job in moto
→ the local IoT Jobs data plane (a stand-in: moto has none) → the real device agent installs it.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tailor.adapters.bus import EventBridgePublisher
from tailor.edge.agent import Agent, OutcomeStatus, provision
from tailor.edge.manifest import JobDocument, Manifest
from tailor.edge.sample import build_intent_classifier
from tailor.edge.signing import verify_signature
from tailor.events.envelope import new_detail
from tailor.events.models import EdgeExportRequested
from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_intent_classifier(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def stack(sample: Path) -> Iterator[LocalStack]:
    with LocalStack(time_scale=0.0001, simulate_bedrock=SimulatorConfig.exact(job_quota=20)) as local:
        iot = local.client("iot")
        for group in ("kiosks", "lab"):
            iot.create_thing_group(thingGroupName=group)
        for thing, group in (("kiosk-1", "kiosks"), ("kiosk-2", "kiosks"), ("lab-1", "lab")):
            iot.create_thing(thingName=thing)
            iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)
        bucket = local.env_value("DATA_BUCKET")
        s3 = local.client("s3")
        s3.put_object(Bucket=bucket, Key="models/intent/model.onnx", Body=sample.read_bytes())
        s3.put_object(
            Bucket=bucket, Key="models/intent/golden.json", Body=(sample.parent / "golden.json").read_bytes()
        )
        yield local


def request(stack: LocalStack, **fields: Any) -> str:
    bucket = stack.env_value("DATA_BUCKET")
    fields.setdefault("model_uri", f"s3://{bucket}/models/intent/model.onnx")
    fields.setdefault("targets", ["thinggroup/kiosks"])
    detail = new_detail(EdgeExportRequested(**fields), producer="tailor.user", event_id=str(uuid.uuid4()))
    EventBridgePublisher(stack.env_value("TAILOR_BUS_NAME")).publish([detail])
    return detail.metadata.event_id


def outcomes(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=120)
    return [
        e
        for e in stack.published_events()
        if e["detail-type"] in {"EdgePackagePublished", "EdgeExportFailed"}
    ]


def device(stack: LocalStack, root: Path, thing: str, profile: str = "linux-x86_64") -> Agent:
    config = provision(
        thing,
        root,
        stack.edge_public_key_pem(),
        profile=profile,
        region=stack.region,
        jobs_endpoint=stack.jobs_data_plane.url,
    )
    return Agent(config, root)


def test_a_model_uri_export_is_published_signed_and_installed(stack: LocalStack, tmp_path: Path) -> None:
    request(stack, export_id="kiosk-v1", name="intent")
    (published,) = outcomes(stack)
    assert published["detail-type"] == "EdgePackagePublished", published
    data = published["detail"]["data"]
    assert data["exportId"] == "ex-kiosk-v1" and data["name"] == "intent" and data["version"] == "1.0.1"
    assert data["fidelity"]["passed"] is True and data["fidelity"]["cosine"] >= 0.99
    sizes = data["sizes"]
    assert sizes["modelBytes"] <= 0.30 * sizes["sourceBytes"] < sizes["bundleBytes"] + sizes["sourceBytes"]
    assert data["iotJobIds"] == ["tailor-ex-kiosk-v1"] and data["cancelledJobIds"] == []

    # The manifest in S3 verifies with the stack's published public key (KMS DIGEST signing).
    s3 = stack.client("s3")
    bucket, key = data["manifestUri"][5:].split("/", 1)
    manifest_bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    signature = s3.get_object(Bucket=bucket, Key=data["signatureUri"][5:].split("/", 1)[1])["Body"].read()
    public_der = base64.b64decode(stack.outputs["EdgeSigningPublicKey"])
    verify_signature(public_der, manifest_bytes, signature)
    manifest = Manifest.from_bytes(manifest_bytes)
    assert data["manifestDigest"] == "sha256:" + __import__("hashlib").sha256(manifest_bytes).hexdigest()
    assert manifest.onnx.ir_version == 9 and manifest.provenance.source_model_uri.endswith("model.onnx")
    assert manifest.golden.source == "shipped"
    recipe = orjson.loads(
        s3.get_object(Bucket=bucket, Key=data["greengrassRecipeUri"][5:].split("/", 1)[1])["Body"].read()
    )
    assert recipe["ComponentVersion"] == "1.0.1"

    # The IoT job: continuous, placeholders only, rollout/abort/timeout/retry from the safe defaults.
    job = stack.client("iot").describe_job(jobId="tailor-ex-kiosk-v1")["job"]
    assert job["targetSelection"] == "CONTINUOUS"
    assert job["targets"] == ["arn:aws:iot:us-east-1:123456789012:thinggroup/kiosks"]
    assert job["presignedUrlConfig"]["expiresInSec"] == 3600
    assert job["presignedUrlConfig"]["roleArn"] == stack.attribute("EdgePresignRole", "Arn")
    assert job["abortConfig"]["criteriaList"][0] == {
        "failureType": "FAILED",
        "action": "CANCEL",
        "thresholdPercentage": 10.0,
        "minNumberOfExecutedThings": 20,
    }
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    document_text = stack.client("iot").get_job_document(jobId="tailor-ex-kiosk-v1")["document"]
    document = JobDocument.model_validate_json(document_text)
    assert document.manifest.url.startswith(
        "${aws:iot:s3-presigned-url-v2:https://s3.us-east-1.amazonaws.com/"
    )
    assert "X-Amz-Signature" not in document_text

    # A device of the group installs it through the local data plane.
    agent = device(stack, tmp_path / "kiosk-1", "kiosk-1")
    outcome = agent.run_once()
    assert outcome.status is OutcomeStatus.SUCCEEDED, outcome
    assert outcome.version == "1.0.1" and agent.current_version() == "1.0.1"
    installed = Manifest.from_bytes((tmp_path / "kiosk-1" / "current" / "manifest.json").read_bytes())
    assert installed.version == "1.0.1"
    records = [r for r in stack.jobs_data_plane.executions("tailor-ex-kiosk-v1") if r.thing_name == "kiosk-1"]
    assert [r.status for r in records] == ["SUCCEEDED"]
    assert agent.run_once().status is OutcomeStatus.NONE

    # A redelivered request is the same export: no second job, no second event.
    assert stack.dlq_messages("ExportQueue") == []


def test_a_new_version_cancels_the_previous_job(stack: LocalStack, tmp_path: Path) -> None:
    request(stack, export_id="lab-a", name="lab-intent", targets=["thinggroup/lab"])
    request(stack, export_id="lab-b", name="lab-intent", targets=["thinggroup/lab"])
    events = outcomes(stack)
    mine = [e["detail"]["data"] for e in events if e["detail"]["data"].get("name") == "lab-intent"]
    assert [e["version"] for e in mine] == ["1.0.1", "1.0.2"]
    assert mine[1]["cancelledJobIds"] == ["tailor-ex-lab-a"]
    iot = stack.client("iot")
    assert iot.describe_job(jobId="tailor-ex-lab-a")["job"]["status"] == "CANCELED"
    agent = device(stack, tmp_path / "lab-1", "lab-1")
    outcome = agent.run_once()
    assert outcome.status is OutcomeStatus.SUCCEEDED and outcome.version == "1.0.2"
    assert agent.run_once().status is OutcomeStatus.NONE  # the cancelled job never reaches it


def _fragile_model(path: Path) -> Path:
    """The unit tests' model that int8 breaks (tests/unit/edge/edge_models.py), loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "edge_models", Path(__file__).parents[1] / "unit" / "edge" / "edge_models.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.fragile(path))


def test_a_fidelity_miss_fails_with_the_numbers(stack: LocalStack, tmp_path: Path) -> None:
    model = _fragile_model(tmp_path / "fragile.onnx")
    bucket = stack.env_value("DATA_BUCKET")
    stack.client("s3").put_object(Bucket=bucket, Key="models/fragile/model.onnx", Body=model.read_bytes())
    request(stack, export_id="strict", name="strict", model_uri=f"s3://{bucket}/models/fragile/model.onnx")
    events = [e for e in outcomes(stack) if e["detail"]["data"].get("exportId") == "ex-strict"]
    (failed,) = events
    assert failed["detail-type"] == "EdgeExportFailed"
    data = failed["detail"]["data"]
    assert data["stage"] == "fidelity" and data["errorCode"] == "fidelity_below_threshold"
    assert data["details"]["cosine"] < 0.99 and data["details"]["minCosine"] == 0.99
    assert data["details"]["argmaxAgreement"] < 0.99
    assert stack.client("iot").list_jobs()["jobs"] == [] or all(
        j["jobId"] != "tailor-ex-strict" for j in stack.client("iot").list_jobs()["jobs"]
    )


def test_a_missing_model_fails_the_request_once(stack: LocalStack) -> None:
    bucket = stack.env_value("DATA_BUCKET")
    request(stack, export_id="ghost", model_uri=f"s3://{bucket}/models/ghost/model.onnx")
    (failed,) = [e for e in outcomes(stack) if e["detail"]["data"].get("exportId") == "ex-ghost"]
    assert failed["detail-type"] == "EdgeExportFailed"
    assert failed["detail"]["data"]["errorCode"] == "model_not_found"
    assert stack.dlq_messages("ExportQueue") == []


def test_a_completed_run_with_an_edge_section_is_exported(
    stack: LocalStack, sample: Path, tmp_path: Path
) -> None:
    record = orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": "Where is my parcel?"}]},
                {"role": "assistant", "content": [{"text": "It ships tomorrow."}]},
            ]
        }
    )
    stack.upload("datasets/support-edge/train.jsonl", b"\n".join([record] * 12) + b"\n")
    stack.upload("datasets/support-edge/student.onnx", sample.read_bytes())
    stack.upload(
        "datasets/support-edge/job.json",
        orjson.dumps(
            {
                "technique": "fine-tuning",
                "baseModel": "nova-lite",
                "edge": {"model": "student.onnx", "targets": ["thinggroup/kiosks"], "name": "support"},
            }
        ),
    )
    stack.run_until_idle(timeout=60)
    stack.bedrock_simulator.finish()
    events = [e for e in outcomes(stack) if e["detail"]["data"].get("name") == "support"]
    (published,) = events
    data = published["detail"]["data"]
    assert published["detail-type"] == "EdgePackagePublished" and data["runId"]
    manifest = Manifest.from_bytes(
        stack.client("s3")
        .get_object(
            Bucket=data["manifestUri"][5:].split("/", 1)[0], Key=data["manifestUri"][5:].split("/", 1)[1]
        )["Body"]
        .read()
    )
    assert manifest.provenance.run_id == data["runId"]
    assert manifest.provenance.job_arn and manifest.provenance.base_model_id
    assert manifest.provenance.dataset_snapshot_sha256
    assert manifest.golden.source == "generated"
    item = stack.client("dynamodb").get_item(
        TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": data["runId"]}}
    )["Item"]
    facts = {k: next(iter(v.values())) for k, v in item["facts"]["M"].items()}
    assert (facts["edgeExportId"], facts["edgeExportStatus"]) == (data["exportId"], "PUBLISHED")
    assert facts["edgeExportVersion"] == data["version"]


def test_tailor_export_wait_json_prints_the_outcome(
    stack: LocalStack, tmp_path: Path, tailor_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    import threading

    bucket = stack.env_value("DATA_BUCKET")
    stop = threading.Event()
    server = threading.Thread(target=stack.serve, args=(stop,), kwargs={"schedules": False}, daemon=True)
    server.start()
    env = stack.client_env()
    try:
        model = ["--model", f"s3://{bucket}/models/intent/model.onnx", "--targets", "thinggroup/kiosks"]
        result = tailor_cli(
            tmp_path,
            "export",
            *model,
            "--name",
            "cli-intent",
            "--wait",
            "--json",
            "--interval",
            "0.2",
            env=env,
        )
        missing = tailor_cli(
            tmp_path,
            "export",
            "--model",
            f"s3://{bucket}/models/none/model.onnx",
            "--targets",
            "thinggroup/kiosks",
            env=env,
        )
        usage = tailor_cli(tmp_path, "export", "--model", "model.onnx", "--targets", "kiosks", env=env)
    finally:
        stop.set()
        server.join(timeout=30)
    assert result.returncode == 0, result.stderr
    data = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert data["name"] == "cli-intent" and data["exportId"].startswith("ex-") and data["iotJobIds"]
    assert "ex-" in result.stderr and "PUBLISHED" in result.stderr  # the record's progress
    assert missing.returncode == 1 and "does not exist: upload the model first" in missing.stderr
    assert usage.returncode == 2 and "is not an s3:// URI" in usage.stderr


def test_a_simulated_fleet_installs_rejects_and_refuses_a_tampered_bundle(
    stack: LocalStack, tmp_path: Path
) -> None:
    from tailor.local.devices import DeviceSimulator

    fleet = DeviceSimulator(
        tmp_path / "fleet",
        jobs_endpoint=stack.jobs_data_plane.url,
        public_key_pem=stack.edge_public_key_pem(),
        region=stack.region,
    )
    fleet.register(stack.client("iot"), "sim-fleet")
    request(stack, export_id="fleet-v1", name="fleet", targets=["thinggroup/sim-fleet"])
    (published,) = [e for e in outcomes(stack) if e["detail"]["data"].get("exportId") == "ex-fleet-v1"]
    assert published["detail-type"] == "EdgePackagePublished"

    first = {d.thing_name: d for d in fleet.run_once_all()}
    x86 = [d for d in first.values() if d.profile == "linux-x86_64"]
    (arm,) = [d for d in first.values() if d.profile == "linux-aarch64"]
    assert x86 and all(
        d.outcome.status is OutcomeStatus.SUCCEEDED and d.current_version == "1.0.1" for d in x86
    )
    # The bundle was built for linux-x86_64 only: the aarch64 device refuses it as incompatible.
    assert arm.outcome.status is OutcomeStatus.REJECTED and arm.current_version is None

    # v2 is published, then its manifest is tampered with in S3: every device refuses, reports
    # FAILED and keeps v1.
    request(stack, export_id="fleet-v2", name="fleet", targets=["thinggroup/sim-fleet"])
    (second,) = [e for e in outcomes(stack) if e["detail"]["data"].get("exportId") == "ex-fleet-v2"]
    data = second["detail"]["data"]
    assert data["version"] == "1.0.2" and data["cancelledJobIds"] == ["tailor-ex-fleet-v1"]
    bucket, key = data["manifestUri"][5:].split("/", 1)
    s3 = stack.client("s3")
    manifest = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=manifest.replace(b'"1.0.2"', b'"1.0.9"'))
    again = {d.thing_name: d for d in fleet.run_once_all()}
    for device in x86:
        outcome = again[device.thing_name]
        assert outcome.outcome.status is OutcomeStatus.FAILED and outcome.current_version == "1.0.1"
        assert "signature" in (outcome.outcome.reason or "")
    reported = {r.thing_name: r for r in stack.jobs_data_plane.executions("tailor-ex-fleet-v2")}
    assert {reported[d.thing_name].status for d in x86} == {"FAILED"}
