"""What one reconcile cycle costs: Bedrock calls per cycle against the number of stale runs.

Builds N active runs in the in-memory runs table (SUBMITTED with a job in the fake Bedrock, some
VALIDATED and waiting for quota), marks a share of them stale, runs one cycle and counts every
Bedrock call by kind. Target (issue "Status service", item 3): calls per cycle <= stale
non-terminal runs, and no account-wide listing.

    .venv/bin/python benchmarks/reconcile_cost.py [--runs 1000] [--stale 0.2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))

from tailor.adapters.bedrock import InMemoryBedrock
from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.jobs.naming import job_name, request_token
from tailor.jobs.run import RunFacts, RunRecord
from tailor.jobs.state import RunStatus
from tailor.status.reconcile import reconcile
from tailor.status.service import StatusDeps

INTERVAL = timedelta(minutes=5)


class CountingBedrock(InMemoryBedrock):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def get_job(self, identifier: str) -> Any:
        self.calls["GetModelCustomizationJob"] += 1
        return super().get_job(identifier)

    def list_jobs(self, status: str) -> Any:
        self.calls["ListModelCustomizationJobs"] += 1
        return super().list_jobs(status)

    def tags_of(self, job_arn: str) -> dict[str, str]:
        self.calls["ListTagsForResource"] += 1
        return super().tags_of(job_arn)


def build(n: int, stale_share: float) -> tuple[StatusDeps, CountingBedrock, int]:
    runs, bedrock = InMemoryRunStore(), CountingBedrock()
    now = datetime.now(UTC) + timedelta(seconds=1)
    old = (now - INTERVAL - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    stale = 0
    for i in range(n):
        run_id = f"bench-{i:05d}-0123456789abcdef0123"
        waiting = i % 10 == 0  # one in ten is VALIDATED, waiting for quota (no job yet)
        record = RunRecord(run_id=run_id, label="bench", trigger_uri="s3://b/datasets/bench/job.json")
        runs.create(record)
        runs.transition(run_id, RunStatus.VALIDATED)
        if not waiting:
            name = job_name(run_id)
            arn = bedrock.create_job(
                {
                    "jobName": name,
                    "clientRequestToken": request_token(name),
                    "baseModelIdentifier": "amazon.nova-lite-v1:0:300k",
                }
            )
            runs.transition(run_id, RunStatus.SUBMITTED, facts=RunFacts(job_arn=arn, job_name=name))
        if i < n * stale_share:
            runs.records[run_id].updated_at = old
            stale += 1
    deps = StatusDeps(
        runs=runs, bus=InMemoryPublisher(), bedrock=bedrock, objects=InMemoryObjectStore(), now=now
    )
    return deps, bedrock, stale


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--stale", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    deps, bedrock, stale = build(args.runs, args.stale)
    bedrock.calls.clear()
    started = time.perf_counter()
    report = reconcile(deps, INTERVAL)
    seconds = time.perf_counter() - started
    total = sum(bedrock.calls.values())
    result = {
        "activeRuns": report.active,
        "staleRuns": stale,
        "bedrockCalls": total,
        "byKind": dict(bedrock.calls),
        "cycleSeconds": round(seconds, 3),
        "pass": total <= stale and bedrock.calls["ListModelCustomizationJobs"] == 0,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{report.active} active runs, {stale} stale: {total} Bedrock calls {dict(bedrock.calls)} "
            f"in {seconds:.3f} s — {'pass' if result['pass'] else 'MISS'} (target: calls <= stale runs)"
        )
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
