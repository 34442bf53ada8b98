"""RunStore contract, run against both the DynamoDB adapter (moto) and the in-memory fake."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tailor.adapters.runs import DynamoRunStore, InMemoryRunStore, RunStore
from tailor.events.models import DatasetSnapshot, SnapshotFile
from tailor.jobs.run import RunFacts, RunRecord
from tailor.jobs.state import InvalidTransitionError, RunNotFoundError, RunStatus

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
    facts = RunFacts(report_uri="s3://a/r")
    assert store.transition("r1", RunStatus.VALIDATED, reason="ok", facts=facts) is True
    assert store.transition("r1", RunStatus.VALIDATED) is False
    run = store.get("r1")
    assert run is not None
    assert run.status is RunStatus.VALIDATED
    assert run.facts.report_uri == "s3://a/r"
    assert [h.status for h in run.history] == [RunStatus.VALIDATED]


def _advance(store: RunStore, *path: RunStatus) -> None:
    store.create(_record())
    for status in path:
        assert store.transition("r1", status) is True


def test_late_and_out_of_order_transitions_are_no_ops(store: RunStore) -> None:
    # Bedrock's events racing the reconciling poll: a late InProgress after Completed.
    _advance(store, RunStatus.VALIDATED, RunStatus.SUBMITTED, RunStatus.IN_PROGRESS, RunStatus.COMPLETED)
    assert store.transition("r1", RunStatus.IN_PROGRESS) is False
    assert store.transition("r1", RunStatus.SUBMITTED) is False
    assert store.transition("r1", RunStatus.VALIDATED) is False
    # A conflicting terminal state after the first one: the first wins.
    assert store.transition("r1", RunStatus.FAILED) is False
    run = store.get("r1")
    assert run is not None and run.status is RunStatus.COMPLETED
    assert len(run.history) == 4


def test_a_stale_source_timestamp_is_a_no_op(store: RunStore) -> None:
    _advance(store, RunStatus.VALIDATED, RunStatus.SUBMITTED)
    assert store.transition("r1", RunStatus.IN_PROGRESS, source_time="2026-12-01T10:00:05Z") is True
    # Allowed by the state machine, but older than what was applied: stale.
    assert store.transition("r1", RunStatus.STOPPING, source_time="2026-12-01T10:00:01Z") is False
    assert store.transition("r1", RunStatus.STOPPING, source_time="2026-12-01T10:00:09+00:00") is True
    run = store.get("r1")
    assert run is not None and run.status is RunStatus.STOPPING
    assert run.source_time == "2026-12-01T10:00:09.000Z"


def test_forward_moves_the_machine_forbids_raise(store: RunStore) -> None:
    store.create(_record())
    with pytest.raises(InvalidTransitionError, match="is RECEIVED"):
        store.transition("r1", RunStatus.COMPLETED)
    store.transition("r1", RunStatus.REJECTED)
    with pytest.raises(InvalidTransitionError, match="is REJECTED"):
        store.transition("r1", RunStatus.SUBMITTED)


def test_every_write_to_a_missing_run_raises_run_not_found(store: RunStore) -> None:
    assert store.get("missing") is None
    with pytest.raises(RunNotFoundError):
        store.transition("missing", RunStatus.VALIDATED)
    with pytest.raises(RunNotFoundError):
        store.mark_published("missing", "DatasetValidated")
    with pytest.raises(RunNotFoundError):
        store.add_facts("missing", RunFacts(job_arn="arn:x"))
    with pytest.raises(RunNotFoundError):
        store.record_join("missing", "s3://b/k")


def test_facts_are_typed_and_merged(store: RunStore) -> None:
    store.create(_record())
    snapshot = DatasetSnapshot(
        training=SnapshotFile(uri="s3://b/snapshots/sha256/ab.jsonl", sha256="ab", bytes=3)
    )
    store.transition("r1", RunStatus.VALIDATED, facts=RunFacts(report_uri="s3://a/r", snapshot=snapshot))
    store.add_facts("r1", RunFacts(job_arn="arn:aws:bedrock:us-east-1:1:model-customization-job/x/abc"))
    store.record_join("r1", "s3://b/datasets/x/job.json (version v9)")
    run = store.get("r1")
    assert run is not None
    assert run.facts.report_uri == "s3://a/r"  # left alone by the later update
    assert run.facts.snapshot == snapshot
    assert run.facts.job_arn is not None and run.facts.job_arn.endswith("/abc")
    assert run.facts.last_joined_upload == "s3://b/datasets/x/job.json (version v9)"
    assert run.joined_uploads == 1


def test_a_run_no_backend_advances_leaves_the_active_index(store: RunStore) -> None:
    store.create(_record())
    store.transition("r1", RunStatus.VALIDATED)
    assert [r.run_id for r in store.list_active()] == ["r1"]
    store.transition("r1", RunStatus.SUBMISSION_FAILED, reason="no backend")
    assert list(store.list_active()) == []
    assert store.transition("r1", RunStatus.SUBMITTED) is False  # terminal: nothing moves it
    run = store.get("r1")
    assert run is not None and run.status is RunStatus.SUBMISSION_FAILED


def test_list_recent_newest_first(store: RunStore) -> None:
    for run_id in ("a", "b"):
        store.create(_record(run_id))
    store.transition("a", RunStatus.VALIDATED)
    assert next(r.run_id for r in store.list_recent()) == "a"


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


def test_float_facts_are_stored(store: RunStore) -> None:
    from tailor.events.models import LossMetrics, MetricPoint

    store.create(_record())
    curve = [MetricPoint(step=1, epoch=1, loss=2.5, perplexity=12.18), MetricPoint(step=2, loss=1.25)]
    metrics = LossMetrics(final_loss=1.25, best_loss=1.25, points=2, curve=curve)
    store.add_facts("r1", RunFacts(estimated_usd=9.6, training_metrics=metrics))
    run = store.get("r1")
    assert run is not None and run.facts.estimated_usd == 9.6
    assert run.facts.training_metrics == metrics
