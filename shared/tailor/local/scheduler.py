"""The local scheduler: fires schedule rules and EventBridge Scheduler schedules.

moto never fires either. A fired schedule delivers what AWS would deliver to each target:

- an SQS target gets the target's ``Input`` as the message body; without ``Input``, a schedule rule
  sends EventBridge's "Scheduled Event" and a Scheduler schedule sends ``{}``;
- a Lambda target of this stack is invoked directly by the dispatcher with that payload (an
  asynchronous invocation: a failure is recorded, not raised).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tailor.local.dispatcher import Dispatcher
from tailor.local.provision import ScheduleInfo, ScheduleTarget
from tailor.local.schedules import Schedule, UnsupportedScheduleError, parse_schedule

__all__ = ["Firing", "Scheduler"]


@dataclass(frozen=True)
class Firing:
    schedule_id: str
    target: str
    error: str | None = None


class Scheduler:
    def __init__(
        self,
        *,
        schedules: Mapping[str, ScheduleInfo],
        sqs: Any,
        dispatcher: Dispatcher,
        region: str,
        account_id: str,
    ) -> None:
        self.schedules = dict(schedules)
        self.sqs = sqs
        self.dispatcher = dispatcher
        self.region = region
        self.account_id = account_id
        self.notes: list[str] = []
        self.parsed: dict[str, Schedule] = {}
        for logical_id, info in self.schedules.items():
            try:
                self.parsed[logical_id] = parse_schedule(info.expression, info.timezone)
            except UnsupportedScheduleError as error:
                self.notes.append(f"{logical_id}: {error}; it only fires through fire_schedules()")
        self._next: dict[str, datetime | None] = {}

    def _payload(self, info: ScheduleInfo, target: ScheduleTarget, now: datetime) -> str:
        if target.input is not None:
            return target.input
        if info.kind == "scheduler":
            return "{}"
        return json.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self.account_id,
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [info.arn],
                "detail": {},
            }
        )

    def _deliver(self, info: ScheduleInfo, target: ScheduleTarget, now: datetime) -> Firing:
        payload = self._payload(info, target, now)
        try:
            if target.queue_url:
                self.sqs.send_message(QueueUrl=target.queue_url, MessageBody=payload)
            elif target.function_id:
                self.dispatcher.invoke(target.function_id, json.loads(payload))
            else:
                return Firing(info.logical_id, target.arn, "target not played locally")
        except Exception as error:
            return Firing(info.logical_id, target.arn, f"{type(error).__name__}: {error}")
        return Firing(info.logical_id, target.arn)

    def fire(self, logical_ids: Iterable[str] | None = None) -> list[Firing]:
        """Fire the given schedules now (default: every enabled one; named ones fire even if disabled)."""
        wanted = list(logical_ids) if logical_ids is not None else list(self.schedules)
        unknown = sorted(set(wanted) - set(self.schedules))
        if unknown:
            raise KeyError(f"no schedule {unknown} in this stack (known: {sorted(self.schedules)})")
        now = datetime.now(UTC)
        firings: list[Firing] = []
        for logical_id in wanted:
            info = self.schedules[logical_id]
            if logical_ids is None and not info.enabled:
                continue
            firings.extend(self._deliver(info, target, now) for target in info.targets)
        return firings

    def tick(self, now: datetime | None = None, *, time_scale: float = 1.0) -> list[Firing]:
        """Fire the enabled schedules that are due at ``now`` (for ``tailor local up``)."""
        now = now or datetime.now(UTC)
        firings: list[Firing] = []
        for logical_id, schedule in self.parsed.items():
            info = self.schedules[logical_id]
            if not info.enabled:
                continue
            if logical_id not in self._next:
                self._next[logical_id] = schedule.next_after(now, time_scale=time_scale)
            due = self._next[logical_id]
            if due is not None and due <= now:
                firings.extend(self._deliver(info, target, now) for target in info.targets)
                self._next[logical_id] = schedule.next_after(now, time_scale=time_scale)
        return firings

    def next_firings(self) -> dict[str, datetime | None]:
        return dict(self._next)
