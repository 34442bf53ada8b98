"""Load: N dataset uploads (default 1,000; mixed techniques and models) on the embedded stack with
the SIMULATED Bedrock enforcing a 20-job concurrent quota. Prints the report as JSON; exits 1
unless exactly N runs and N jobs completed with no duplicate, no DLQ message and no handler error.

    .venv/bin/python benchmarks/load.py [N] [--mode serial|concurrent|both]

``--mode`` picks the dispatcher: ``serial`` (in-process, one batch at a time), ``concurrent`` (a
poller per queue, handlers in worker processes — the default, as Lambda runs) or ``both``, back to
back in this process, with the throughput ratio (the gain of concurrent dispatch).
"""

from __future__ import annotations

import argparse
import json

from tailor.local.load import run_load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uploads", nargs="?", type=int, default=1000)
    parser.add_argument("--mode", choices=("serial", "concurrent", "both"), default="concurrent")
    args = parser.parse_args()
    modes = ("serial", "concurrent") if args.mode == "both" else (args.mode,)
    reports = {}
    ok = True
    for mode in modes:
        result = run_load(args.uploads, job_quota=20, timeout=3600.0, concurrent=mode == "concurrent")
        reports[mode] = result.report()
        ok = ok and result.ok
    if len(reports) == 2:
        serial, concurrent = reports["serial"]["seconds"], reports["concurrent"]["seconds"]
        reports["concurrentSpeedup"] = round(serial / concurrent, 2) if concurrent else None
    print(json.dumps(reports if len(modes) > 1 else reports[modes[0]], indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
