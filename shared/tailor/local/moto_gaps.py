"""Where moto 5.2's events differ from AWS's, and the local stack's repairs.

Applied by the dispatcher to each SQS message body before a handler sees it — the services never
know they run locally. Each repair is conditional (it only fires when the gap shows), so a moto
release that closes a gap turns the repair into a no-op; ``tests/integration/local/test_moto_facts``
pins the gaps themselves so such a change is noticed.

Verified against moto 5.2.5 (see ``docs/local-stack.md``):

- ``put_events`` bodies delivered to SQS lack ``account`` → filled with the stack's account id.
- Every S3 → EventBridge event carries the same fixed ``id`` → replaced with a uuid5 of the event's
  content (the same S3 event delivered twice keeps one id, as on AWS; distinct events differ).
- S3 events name the object's ETag ``eTag``; AWS (and ``tailor.events.aws.S3Object``) say ``etag``.
- S3 events carry a constant ``sequencer`` → replaced with an increasing hex value per event.
- A JSON ``null`` ``version-id`` is dropped (AWS never sends null). moto sends the string
  ``"null"`` for unversioned buckets; that is left alone (AWS's behaviour there is unverified, and
  Tailor's buckets are versioned).

Pure Python: no AWS call, no heavy import.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from typing import Any

__all__ = ["MOTO_S3_EVENT_ID", "EventRepairs"]

#: moto.events.utils._BASE_EVENT_MESSAGE["id"]: the id of every S3 event moto emits.
MOTO_S3_EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103"
#: The constant ``detail.object.sequencer`` moto puts in S3 events.
MOTO_S3_SEQUENCER = "617f08299329d189"

_EVENT_NAMESPACE = uuid.UUID("0c4b6b0e-2f61-4d3a-8a57-51b8f6f0a1d2")
_EVENTBRIDGE_KEYS = frozenset({"detail-type", "source", "detail"})


def _fixed_moto_id() -> str:
    try:  # read it from moto when available: stays right if moto changes the constant
        from moto.events.utils import _BASE_EVENT_MESSAGE

        return str(_BASE_EVENT_MESSAGE["id"])
    except Exception:  # pragma: no cover - moto not installed or reorganised
        return MOTO_S3_EVENT_ID


class EventRepairs:
    """Repairs EventBridge-shaped message bodies; counts what it did (shown in the summary)."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.counts: Counter[str] = Counter()
        self._moto_id = _fixed_moto_id()
        # Increasing sequencers, stable per event id (a redelivery keeps its sequencer).
        self._sequencers: dict[str, str] = {}
        self._next_sequencer = itertools.count(time.time_ns() // 1000)

    def repair_body(self, body: str) -> str:
        """The body as AWS would have delivered it (unchanged when it is not an EventBridge event)."""
        try:
            event = json.loads(body)
        except ValueError:
            return body
        if not isinstance(event, dict) or not event.keys() >= _EVENTBRIDGE_KEYS:
            return body
        if not self.repair_event(event):
            return body
        return json.dumps(event)

    def repair_event(self, event: dict[str, Any]) -> bool:
        """Repair ``event`` in place; True when something changed."""
        changed = False
        if not event.get("account"):
            event["account"] = self.account_id
            self.counts["account filled in (EventBridge → SQS)"] += 1
            changed = True
        detail = event.get("detail")
        if event.get("source") == "aws.s3" and isinstance(detail, dict):
            changed = self._repair_s3(event, detail) or changed
        return changed

    def _repair_s3(self, event: dict[str, Any], detail: dict[str, Any]) -> bool:
        changed = False
        obj = detail.get("object")
        if isinstance(obj, dict):
            if "eTag" in obj and "etag" not in obj:
                obj["etag"] = obj.pop("eTag")
                self.counts["S3 detail.object.eTag renamed etag"] += 1
                changed = True
            if "version-id" in obj and obj["version-id"] is None:
                del obj["version-id"]
                self.counts["S3 null version-id dropped"] += 1
                changed = True
        if event.get("id") == self._moto_id:
            identity = {k: v for k, v in event.items() if k != "id"}
            event["id"] = str(uuid.uuid5(_EVENT_NAMESPACE, json.dumps(identity, sort_keys=True)))
            self.counts["S3 fixed event id replaced"] += 1
            changed = True
        if isinstance(obj, dict) and obj.get("sequencer") == MOTO_S3_SEQUENCER:
            event_id = str(event.get("id"))
            if event_id not in self._sequencers:
                self._sequencers[event_id] = f"{next(self._next_sequencer):018X}"
            obj["sequencer"] = self._sequencers[event_id]
            self.counts["S3 constant sequencer replaced"] += 1
            changed = True
        return changed
