"""Cold start: the cost of importing each handler module (what Lambda's INIT does), as a ratio to
a bare ``import boto3`` measured in the same run.

Each sample is a fresh interpreter that times only the import (interpreter start-up excluded);
the result is the median of several samples. Target: ratio <= 1.5 (issue "Foundation", item 8).

    .venv/bin/python benchmarks/coldstart.py [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every handler under services/: a new one is measured without editing this file.
HANDLERS = {p.parent.name: p.parent for p in sorted((ROOT / "services").glob("*/app.py"))}
TARGET_RATIO = 1.5
# Not a handler: what the submission handler's INIT would pay if it also imported the Kubernetes
# client (the HyperPod backend). Measured to show why HyperPod has its own function; not gated.
WHAT_IF = {"submission+kubernetes": ("submission", "import app; import kubernetes.client, kubernetes.config")}

_TIMER = """
import sys, time
sys.path[:0] = {paths!r}
t = time.perf_counter()
{statement}
print(time.perf_counter() - t)
"""


def sample(statement: str, paths: list[str], env: dict[str, str]) -> float:
    code = _TIMER.format(paths=paths, statement=statement)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"{statement!r} failed in a fresh interpreter:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, object]:
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Tailor",
    }
    shared = str(ROOT / "shared")
    # Warm the bytecode caches once so every sample measures imports, not compilation.
    sample("import boto3", [], env)
    for path in HANDLERS.values():
        sample("import app", [str(path), shared], env)
    for service, statement in WHAT_IF.values():
        sample(statement, [str(HANDLERS[service]), shared], env)
    # Interleave baseline and handler samples so machine noise hits both alike.
    baseline: list[float] = []
    handlers: dict[str, list[float]] = {name: [] for name in HANDLERS}
    what_if: dict[str, list[float]] = {name: [] for name in WHAT_IF}
    for _ in range(runs):
        baseline.append(sample("import boto3", [], env))
        for name, path in HANDLERS.items():
            handlers[name].append(sample("import app", [str(path), shared], env))
        for name, (service, statement) in WHAT_IF.items():
            what_if[name].append(sample(statement, [str(HANDLERS[service]), shared], env))
    base = statistics.median(baseline)
    result: dict[str, object] = {"runs": runs, "boto3_import_s": round(base, 4), "handlers": {}}
    for name, times in handlers.items():
        median = statistics.median(times)
        result["handlers"][name] = {  # type: ignore[index]
            "import_s": round(median, 4),
            "ratio_to_boto3": round(median / base, 2),
            "target": TARGET_RATIO,
            "ok": median / base <= TARGET_RATIO,
        }
    result["what_if"] = {
        name: {
            "import_s": round(statistics.median(t), 4),
            "ratio_to_boto3": round(statistics.median(t) / base, 2),
        }
        for name, t in what_if.items()
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"import boto3 (baseline): {result['boto3_import_s']:.3f} s (median of {args.runs})")
        for name, row in result["handlers"].items():  # type: ignore[attr-defined]
            verdict = "OK" if row["ok"] else "OVER TARGET"
            print(
                f"services/{name}/app.py: {row['import_s']:.3f} s = {row['ratio_to_boto3']:.2f}x boto3 "
                f"(target <= {TARGET_RATIO}x) {verdict}"
            )
        for name, row in result["what_if"].items():  # type: ignore[attr-defined]
            print(
                f"what if {name}: {row['import_s']:.3f} s = {row['ratio_to_boto3']:.2f}x boto3 "
                "(not a handler)"
            )
    return 0 if all(r["ok"] for r in result["handlers"].values()) else 1  # type: ignore[attr-defined]


if __name__ == "__main__":
    raise SystemExit(main())
