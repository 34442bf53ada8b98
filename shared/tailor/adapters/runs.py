"""Runs table: guarded, monotonic state transitions with conditional writes; typed facts; the
sparse index of active runs.

Both stores follow one contract (tests/unit/adapters/test_runs.py runs it against each): a
transition already applied, stale or out of order is a no-op (False); a forward move the state
machine does not allow raises InvalidTransitionError; every write to a missing run raises
RunNotFoundError.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.jobs.run import HistoryEntry, RunFacts, RunRecord, to_source_time, utcnow_iso
from tailor.jobs.state import (
    ACTIVE,
    InvalidTransitionError,
    RunNotFoundError,
    RunStatus,
    Verdict,
    judge,
    sources_of,
)

ACTIVE_INDEX = "ActiveRunsIndex"
ACTIVE_FLAG = "1"
_CONFLICT_RETRIES = 5


class RunStore(Protocol):
    def create(self, record: RunRecord) -> bool:
        """Insert a new run; False (and no change) if the run id exists already."""
        ...

    def get(self, run_id: str) -> RunRecord | None: ...

    def transition(
        self,
        run_id: str,
        target: RunStatus,
        *,
        reason: str | None = None,
        facts: RunFacts | None = None,
        source_time: datetime | str | None = None,
    ) -> bool:
        """Move to ``target`` and record ``facts``. True if applied now; False if it was a no-op
        (already there, stale by state rank or by ``source_time``). InvalidTransitionError for a
        forward move the machine does not allow; RunNotFoundError for a missing run."""
        ...

    def add_facts(self, run_id: str, facts: RunFacts) -> None:
        """Record facts without a status change. RunNotFoundError for a missing run."""
        ...

    def record_join(self, run_id: str, upload_uri: str) -> None:
        """Count an upload of identical content that joined this run."""
        ...

    def mark_published(self, run_id: str, detail_type: str) -> bool:
        """Record that ``detail_type`` was put on the bus; False if it was recorded before."""
        ...

    def list_active(self, limit: int = 100) -> Iterator[RunRecord]: ...

    def list_recent(self, limit: int = 20) -> list[RunRecord]:
        """The most recently updated runs, newest first (a table scan: for people, not hot paths)."""
        ...


def _decimals(value: Any) -> Any:
    """DynamoDB numbers: boto3 refuses Python floats (losses, prices), so they go as Decimals."""
    if isinstance(value, float):
        from decimal import Decimal

        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    return value


def _verdict(record: RunRecord, target: RunStatus, source_time: str | None) -> Verdict:
    return judge(record.status, target, current_source_time=record.source_time, source_time=source_time)


class DynamoRunStore:
    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    @staticmethod
    def _serialize(value: Any) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        return dict(TypeSerializer().serialize(_decimals(value)))

    @staticmethod
    def _to_record(item: Mapping[str, Any]) -> RunRecord:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        plain = {k: deserializer.deserialize(v) for k, v in item.items()}
        plain["published"] = sorted(plain.get("published") or [])
        return RunRecord.model_validate(plain)

    def create(self, record: RunRecord) -> bool:
        item = record.model_dump(mode="json", by_alias=True)
        item["published"] = None  # a string set cannot be empty: added by mark_published
        item = {k: v for k, v in item.items() if v is not None}
        item["facts"] = record.facts.set_fields()  # a map must exist for SET facts.x = …
        if record.status in ACTIVE:
            item["activeFlag"] = ACTIVE_FLAG
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={k: self._serialize(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(runId)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, run_id: str) -> RunRecord | None:
        resp = self.client.get_item(
            TableName=self.table_name, Key={"runId": {"S": run_id}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return self._to_record(item) if item else None

    def _fact_sets(self, facts: RunFacts | None, names: dict[str, str], values: dict[str, Any]) -> list[str]:
        sets: list[str] = []
        if facts is None:
            return sets
        for index, (key, value) in enumerate(facts.set_fields().items()):
            names["#f"] = "facts"
            names[f"#k{index}"] = key
            values[f":v{index}"] = self._serialize(value)
            sets.append(f"#f.#k{index} = :v{index}")
        return sets

    def transition(
        self,
        run_id: str,
        target: RunStatus,
        *,
        reason: str | None = None,
        facts: RunFacts | None = None,
        source_time: datetime | str | None = None,
    ) -> bool:
        when = to_source_time(source_time)
        sources = sorted(sources_of(target))
        if not sources:
            raise InvalidTransitionError(run_id, None, target)
        for _ in range(_CONFLICT_RETRIES):
            now = utcnow_iso()
            entry = HistoryEntry(status=target, at=now, reason=reason).model_dump(
                mode="json", exclude_none=True
            )
            names = {"#s": "status", "#u": "updatedAt", "#h": "history"}
            values: dict[str, Any] = {
                ":t": {"S": target.value},
                ":now": {"S": now},
                ":h": {"L": [self._serialize(entry)]},
            }
            sets = [
                "#s = :t",
                "#u = :now",
                "#h = list_append(#h, :h)",
                *self._fact_sets(facts, names, values),
            ]
            condition = f"#s IN ({', '.join(f':f{i}' for i in range(len(sources)))})"
            values.update({f":f{i}": {"S": s.value} for i, s in enumerate(sources)})
            if when is not None:
                names["#st"] = "sourceTime"
                values[":st"] = {"S": when}
                sets.append("#st = :st")
                condition += " AND (attribute_not_exists(#st) OR #st <= :st)"
            if target in ACTIVE:
                values[":on"] = {"S": ACTIVE_FLAG}
                update = "SET " + ", ".join([*sets, "activeFlag = :on"])
            else:
                update = "SET " + ", ".join(sets) + " REMOVE activeFlag"
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key={"runId": {"S": run_id}},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                current = self.get(run_id)
                if current is None:
                    raise RunNotFoundError(run_id) from None
                verdict = _verdict(current, target, when)
                if verdict is Verdict.NO_OP:
                    return False
                if verdict is Verdict.INVALID:
                    raise InvalidTransitionError(run_id, current.status, target) from None
                continue  # the run moved between our read and write: judge again
            return True
        raise RuntimeError(f"run {run_id}: gave up moving it to {target.value} after repeated conflicts")

    def add_facts(self, run_id: str, facts: RunFacts) -> None:
        names: dict[str, str] = {"#u": "updatedAt"}
        values: dict[str, Any] = {":now": {"S": utcnow_iso()}}
        sets = self._fact_sets(facts, names, values)
        self._update_existing(run_id, "SET " + ", ".join(["#u = :now", *sets]), names, values)

    def record_join(self, run_id: str, upload_uri: str) -> None:
        self._update_existing(
            run_id,
            "ADD joinedUploads :one SET #f.lastJoinedUpload = :u",
            {"#f": "facts"},
            {":one": {"N": "1"}, ":u": {"S": upload_uri}},
        )

    def _update_existing(
        self, run_id: str, update: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        """An update that must find the run: RunNotFoundError otherwise (never an upsert)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"runId": {"S": run_id}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(runId)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise RunNotFoundError(run_id) from None

    def mark_published(self, run_id: str, detail_type: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"runId": {"S": run_id}},
                UpdateExpression="ADD published :p",
                ConditionExpression="attribute_exists(runId) AND NOT contains(published, :d)",
                ExpressionAttributeValues={":p": {"SS": [detail_type]}, ":d": {"S": detail_type}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            if self.get(run_id) is None:
                raise RunNotFoundError(run_id) from None
            return False
        return True

    def list_active(self, limit: int = 100) -> Iterator[RunRecord]:
        paginator = self.client.get_paginator("query")
        seen = 0
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=ACTIVE_INDEX,
            KeyConditionExpression="activeFlag = :on",
            ExpressionAttributeValues={":on": {"S": ACTIVE_FLAG}},
        ):
            for item in page.get("Items", []):
                if seen >= limit:
                    return
                seen += 1
                yield self._to_record(item)

    def list_recent(self, limit: int = 20) -> list[RunRecord]:
        paginator = self.client.get_paginator("scan")
        records = [
            self._to_record(item)
            for page in paginator.paginate(TableName=self.table_name)
            for item in page.get("Items", [])
        ]
        return sorted(records, key=lambda r: r.updated_at, reverse=True)[:limit]


def _merged(current: RunFacts, update: RunFacts | None) -> RunFacts:
    if update is None:
        return current
    return current.model_copy(update={k: v for k, v in update if v is not None})


class InMemoryRunStore:
    """Fake RunStore with the same guarded semantics, for unit tests."""

    def __init__(self) -> None:
        self.records: dict[str, RunRecord] = {}

    def create(self, record: RunRecord) -> bool:
        if record.run_id in self.records:
            return False
        self.records[record.run_id] = copy.deepcopy(record)
        return True

    def get(self, run_id: str) -> RunRecord | None:
        found = self.records.get(run_id)
        return copy.deepcopy(found) if found else None

    def _existing(self, run_id: str) -> RunRecord:
        record = self.records.get(run_id)
        if record is None:
            raise RunNotFoundError(run_id)
        return record

    def transition(
        self,
        run_id: str,
        target: RunStatus,
        *,
        reason: str | None = None,
        facts: RunFacts | None = None,
        source_time: datetime | str | None = None,
    ) -> bool:
        if not sources_of(target):
            raise InvalidTransitionError(run_id, None, target)
        record = self._existing(run_id)
        when = to_source_time(source_time)
        verdict = _verdict(record, target, when)
        if verdict is Verdict.NO_OP:
            return False
        if verdict is Verdict.INVALID:
            raise InvalidTransitionError(run_id, record.status, target)
        now = utcnow_iso()
        record.status = target
        record.updated_at = now
        record.history.append(HistoryEntry(status=target, at=now, reason=reason))
        record.facts = _merged(record.facts, facts)
        if when is not None:
            record.source_time = when
        return True

    def add_facts(self, run_id: str, facts: RunFacts) -> None:
        record = self._existing(run_id)
        record.facts = _merged(record.facts, facts)
        record.updated_at = utcnow_iso()

    def record_join(self, run_id: str, upload_uri: str) -> None:
        record = self._existing(run_id)
        record.joined_uploads += 1
        record.facts = _merged(record.facts, RunFacts(last_joined_upload=upload_uri))

    def mark_published(self, run_id: str, detail_type: str) -> bool:
        record = self._existing(run_id)
        if detail_type in record.published:
            return False
        record.published.append(detail_type)
        return True

    def list_active(self, limit: int = 100) -> Iterator[RunRecord]:
        active = sorted((r for r in self.records.values() if r.status in ACTIVE), key=lambda r: r.updated_at)
        yield from (copy.deepcopy(r) for r in active[:limit])

    def list_recent(self, limit: int = 20) -> list[RunRecord]:
        records = sorted(self.records.values(), key=lambda r: r.updated_at, reverse=True)
        return [copy.deepcopy(r) for r in records[:limit]]
