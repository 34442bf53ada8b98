"""``tailor local demo`` end to end, in-process: the story the README promises must happen — four
sample datasets from upload to a deployed model's answer and a device fleet, on the local stack."""

from __future__ import annotations

import io
import re

import orjson
import pytest

pytestmark = pytest.mark.e2e

STORY = {
    "support-bot": ["DatasetValidated", "JobSubmitted", "JobStatusChanged", "JobCompleted", "ModelDeployed"],
    "support-distill": [
        "DatasetValidated",
        "JobSubmitted",
        "JobStatusChanged",
        "JobCompleted",
        "EdgePackagePublished",
    ],
    # Trained on the SIMULATED HyperPod cluster and imported into Bedrock (without a cluster configured
    # it is refused: test_the_demo_without_hyperpod_refuses_cpt_honestly).
    "support-cpt": ["DatasetValidated", "JobSubmitted", "JobStatusChanged", "JobCompleted"],
    "support-broken": ["DatasetRejected"],
}


def test_the_demo_json_lines_tell_the_story() -> None:
    """``--json``: every bus event as received, each device outcome, and a last summary line."""
    from typer.testing import CliRunner

    from tailor.cli.local import local_app

    result = CliRunner().invoke(local_app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert {line["kind"] for line in lines} == {"event", "device", "summary"}
    assert lines[-1]["kind"] == "summary" and lines[-1]["ok"] is True
    summary = lines[-1]
    assert set(summary["runs"]) == set(STORY)
    assert all(check["ok"] for check in summary["checks"]), summary["checks"]

    events = [line["event"] for line in lines if line["kind"] == "event"]
    assert all(e["source"].startswith("tailor.") and e["detail"]["metadata"]["eventId"] for e in events)
    run_of = {run: name for name, run in summary["runs"].items()}
    seen: dict[str, list[str]] = {name: [] for name in STORY}
    for event in events:
        run = event["detail"]["data"].get("runId") or event["detail"]["metadata"].get("runId")
        seen[run_of[run]].append(event["detail-type"])
    for name, expected in STORY.items():
        # In order, each once, except the status changes (InProgress, then Completed).
        deduped = [t for i, t in enumerate(seen[name]) if i == 0 or seen[name][i - 1] != t]
        assert deduped == expected, (name, seen[name])
    assert seen["support-bot"].count("JobStatusChanged") == 2

    by_type = {e["detail-type"]: e["detail"]["data"] for e in events}
    cpt_run = summary["runs"]["support-cpt"]
    cpt_done = next(
        e["detail"]["data"]
        for e in events
        if e["detail-type"] == "JobCompleted" and e["detail"]["data"]["runId"] == cpt_run
    )
    assert cpt_done["backend"] == "sagemaker-hyperpod" and cpt_done["requiresProvisionedThroughput"] is True
    assert "custom-model/imported/" in cpt_done["outputModelArn"]
    rejected = by_type["DatasetRejected"]
    assert {(e["line"], e["code"]) for e in rejected["errors"]} >= {
        (2, "json_invalid"),
        (4, "role_order"),
        (5, "reserved_token"),
    }
    published = by_type["EdgePackagePublished"]
    assert (
        published["fidelity"]["passed"]
        and published["sizes"]["modelBytes"] < published["sizes"]["sourceBytes"]
    )

    devices = [line for line in lines if line["kind"] == "device"]
    assert {(d["profile"], d["status"]) for d in devices} == {
        ("linux-x86_64", "SUCCEEDED"),
        ("linux-aarch64", "REJECTED"),
    }
    assert all(d["version"] == published["version"] for d in devices if d["status"] == "SUCCEEDED")
    assert summary["answer"]["simulated"] is True and summary["answer"]["text"]


def test_the_demo_reads_well_at_80_columns() -> None:
    """Every line fits 80 columns; run ids are printed whole; SIMULATED parts say so."""
    from rich.console import Console

    from tailor.local.demo import run_demo

    out = io.StringIO()
    result = run_demo(Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    assert result.ok, "\n".join(f"{c.what}: {c.detail}" for c in result.checks if not c.ok) + "\n" + text
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(line for line in lines if len(line) > 80)
    for words in (
        "Bedrock training: SIMULATED",
        "IoT Jobs data plane: SIMULATED",
        "JobCompleted",
        "EdgePackagePublished",
        "SUCCEEDED linux-x86_64",
        "REJECTED linux-aarch64",
        "SIMULATED HyperPod",
        "imported into Bedrock as custom model",
        "needs Provisioned Throughput",
        "json_invalid",
        "The story happened",
    ):
        assert words in " ".join(text.split()), words  # a long line folds: compare the words
    assert re.search(r"JobCompleted\s+completed, loss \d\.\d{3} [▁▂▃▄▅▆▇█]+", text), text
    assert "simulated" in text.lower()


def test_the_demo_without_hyperpod_refuses_cpt_honestly() -> None:
    """``--no-hyperpod``: no cluster configured, so the CPT corpus is refused with the real path."""
    from typer.testing import CliRunner

    from tailor.cli.local import local_app

    result = CliRunner().invoke(local_app, ["demo", "--json", "--no-hyperpod"])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    summary = lines[-1]
    assert summary["ok"] is True, summary["checks"]
    cpt_run = summary["runs"]["support-cpt"]
    cpt = [
        line["event"]
        for line in lines
        if line["kind"] == "event" and line["event"]["detail"]["data"].get("runId") == cpt_run
    ]
    assert [e["detail-type"] for e in cpt] == ["DatasetValidated", "JobSubmissionFailed"]
    refused = cpt[-1]["detail"]["data"]
    assert refused["errorCode"] == "technique_not_on_bedrock" and "HyperPod" in refused["hint"]
