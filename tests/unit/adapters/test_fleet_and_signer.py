"""IotFleet against moto's IoT (and a stubbed client for error classification); KmsSigner against
moto's KMS, with and without the DIGEST repair (tailor.local.moto_kms)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from tailor.adapters.fleet import LIVE_JOB_STATUSES, FleetError, IotFleet, JobRequest
from tailor.adapters.signer import KmsSigner
from tailor.edge.signing import SignatureError, sign_manifest, verify_signature
from tailor.local import moto_kms

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/kiosks"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/tailor-edge-presign"


def job_request(job_id: str = "tailor-ex-1", **fields: Any) -> JobRequest:
    base: dict[str, Any] = {
        "job_id": job_id,
        "targets": (GROUP_ARN,),
        "document": '{"schema": "tailor.edge.job/1"}',
        "description": "Tailor edge package intent 1.0.1",
        "presign_role_arn": ROLE,
        "url_expiry_seconds": 3600,
        "maximum_per_minute": 50,
        "base_rate_per_minute": 5,
        "increment_factor": 2.0,
        "rate_increase_after_succeeded": 10,
        "abort_threshold_percentage": 10.0,
        "abort_min_executed_things": 20,
        "in_progress_timeout_minutes": 60,
        "retry_attempts": 2,
        "tags": (("tailor-export-id", "ex-1"),),
    }
    return JobRequest(**{**base, **fields})


@pytest.fixture
def iot() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("iot", region_name=REGION)
        client.create_thing_group(thingGroupName="kiosks")
        yield client


# -- IotFleet on moto ----------------------------------------------------------------------------------


def test_create_then_describe_a_job(iot: Any) -> None:
    fleet = IotFleet(iot)
    created = fleet.create_job(job_request())
    assert created.job_id == "tailor-ex-1" and created.status == "IN_PROGRESS"
    assert created.arn.endswith(":job/tailor-ex-1") and created.targets == (GROUP_ARN,)
    described = fleet.describe_job("tailor-ex-1")
    assert described is not None
    assert (described.job_id, described.arn) == ("tailor-ex-1", created.arn)
    assert described.status in LIVE_JOB_STATUSES  # AWS says IN_PROGRESS; moto says QUEUED
    assert described.targets == (GROUP_ARN,)
    job = iot.describe_job(jobId="tailor-ex-1")["job"]
    assert job["targetSelection"] == "CONTINUOUS"
    assert job["presignedUrlConfig"] == {"roleArn": ROLE, "expiresInSec": 3600}
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert iot.get_job_document(jobId="tailor-ex-1")["document"] == '{"schema": "tailor.edge.job/1"}'


def test_describe_of_a_missing_job_is_none(iot: Any) -> None:
    assert IotFleet(iot).describe_job("tailor-ex-none") is None


def test_cancel_cancels_once_and_then_is_a_no_op(iot: Any) -> None:
    fleet = IotFleet(iot)
    fleet.create_job(job_request())
    fleet.cancel_job("tailor-ex-1", "superseded by intent 1.0.2")
    described = fleet.describe_job("tailor-ex-1")
    assert described is not None and described.status == "CANCELED"
    job = iot.describe_job(jobId="tailor-ex-1")["job"]
    assert job.get("reasonCode") in (None, "SUPERSEDED")
    fleet.cancel_job("tailor-ex-1", "again")  # already CANCELED: nothing to do, no error
    fleet.cancel_job("tailor-ex-missing", "never existed")  # missing: nothing to do, no error


def test_moto_overwrites_a_second_create_with_the_same_id(iot: Any) -> None:
    """Pins moto's gap (AWS answers ResourceAlreadyExistsException): the service describes first."""
    fleet = IotFleet(iot)
    fleet.create_job(job_request())
    fleet.create_job(job_request(document='{"second": true}'))
    assert iot.get_job_document(jobId="tailor-ex-1")["document"] == '{"second": true}'


# -- error classification (stubbed client) -------------------------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("iot", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("TooManyRequestsException", 429, True),
        ("ServiceUnavailableException", 503, True),
        ("InternalFailureException", 500, True),
        ("SomethingNewAndBroken", 502, True),  # any 5xx
        ("LimitExceededException", 410, False),
        ("InvalidRequestException", 400, False),
        ("UnauthorizedException", 401, False),
        ("ResourceNotFoundException", 404, False),  # on create: a target does not exist
    ],
)
def test_create_job_errors_are_classified(
    stubbed: tuple[Any, Stubber], code: str, status: int, transient: bool
) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "create_job", service_error_code=code, service_message="no", http_status_code=status
    )
    with pytest.raises(FleetError) as raised:
        IotFleet(client).create_job(job_request())
    assert (raised.value.code, raised.value.message, raised.value.transient) == (code, "no", transient)
    assert isinstance(raised.value.__cause__, ClientError)


def test_describe_not_found_is_none_and_throttling_is_transient(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_job", service_error_code="ResourceNotFoundException", http_status_code=404
    )
    stubber.add_client_error("describe_job", service_error_code="ThrottlingException", http_status_code=400)
    fleet = IotFleet(client)
    assert fleet.describe_job("tailor-ex-1") is None
    with pytest.raises(FleetError) as raised:
        fleet.describe_job("tailor-ex-1")
    assert raised.value.code == "ThrottlingException" and raised.value.transient is True


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "InvalidStateTransitionException"])
def test_cancel_of_a_job_that_finished_or_vanished_meanwhile_is_a_no_op(
    stubbed: tuple[Any, Stubber], code: str
) -> None:
    client, stubber = stubbed
    job = {
        "jobId": "tailor-ex-1",
        "jobArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:job/tailor-ex-1",
        "status": "IN_PROGRESS",
    }
    stubber.add_response("describe_job", {"job": job}, {"jobId": "tailor-ex-1"})
    stubber.add_client_error("cancel_job", service_error_code=code, http_status_code=409)
    IotFleet(client).cancel_job("tailor-ex-1", "superseded")


def test_cancel_throttled_is_transient(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    job = {
        "jobId": "tailor-ex-1",
        "jobArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:job/tailor-ex-1",
        "status": "IN_PROGRESS",
    }
    stubber.add_response("describe_job", {"job": job}, {"jobId": "tailor-ex-1"})
    stubber.add_client_error("cancel_job", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(FleetError) as raised:
        IotFleet(client).cancel_job("tailor-ex-1", "superseded")
    assert raised.value.transient is True


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELED", "DELETION_IN_PROGRESS"])
def test_cancel_of_a_job_that_is_not_live_calls_nothing(stubbed: tuple[Any, Stubber], status: str) -> None:
    client, stubber = stubbed
    job = {
        "jobId": "tailor-ex-1",
        "jobArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:job/tailor-ex-1",
        "status": status,
    }
    stubber.add_response("describe_job", {"job": job}, {"jobId": "tailor-ex-1"})
    IotFleet(client).cancel_job("tailor-ex-1", "superseded")  # no cancel_job response queued


class _Unreachable:
    def create_job(self, **_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://iot.us-east-1.amazonaws.com")


def test_an_error_without_a_response_is_transient() -> None:
    with pytest.raises(FleetError) as raised:
        IotFleet(_Unreachable()).create_job(job_request())
    assert raised.value.transient is True and raised.value.code == "EndpointConnectionError"


def test_create_job_args_without_retries_have_no_retry_config() -> None:
    args = job_request(retry_attempts=0, base_rate_per_minute=80, maximum_per_minute=20).create_job_args()
    assert "jobExecutionsRetryConfig" not in args
    assert args["jobExecutionsRolloutConfig"]["exponentialRate"]["baseRatePerMinute"] == 20  # capped
    assert args["tags"] == [{"Key": "tailor-export-id", "Value": "ex-1"}]


# -- KmsSigner on moto ---------------------------------------------------------------------------------

MANIFEST = b'{"name":"intent","schema":"tailor.edge.manifest/1","version":"1.0.1"}'


@pytest.fixture
def kms() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("kms", region_name=REGION)
        key = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        yield client, key


def test_a_digest_signature_verifies_over_the_manifest_with_the_repair(kms: tuple[Any, str]) -> None:
    client, key = kms
    moto_kms.install()
    try:
        signer = KmsSigner(key, client)
        signature = sign_manifest(signer, MANIFEST)
        public = signer.public_key_der()
        verify_signature(public, MANIFEST, signature)
        with pytest.raises(SignatureError):
            verify_signature(public, MANIFEST + b" ", signature)
        assert public == bytes(client.get_public_key(KeyId=key)["PublicKey"])
        # RAW requests still go through moto's own code, and verify over the message.
        raw = client.sign(KeyId=key, Message=MANIFEST, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
        verify_signature(public, MANIFEST, bytes(raw["Signature"]))
    finally:
        moto_kms.uninstall()


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    from moto.kms.responses import KmsResponse

    original = KmsResponse.sign
    moto_kms.install()
    try:
        moto_kms.install()
        assert KmsResponse.sign is not original
    finally:
        moto_kms.uninstall()
    assert KmsResponse.sign is original
    moto_kms.uninstall()  # a second uninstall changes nothing
    assert KmsResponse.sign is original


def test_moto_still_hashes_a_digest_again_without_the_repair(kms: tuple[Any, str]) -> None:
    """Pins moto's gap: when this fails, moto signs DIGEST messages as given (like AWS) and
    tailor.local.moto_kms can go."""
    client, key = kms
    signer = KmsSigner(key, client)
    signature = sign_manifest(signer, MANIFEST)
    with pytest.raises(SignatureError):
        verify_signature(signer.public_key_der(), MANIFEST, signature)
    # What moto signed instead: the 32-byte digest, treated as the message.
    verify_signature(signer.public_key_der(), hashlib.sha256(MANIFEST).digest(), signature)


def test_a_digest_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KmsSigner("alias/none", kms_client=object()).sign_digest(b"short")
