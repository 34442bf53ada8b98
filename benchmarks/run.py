"""Run every benchmark: ``make bench``. Each prints its own numbers and exits non-zero when it
misses its target; this runner reports them all, then fails if any missed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("cold start", [str(HERE / "coldstart.py")]),
    ("dataset validator", [str(HERE / "validator" / "run.py"), *sys.argv[1:]]),
    ("ingestion read path", [str(HERE / "ingestion_path.py")]),
    ("reconcile cost", [str(HERE / "reconcile_cost.py")]),
    ("edge export", [str(HERE / "edge_export.py")]),
    ("load (1,000 runs on the local stack, ~15 min)", [str(HERE / "load.py")]),
]


def main() -> int:
    missed = []
    for name, argv in BENCHMARKS:
        print(f"== {name} ==", flush=True)
        if subprocess.run([sys.executable, *argv], check=False).returncode:
            missed.append(name)
    if missed:
        print(f"missed target(s): {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
