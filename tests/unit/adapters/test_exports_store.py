"""One contract for both export stores: InMemoryExportStore and DynamoExportStore (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tailor.adapters.exports import (
    Channel,
    DynamoExportStore,
    ExportNotFoundError,
    ExportStore,
    InMemoryExportStore,
)
from tailor.edge.record import ExportFacts, ExportRecord, ExportStatus

TABLE = "tailor-exports-test"


def _dynamo() -> DynamoExportStore:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    table = resource.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "exportId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "exportId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoExportStore(TABLE, client=table)


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Iterator[ExportStore]:
    if request.param == "memory":
        yield InMemoryExportStore()
        return
    with mock_aws():
        yield _dynamo()


def record(export_id: str = "ex-1", **fields: Any) -> ExportRecord:
    base: dict[str, Any] = {
        "export_id": export_id,
        "name": "intent",
        "version": "1.0.1",
        "source_uri": "s3://data/models/intent/model.onnx",
        "source_version": "v1",
        "targets": ["thinggroup/kiosks"],
        "profiles": ["linux-x86_64"],
        "fidelity_gate": {"minCosine": 0.99, "minArgmaxAgreement": 0.985},
        "rollout": {"maximumPerMinute": 50, "incrementFactor": 1.5, "abortThresholdPercentage": 12.5},
    }
    return ExportRecord(**{**base, **fields})


def status(store: ExportStore, export_id: str = "ex-1") -> ExportStatus:
    found = store.get(export_id)
    assert found is not None
    return found.status


def test_create_is_conditional(store: ExportStore) -> None:
    assert store.get("ex-1") is None
    assert store.create(record()) is True
    assert store.create(record(name="someone-else", version="1.0.9")) is False
    found = store.get("ex-1")
    assert found is not None and found.name == "intent" and found.version == "1.0.1"
    assert found.status is ExportStatus.REQUESTED and found.published is False
    assert found == record().model_copy(
        update={"created_at": found.created_at, "updated_at": found.updated_at}
    )


def test_advance_moves_forward_only(store: ExportStore) -> None:
    store.create(record())
    assert store.advance("ex-1", ExportStatus.PACKAGED) is True
    assert status(store) is ExportStatus.PACKAGED
    assert store.advance("ex-1", ExportStatus.PACKAGED) is False  # already there
    assert store.advance("ex-1", ExportStatus.PUBLISHED) is True
    assert store.advance("ex-1", ExportStatus.PACKAGED) is False  # no going back
    assert store.advance("ex-1", ExportStatus.FAILED) is False  # PUBLISHED is terminal too
    assert status(store) is ExportStatus.PUBLISHED


@pytest.mark.parametrize("start", [ExportStatus.REQUESTED, ExportStatus.PACKAGED])
def test_failed_is_reachable_and_terminal(store: ExportStore, start: ExportStatus) -> None:
    store.create(record())
    if start is ExportStatus.PACKAGED:
        store.advance("ex-1", ExportStatus.PACKAGED)
    assert store.advance("ex-1", ExportStatus.FAILED, ExportFacts(error_code="superseded")) is True
    for later in (ExportStatus.PACKAGED, ExportStatus.PUBLISHED, ExportStatus.FAILED):
        assert store.advance("ex-1", later, ExportFacts(error_code="overwritten")) is False
    found = store.get("ex-1")
    assert found is not None and found.status is ExportStatus.FAILED
    assert found.facts.error_code == "superseded"  # a refused advance sets no facts


def test_advance_back_to_requested_is_refused(store: ExportStore) -> None:
    store.create(record())
    store.advance("ex-1", ExportStatus.PACKAGED)
    assert store.advance("ex-1", ExportStatus.REQUESTED) is False
    assert status(store) is ExportStatus.PACKAGED


def test_advance_of_a_missing_export_raises(store: ExportStore) -> None:
    with pytest.raises(ExportNotFoundError) as raised:
        store.advance("ex-missing", ExportStatus.PACKAGED)
    assert raised.value.export_id == "ex-missing"
    assert store.get("ex-missing") is None  # and creates nothing


def test_facts_merge_and_a_none_field_leaves_the_old_value(store: ExportStore) -> None:
    store.create(record())
    store.advance(
        "ex-1",
        ExportStatus.PACKAGED,
        ExportFacts(
            manifest_uri="s3://a/edge/exports/ex-1/manifest.json",
            manifest_sha256="f" * 64,
            manifest_size=1234,
            blobs={"a" * 64: 10, "b" * 64: 20},
            sizes={"sourceBytes": 100, "modelBytes": 30},
        ),
    )
    store.advance(
        "ex-1",
        ExportStatus.PUBLISHED,
        ExportFacts(iot_job_id="tailor-ex-1", cancelled_job_ids=[], sizes={"bundleBytes": 50}),
    )
    found = store.get("ex-1")
    assert found is not None
    facts = found.facts
    assert facts.manifest_uri == "s3://a/edge/exports/ex-1/manifest.json"  # left alone
    assert facts.manifest_sha256 == "f" * 64 and facts.manifest_size == 1234
    assert facts.blobs == {"a" * 64: 10, "b" * 64: 20}
    assert facts.iot_job_id == "tailor-ex-1" and facts.cancelled_job_ids == []
    assert facts.sizes == {"bundleBytes": 50}  # a field that is set replaces the old value whole
    assert found.updated_at >= found.created_at


def test_mark_published(store: ExportStore) -> None:
    store.create(record())
    store.advance("ex-1", ExportStatus.FAILED)
    store.mark_published("ex-1")
    found = store.get("ex-1")
    assert found is not None and found.published is True and found.status is ExportStatus.FAILED


def test_mark_published_of_a_missing_export_raises_export_not_found(store: ExportStore) -> None:
    with pytest.raises(ExportNotFoundError):
        store.mark_published("ex-missing")


def test_next_sequence_counts_per_name(store: ExportStore) -> None:
    assert [store.next_sequence("intent") for _ in range(3)] == [1, 2, 3]
    assert store.next_sequence("support") == 1
    assert store.next_sequence("intent") == 4
    assert store.next_sequence("support") == 2
    assert store.get("ex-1") is None  # counters are not exports


def test_claim_channel_refuses_a_lower_sequence(store: ExportStore) -> None:
    assert store.channel("k") is None
    assert store.claim_channel(Channel("k", "tailor-ex-b", "ex-b", 2)) is True
    assert store.channel("k") == Channel("k", "tailor-ex-b", "ex-b", 2)
    assert store.claim_channel(Channel("k", "tailor-ex-a", "ex-a", 1)) is False
    assert store.channel("k") == Channel("k", "tailor-ex-b", "ex-b", 2)
    assert store.claim_channel(Channel("k", "tailor-ex-b", "ex-b", 2)) is True  # the same claim again
    assert store.claim_channel(Channel("k", "tailor-ex-c", "ex-c", 3)) is True
    assert store.channel("k") == Channel("k", "tailor-ex-c", "ex-c", 3)
    assert store.channel("other") is None
    assert store.claim_channel(Channel("other", "tailor-ex-z", "ex-z", 1)) is True  # independent keys


def test_floats_survive_the_round_trip(store: ExportStore) -> None:
    store.create(record())
    details = {"cosine": 0.9812345678901234, "minCosine": 0.99, "samples": 32, "perProfile": [0.5, 0.25]}
    fidelity = {"metric": "cosine", "value": 0.1 + 0.2, "threshold": 0.99, "passed": False}
    store.advance("ex-1", ExportStatus.FAILED, ExportFacts(details=details, fidelity=fidelity))
    found = store.get("ex-1")
    assert found is not None
    assert found.facts.details == details and found.facts.fidelity == fidelity
    assert isinstance(found.facts.details["cosine"], float)
    assert isinstance(found.facts.details["samples"], int)
    assert found.fidelity_gate == {"minCosine": 0.99, "minArgmaxAgreement": 0.985}
    assert found.rollout["incrementFactor"] == 1.5 and found.rollout["abortThresholdPercentage"] == 12.5


def test_the_record_round_trips_whole(store: ExportStore) -> None:
    original = record(
        run_id="support-0123", golden_uri="s3://d/g.json", golden_version="v7", request_id="evt"
    )
    store.create(original)
    assert store.get("ex-1") == original


def test_the_stored_rollout_and_gate_still_validate_strictly(store: ExportStore) -> None:
    """Dynamo gives 2.0 back as 2: the strict specs job_request and the gate read must still take it."""
    from tailor.jobs.spec import FidelitySpec, RolloutSpec

    rollout = RolloutSpec().model_dump(by_alias=True)
    gate = FidelitySpec(min_cosine=1.0).model_dump(by_alias=True)
    store.create(record(rollout=rollout, fidelity_gate=gate))
    found = store.get("ex-1")
    assert found is not None
    assert RolloutSpec.model_validate(found.rollout) == RolloutSpec()
    assert FidelitySpec.model_validate(found.fidelity_gate) == FidelitySpec(min_cosine=1.0)
