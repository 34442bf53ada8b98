"""Load: N dataset uploads (default 1,000; mixed techniques and models) on the embedded stack with
the SIMULATED Bedrock enforcing a 20-job concurrent quota. Prints the report as JSON; exits 1
unless exactly N runs and N jobs completed with no duplicate, no DLQ message and no handler error.

    .venv/bin/python benchmarks/load.py [N]
"""

from __future__ import annotations

import json
import sys

from tailor.local.load import run_load


def main() -> int:
    uploads = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    result = run_load(uploads, job_quota=20, timeout=3600.0)
    print(json.dumps(result.report(), indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
