"""Validator benchmark: throughput, peak RSS and the targets of the validation issue.

    python benchmarks/validator/run.py [--aws-validator PATH] [--repeat 3] [--data DIR]

Every timing is the best of ``--repeat`` runs of a fresh process (``tailor validate`` as users
run it), wall clock, with the files already in the page cache. Peak RSS comes from ``wait4`` on
that process. The targets:

  (a) CPT corpus: CLI throughput excluding start-up (its time on the corpus minus its time on a
      one-line file) >= 50% of a plain ``orjson.loads``-per-line loop over the same file, timed
      in this process; peak RSS < 200 MB.
  (b) per-record cost >= 20x lower than AWS's sample validator, both measured as
      (time on 200,000 records - time on 20,000 records) / 180,000. Pass the validator's path
      (it is not part of this repository): customization/bedrock-finetuning/understanding/
      dataset_validation/nova_ft_dataset_validator.py in aws-samples/amazon-nova-samples.
  (c) the whole CLI on 20,000 records < 0.5 s, start-up included.

Large local files are validated on every core (tailor.datasets.parallel); the sequential numbers
(TAILOR_VALIDATE_WORKERS=1, what the ingestion Lambda does) are reported beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DEFAULT_OUT, generate

CLI = [sys.executable, "-m", "tailor.cli.main", "validate"]
SEQUENTIAL = {"TAILOR_VALIDATE_WORKERS": "1"}


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float
    exit_code: int


def run(command: list[str], repeat: int, env: dict[str, str] | None = None) -> Run:
    """Best wall time of ``repeat`` fresh processes; the largest peak RSS seen."""
    best, rss, code = float("inf"), 0.0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        best = min(best, elapsed)
        rss = max(rss, usage.ru_maxrss / 1024)  # KiB on Linux
        code = process.returncode
    return Run(best, rss, code)


def validate_cmd(path: Path, technique: str) -> list[str]:
    return [*CLI, str(path), "--technique", technique, "--model", "nova-lite", "--json"]


def orjson_loop(path: Path, repeat: int) -> float:
    """The raw parse loop the issue compares against: best of ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with path.open("rb") as handle:
            loads = orjson.loads
            for line in handle:
                loads(line)
        best = min(best, time.perf_counter() - started)
    return best


def warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


def lines_in(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    system = f"{platform.system()} {platform.release()}"
    return f"{model}, {cores} cores, Python {platform.python_version()}, {system}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aws-validator", type=Path, help="path to AWS's nova_ft_dataset_validator.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cpt-mb", type=int, default=200)
    args = parser.parse_args()

    files = generate(args.data, args.cpt_mb, [20_000, 200_000])
    for path in files.values():
        warm(path)
    cpt, cpt_1, ft_20k, ft_200k = (files[k] for k in ("cpt", "cpt_1", "ft_20000", "ft_200000"))
    rows: list[tuple[str, str, str]] = []
    verdicts: list[str] = []
    print(f"# {machine()}, {dt.date.today().isoformat()}\n")

    # (a) CPT throughput vs the raw orjson loop
    cpt_mb = cpt.stat().st_size / 1e6
    cpt_records = lines_in(cpt)
    raw = orjson_loop(cpt, args.repeat)
    start_cpt = run(validate_cmd(cpt_1, "continued-pre-training"), args.repeat)
    for label, env in (("", None), (" (sequential)", SEQUENTIAL)):
        full = run(validate_cmd(cpt, "continued-pre-training"), args.repeat, env)
        work = full.seconds - start_cpt.seconds
        ratio = raw / work
        rows.append(
            (
                f"CPT {cpt_mb:.0f} MB, {cpt_records:,} records{label}",
                f"{full.seconds:.3f} s total, {work:.3f} s excl. start-up: {cpt_mb / work:,.0f} MB/s, "
                f"{cpt_records / work:,.0f} records/s, peak RSS {full.max_rss_mb:.0f} MB",
                f"{ratio:.0%} of the raw loop",
            )
        )
        verdicts.append(
            f"(a){label} throughput {ratio:.0%} of raw (target >= 50%): "
            f"{'PASS' if ratio >= 0.5 else 'FAIL'}; "
            f"peak RSS {full.max_rss_mb:.0f} MB (target < 200): {'PASS' if full.max_rss_mb < 200 else 'FAIL'}"
        )
    rows.append(
        ("raw orjson loop, same corpus", f"{raw:.3f} s: {cpt_mb / raw:,.0f} MB/s", "in-process, best of runs")
    )
    rows.append(
        ("CLI start-up (one-line CPT file)", f"{start_cpt.seconds:.3f} s", f"{start_cpt.max_rss_mb:.0f} MB")
    )

    # (b) per-record cost vs AWS's validator; (c) whole CLI on 20k records
    ours_20k = run(validate_cmd(ft_20k, "fine-tuning"), args.repeat)
    human_20k = run([*validate_cmd(ft_20k, "fine-tuning")[:-1]], args.repeat)
    ft_mb = ft_20k.stat().st_size / 1e6
    rows.append(
        (
            "fine-tuning, 20,000 records (whole CLI, --json)",
            f"{ours_20k.seconds:.3f} s: {20_000 / ours_20k.seconds:,.0f} records/s, "
            f"{ft_mb / ours_20k.seconds:,.0f} MB/s, peak RSS {ours_20k.max_rss_mb:.0f} MB",
            f"human output: {human_20k.seconds:.3f} s",
        )
    )
    verdicts.append(
        f"(c) whole CLI on 20,000 records {ours_20k.seconds:.3f} s / human {human_20k.seconds:.3f} s "
        f"(target < 0.5 s): {'PASS' if max(ours_20k.seconds, human_20k.seconds) < 0.5 else 'FAIL'}"
    )
    per_record: dict[str, float] = {}
    for label, env in (("", None), (" (sequential)", SEQUENTIAL)):
        big = run(validate_cmd(ft_200k, "fine-tuning"), args.repeat, env)
        small = run(validate_cmd(ft_20k, "fine-tuning"), args.repeat, env)
        cost = (big.seconds - small.seconds) / 180_000
        per_record[label] = cost
        rows.append(
            (
                f"fine-tuning per record{label}",
                f"{cost * 1e6:.2f} µs ((200k - 20k) / 180k); peak RSS {big.max_rss_mb:.0f} MB at 200k",
                f"{1 / cost:,.0f} records/s",
            )
        )
    if args.aws_validator:
        aws = [sys.executable, str(args.aws_validator), "-m", "lite", "-t", "sft", "-i"]
        aws_big = run([*aws, str(ft_200k)], max(1, args.repeat - 1))
        aws_small = run([*aws, str(ft_20k)], max(1, args.repeat - 1))
        aws_cost = (aws_big.seconds - aws_small.seconds) / 180_000
        rows.append(
            (
                "AWS sample validator per record",
                f"{aws_cost * 1e6:.1f} µs; 20k records in {aws_small.seconds:.2f} s",
                f"peak RSS {aws_big.max_rss_mb:.0f} MB at 200k",
            )
        )
        for label, cost in per_record.items():
            ratio = aws_cost / cost
            verdicts.append(
                f"(b){label} per-record cost {ratio:.1f}x lower than AWS's (target >= 20x): "
                f"{'PASS' if ratio >= 20 else 'FAIL'}"
            )
    else:
        verdicts.append("(b) not measured: pass --aws-validator PATH")

    print("| measurement | result | note |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for verdict in verdicts:
        print("- " + verdict)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
