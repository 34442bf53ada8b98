"""Runs table: guarded state transitions with conditional writes; sparse index of active runs."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.jobs.run import HistoryEntry, RunRecord, utcnow_iso
from tailor.jobs.state import ACTIVE, InvalidTransitionError, RunStatus, sources_of

ACTIVE_INDEX = "ActiveRunsIndex"
ACTIVE_FLAG = "1"


class RunStore(Protocol):
    def create(self, record: RunRecord) -> bool:
        """Insert a new run; False (and no change) if the run id exists already."""
        ...

    def get(self, run_id: str) -> RunRecord | None: ...

    def transition(
        self, run_id: str, target: RunStatus, *, reason: str | None = None, attributes: Mapping[str, str] = {}
    ) -> bool:
        """Move to ``target`` if allowed from the current state. True if applied now, False if the
        run was already in ``target`` (a replay). InvalidTransitionError otherwise."""
        ...

    def mark_published(self, run_id: str, detail_type: str) -> bool:
        """Record that ``detail_type`` was put on the bus; False if it was recorded before."""
        ...

    def list_active(self, limit: int = 100) -> Iterator[RunRecord]: ...

    def list_recent(self, limit: int = 20) -> list[RunRecord]:
        """The most recently updated runs, newest first (a table scan: for people, not hot paths)."""
        ...


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

        return dict(TypeSerializer().serialize(value))

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

    def transition(
        self, run_id: str, target: RunStatus, *, reason: str | None = None, attributes: Mapping[str, str] = {}
    ) -> bool:
        now = utcnow_iso()
        sources = sorted(sources_of(target))
        entry = HistoryEntry(status=target, at=now, reason=reason).model_dump(mode="json", exclude_none=True)
        names = {"#s": "status", "#u": "updatedAt", "#h": "history"}
        values: dict[str, Any] = {
            ":t": {"S": target.value},
            ":now": {"S": now},
            ":h": {"L": [self._serialize(entry)]},
        }
        sets = ["#s = :t", "#u = :now", "#h = list_append(#h, :h)"]
        if attributes:
            names["#a"] = "attributes"
        for index, (key, value) in enumerate(attributes.items()):
            names[f"#k{index}"] = key
            values[f":v{index}"] = {"S": value}
            sets.append(f"#a.#k{index} = :v{index}")
        if target in ACTIVE:
            values[":on"] = {"S": ACTIVE_FLAG}
            update = "SET " + ", ".join([*sets, "activeFlag = :on"])
        else:
            update = "SET " + ", ".join(sets) + " REMOVE activeFlag"
        placeholders = []
        for index, source in enumerate(sources):
            values[f":f{index}"] = {"S": source.value}
            placeholders.append(f":f{index}")
        if not placeholders:
            raise InvalidTransitionError(run_id, None, target)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"runId": {"S": run_id}},
                UpdateExpression=update,
                ConditionExpression=f"#s IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            current = self.get(run_id)
            if current is not None and current.status is target:
                return False
            raise InvalidTransitionError(run_id, current.status if current else None, target) from None
        return True

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

    def transition(
        self, run_id: str, target: RunStatus, *, reason: str | None = None, attributes: Mapping[str, str] = {}
    ) -> bool:
        record = self.records.get(run_id)
        if record is None:
            raise InvalidTransitionError(run_id, None, target)
        if record.status not in sources_of(target):
            if record.status is target:
                return False
            raise InvalidTransitionError(run_id, record.status, target)
        now = utcnow_iso()
        record.status = target
        record.updated_at = now
        record.history.append(HistoryEntry(status=target, at=now, reason=reason))
        record.attributes.update(attributes)
        return True

    def mark_published(self, run_id: str, detail_type: str) -> bool:
        record = self.records[run_id]
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
