"""Exports table: export records with monotonic status, version sequences per package name, and
the "channel" of each (package, targets): which IoT Job is the live rollout there.

Key layout (one table, partition key ``exportId``): an export record under its export id; a
sequence counter under ``#seq#<name>``; a channel under ``#channel#<sha256>``. Export ids never
start with ``#``. Both stores follow one contract (tests/unit/adapters/test_exports_store.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.edge.record import RANK, ExportFacts, ExportRecord, ExportStatus
from tailor.jobs.run import utcnow_iso


class ExportNotFoundError(LookupError):
    def __init__(self, export_id: str) -> None:
        super().__init__(f"export {export_id!r} not found")
        self.export_id = export_id


@dataclass(frozen=True, slots=True)
class Channel:
    key: str
    job_id: str
    export_id: str
    sequence: int
    # The job this claim took over (the previous version's): cancelled by the claimant.
    previous_job_id: str | None = None


class ExportStore(Protocol):
    def create(self, record: ExportRecord) -> bool:
        """Insert; False (and no change) when the export id exists already."""
        ...

    def get(self, export_id: str) -> ExportRecord | None: ...

    def advance(self, export_id: str, target: ExportStatus, facts: ExportFacts | None = None) -> bool:
        """Move forward to ``target`` with ``facts``; False (no change) when the export is already
        there or further along. ExportNotFoundError for a missing export."""
        ...

    def mark_published(self, export_id: str) -> None: ...

    def next_sequence(self, name: str) -> int:
        """1, 2, 3… per package name (a crash may skip a number; it never repeats one)."""
        ...

    def channel(self, key: str) -> Channel | None: ...

    def claim_channel(self, channel: Channel) -> bool:
        """Make ``channel`` the live rollout unless a newer sequence holds it; True when it does now."""
        ...


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _earlier(target: ExportStatus) -> list[str]:
    return [status.value for status, rank in RANK.items() if rank < RANK[target]]


class DynamoExportStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._table = client

    @property
    def table(self) -> Any:
        if self._table is None:
            import boto3

            # The resource API (not aws.client) for its native type mapping; same endpoint rules.
            self._table = boto3.resource("dynamodb", config=aws.client("dynamodb").meta.config).Table(
                self.table_name
            )
        return self._table

    def _conditional_failed(self, error: Exception) -> bool:
        response = getattr(error, "response", {}) or {}
        return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")

    def create(self, record: ExportRecord) -> bool:
        try:
            self.table.put_item(
                Item=_decimals(record.item()), ConditionExpression="attribute_not_exists(exportId)"
            )
        except Exception as error:
            if self._conditional_failed(error):
                return False
            raise
        return True

    def get(self, export_id: str) -> ExportRecord | None:
        item = self.table.get_item(Key={"exportId": export_id}, ConsistentRead=True).get("Item")
        return ExportRecord.model_validate(_plain(item)) if item else None

    def advance(self, export_id: str, target: ExportStatus, facts: ExportFacts | None = None) -> bool:
        names = {"#s": "status", "#u": "updatedAt", "#id": "exportId"}
        values: dict[str, Any] = {":t": target.value, ":u": utcnow_iso()}
        sets = ["#s = :t", "#u = :u"]
        for index, (field, value) in enumerate((facts or ExportFacts()).set_fields().items()):
            names[f"#f{index}"], names["#facts"] = field, "facts"
            values[f":f{index}"] = _decimals(value)
            sets.append(f"#facts.#f{index} = :f{index}")
        earlier = _earlier(target)
        if not earlier:  # nothing comes before REQUESTED: only a create puts a record there
            if self.get(export_id) is None:
                raise ExportNotFoundError(export_id)
            return False
        values.update({f":e{i}": status for i, status in enumerate(earlier)})
        placeholders = ", ".join(f":e{i}" for i in range(len(earlier)))
        condition = f"attribute_exists(#id) AND #s IN ({placeholders})"
        try:
            self.table.update_item(
                Key={"exportId": export_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as error:
            if not self._conditional_failed(error):
                raise
            if self.get(export_id) is None:
                raise ExportNotFoundError(export_id) from None
            return False
        return True

    def mark_published(self, export_id: str) -> None:
        try:
            self.table.update_item(
                Key={"exportId": export_id},
                UpdateExpression="SET published = :t",
                ConditionExpression="attribute_exists(exportId)",
                ExpressionAttributeValues={":t": True},
            )
        except Exception as error:
            if self._conditional_failed(error):
                raise ExportNotFoundError(export_id) from None
            raise

    def next_sequence(self, name: str) -> int:
        answer = self.table.update_item(
            Key={"exportId": f"#seq#{name}"},
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": "sequence"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["sequence"])

    def channel(self, key: str) -> Channel | None:
        item = self.table.get_item(Key={"exportId": f"#channel#{key}"}, ConsistentRead=True).get("Item")
        if not item:
            return None
        previous = item.get("previousJobId")
        return Channel(
            key,
            str(item["jobId"]),
            str(item["owner"]),
            int(item["sequence"]),
            str(previous) if previous else None,
        )

    def claim_channel(self, channel: Channel) -> bool:
        try:
            self.table.put_item(
                Item={
                    "exportId": f"#channel#{channel.key}",
                    "jobId": channel.job_id,
                    "owner": channel.export_id,
                    "sequence": channel.sequence,
                    **({"previousJobId": channel.previous_job_id} if channel.previous_job_id else {}),
                },
                ConditionExpression="attribute_not_exists(exportId) OR #q <= :q",
                ExpressionAttributeNames={"#q": "sequence"},
                ExpressionAttributeValues={":q": channel.sequence},
            )
        except Exception as error:
            if self._conditional_failed(error):
                return False
            raise
        return True


class InMemoryExportStore:
    """The same contract in a dict (unit tests, fakes)."""

    def __init__(self) -> None:
        self.records: dict[str, ExportRecord] = {}
        self.sequences: dict[str, int] = {}
        self.channels: dict[str, Channel] = {}

    def create(self, record: ExportRecord) -> bool:
        if record.export_id in self.records:
            return False
        self.records[record.export_id] = copy.deepcopy(record)
        return True

    def get(self, export_id: str) -> ExportRecord | None:
        record = self.records.get(export_id)
        return copy.deepcopy(record) if record else None

    def advance(self, export_id: str, target: ExportStatus, facts: ExportFacts | None = None) -> bool:
        record = self.records.get(export_id)
        if record is None:
            raise ExportNotFoundError(export_id)
        if RANK[record.status] >= RANK[target]:
            return False
        merged = record.facts.model_copy(update=(facts or ExportFacts()).model_dump(exclude_none=True))
        self.records[export_id] = record.model_copy(
            update={"status": target, "updated_at": utcnow_iso(), "facts": merged}
        )
        return True

    def mark_published(self, export_id: str) -> None:
        if export_id not in self.records:
            raise ExportNotFoundError(export_id)
        self.records[export_id] = self.records[export_id].model_copy(update={"published": True})

    def next_sequence(self, name: str) -> int:
        self.sequences[name] = self.sequences.get(name, 0) + 1
        return self.sequences[name]

    def channel(self, key: str) -> Channel | None:
        return self.channels.get(key)

    def claim_channel(self, channel: Channel) -> bool:
        current = self.channels.get(channel.key)
        if current is not None and current.sequence > channel.sequence:
            return False
        self.channels[channel.key] = channel
        return True
