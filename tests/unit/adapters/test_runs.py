"""RunStore contract, run against both the DynamoDB adapter (moto) and the in-memory fake."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tailor.adapters.runs import DynamoRunStore, InMemoryRunStore, RunStore
from tailor.jobs.run import RunRecord
from tailor.jobs.state import InvalidTransitionError, RunStatus

TABLE = "runs"


def _create_table() -> None:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "runId", "AttributeType": "S"},
            {"AttributeName": "activeFlag", "AttributeType": "S"},
            {"AttributeName": "updatedAt", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "runId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ActiveRunsIndex",
                "KeySchema": [
                    {"AttributeName": "activeFlag", "KeyType": "HASH"},
                    {"AttributeName": "updatedAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    if request.param == "memory":
        yield InMemoryRunStore()
        return
    with mock_aws():
        _create_table()
        yield DynamoRunStore(TABLE, boto3.client("dynamodb"))


def _record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, label="demo", trigger_uri="s3://b/datasets/demo/job.json")


def test_create_is_once(store: RunStore) -> None:
    assert store.create(_record()) is True
    assert store.create(_record()) is False
    found = store.get("r1")
    assert found is not None and found.status is RunStatus.RECEIVED


def test_transition_applies_once_and_replay_is_a_noop(store: RunStore) -> None:
    store.create(_record())
    assert (
        store.transition("r1", RunStatus.VALIDATED, reason="ok", attributes={"reportUri": "s3://a/r"}) is True
    )
    assert store.transition("r1", RunStatus.VALIDATED) is False
    run = store.get("r1")
    assert run is not None
    assert run.status is RunStatus.VALIDATED
    assert run.attributes["reportUri"] == "s3://a/r"
    assert [h.status for h in run.history] == [RunStatus.VALIDATED]


def test_illegal_transition_raises(store: RunStore) -> None:
    store.create(_record())
    with pytest.raises(InvalidTransitionError, match="is RECEIVED"):
        store.transition("r1", RunStatus.COMPLETED)
    with pytest.raises(InvalidTransitionError, match="does not exist"):
        store.transition("missing", RunStatus.VALIDATED)


def test_sparse_index_lists_only_active_runs(store: RunStore) -> None:
    for run_id in ("a", "b", "c"):
        store.create(_record(run_id))
    store.transition("a", RunStatus.REJECTED)
    store.transition("b", RunStatus.VALIDATED)
    active = {r.run_id for r in store.list_active()}
    assert active == {"b", "c"}


def test_mark_published_once(store: RunStore) -> None:
    store.create(_record())
    assert store.mark_published("r1", "DatasetValidated") is True
    assert store.mark_published("r1", "DatasetValidated") is False
    run = store.get("r1")
    assert run is not None and run.published == ["DatasetValidated"]
