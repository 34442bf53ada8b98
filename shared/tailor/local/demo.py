"""``tailor local demo`` (what ``make demo`` runs): the whole story on a fresh embedded stack.

The sample datasets shipped in ``samples/demo/`` are uploaded the way a user uploads them (data
files first, job.json last) and every event on the Tailor bus is shown as it happens:

- ``support-bot``: multi-turn support conversations → validated → estimated → submitted → trained
  (Bedrock training is SIMULATED locally) → completed with its loss curve → deployed on demand
  (SIMULATED) → one answer from the deployed model (SIMULATED, labelled);
- ``support-distill``: prompts for distillation Nova Premier → Nova Lite, with an ``edge`` section:
  on completion the compact **open** intent classifier (``tailor.edge.sample``; never a Nova model)
  is quantized, gated, signed and rolled out to the ``demo-fleet`` thing group; each simulated
  device runs the real agent against the local IoT Jobs data plane (a local stand-in);
- ``support-cpt``: a continued pre-training corpus: Nova CPT runs on SageMaker HyperPod, not
  Bedrock, so it trains as a PyTorchJob on the SIMULATED HyperPod cluster (a Kubernetes API
  emulation) and its checkpoint is imported into Bedrock (``CreateCustomModel``); with
  ``hyperpod=False`` (no cluster configured) it is refused honestly instead;
- ``support-broken``: three mistakes on known lines → rejected with a line-numbered report.

``DemoResult.ok`` is True when every expected step happened (``checks``); ``--json`` prints the
events, the device outcomes and the summary as JSON lines instead of the timeline.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.local.devices import DeviceOutcome, DeviceSimulator
    from tailor.local.stack import LocalStack

__all__ = ["BROKEN_LINES", "DATASETS", "DemoResult", "good_dataset", "job_spec", "run_demo", "samples_dir"]

FT, DISTILL, CPT, BROKEN = "support-bot", "support-distill", "support-cpt", "support-broken"
DATASETS = (FT, DISTILL, CPT, BROKEN)
FLEET_GROUP = "demo-fleet"
QUESTION = "Where is my order AC-10422?"
#: The mistakes in samples/demo/support-broken/train.jsonl: line → code.
BROKEN_LINES = {2: "json_invalid", 4: "role_order", 5: "reserved_token"}
_STUDENT = "intent-student.onnx"
HYPERPOD_CYCLES = 5  # polls until the simulated PyTorchJob succeeds, plus one for the import


def samples_dir() -> Path:
    """``samples/demo`` of the repository this package runs from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "samples" / "demo"
        if (candidate / FT / "job.json").is_file():
            return candidate
    raise FileNotFoundError("samples/demo not found: run the demo from a checkout of the repository")


def good_dataset() -> bytes:
    """The support-bot training set: valid multi-turn records (for tests that need a real dataset)."""
    return (samples_dir() / FT / "train.jsonl").read_bytes()


def job_spec() -> bytes:
    """A minimal fine-tuning job.json for ``good_dataset()`` (no validation file, no deployment)."""
    spec = {
        "specVersion": "1",
        "technique": "fine-tuning",
        "baseModel": "nova-lite",
        "training": "train.jsonl",
    }
    return json.dumps(spec).encode() + b"\n"


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class DemoResult:
    checks: list[Check] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    runs: dict[str, str] = field(default_factory=dict)  # dataset name → run id
    dead_letters: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(what, ok, detail))

    def of(self, dataset: str, detail_type: str) -> list[dict[str, Any]]:
        run_id = self.runs.get(dataset)
        return [e for e in self.events if e.get("detail-type") == detail_type and _run_id(e) == run_id]

    def summary(self) -> dict[str, Any]:
        return {
            "kind": "summary",
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "runs": self.runs,
            "events": len(self.events),
            "checks": [{"what": c.what, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "answer": self.answer,
            "devices": self.devices,
        }


# -- reading events ----------------------------------------------------------------------------------


def _data(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    data = detail.get("data") if isinstance(detail, dict) else None
    return data if isinstance(data, dict) else {}


def _run_id(event: dict[str, Any]) -> str:
    metadata = (event.get("detail") or {}).get("metadata") or {}
    return str(_data(event).get("runId") or metadata.get("runId") or "")


def _dataset_of(event: dict[str, Any]) -> str | None:
    trigger = str((_data(event).get("dataset") or {}).get("triggerUri", ""))
    for name in DATASETS:
        if f"/datasets/{name}/" in trigger:
            return name
    return None


# -- the story ---------------------------------------------------------------------------------------


class Story:
    """Plays the demo against a started stack; ``on_event``/``on_device`` see each as it happens."""

    def __init__(
        self,
        stack: LocalStack,
        workdir: Path,
        *,
        on_event: Callable[[dict[str, Any], DemoResult], None],
        on_device: Callable[[dict[str, Any]], None],
        on_answer: Callable[[dict[str, Any]], None],
        timeout: float,
        hyperpod: bool = False,
    ) -> None:
        self.stack = stack
        self.hyperpod = hyperpod
        self.workdir = workdir
        self.on_event = on_event
        self.on_device = on_device
        self.on_answer = on_answer
        self.timeout = timeout
        self.result = DemoResult()

    def _settle(self, rounds: int = 6) -> None:
        """Dispatch until idle and show what reached the bus; again while something new arrives
        (a held deployment, an export after a completion)."""
        for _ in range(rounds):
            idle = self.stack.run_until_idle(timeout=self.timeout)
            self.result.errors += list(idle.errors)
            for queue, count in idle.dead_lettered.items():
                self.result.dead_letters[queue] = self.result.dead_letters.get(queue, 0) + count
            fresh = self.stack.published_events()
            for event in fresh:
                name = _dataset_of(event)
                if name and name not in self.result.runs:
                    self.result.runs[name] = _run_id(event)
                self.result.events.append(event)
                self.on_event(event, self.result)
            if not fresh:
                return

    def upload(self, samples: Path) -> None:
        from tailor.edge.sample import build_intent_classifier

        student = build_intent_classifier(self.workdir / "student")  # the open model, not Nova
        for name in DATASETS:
            folder = samples / name
            spec = folder / "job.json"
            for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name != "job.json"):
                self.stack.upload(f"datasets/{name}/{path.name}", path.read_bytes())
            if name == DISTILL:  # beside job.json, as its edge section names them
                self.stack.upload(f"datasets/{name}/{_STUDENT}", student.read_bytes())
                self.stack.upload(
                    f"datasets/{name}/golden.json", (student.parent / "golden.json").read_bytes()
                )
            self.stack.upload(f"datasets/{name}/job.json", spec.read_bytes(), content_type="application/json")

    def train(self) -> None:
        self.stack.bedrock_simulator.finish()  # SIMULATED: jobs run to their end now
        self._settle()
        if self.hyperpod:
            # SIMULATED HyperPod: each reconcile poll moves a PyTorchJob one step (Created →
            # Running → Succeeded); the cycle after success imports the checkpoint.
            for _ in range(HYPERPOD_CYCLES):
                self.stack.reconcile_hyperpod()
                self._settle()

    def ask(self) -> None:
        from tailor.adapters.deployments import BedrockRuntime

        deployed = self.result.of(FT, "ModelDeployed")
        if not deployed:
            return
        answer = BedrockRuntime().converse(str(_data(deployed[0]).get("deploymentArn")), QUESTION)
        self.result.answer = {"question": QUESTION, "text": answer.text, "simulated": answer.simulated}
        self.on_answer(self.result.answer)

    def devices(self, fleet: DeviceSimulator) -> None:
        for outcome in fleet.run_once_all():
            line = _device_line(outcome)
            self.result.devices.append(line)
            self.on_device(line)

    def play(self, samples: Path, fleet: DeviceSimulator) -> DemoResult:
        started = time.monotonic()
        self.upload(samples)
        self._settle()
        self.train()
        self.ask()
        self.devices(fleet)
        self.result.seconds = time.monotonic() - started
        _check(self.result, hyperpod=self.hyperpod)
        return self.result


def _device_line(outcome: DeviceOutcome) -> dict[str, Any]:
    return {
        "kind": "device",
        "thing": outcome.thing_name,
        "profile": outcome.profile,
        "status": outcome.outcome.status.value,
        "version": outcome.outcome.version or outcome.current_version,
        "reason": outcome.outcome.reason,
    }


def _check(result: DemoResult, *, hyperpod: bool = False) -> None:
    def one(dataset: str, detail_type: str) -> dict[str, Any] | None:
        found = result.of(dataset, detail_type)
        return _data(found[0]) if len(found) == 1 else None

    for dataset, expected in (
        (FT, ("DatasetValidated", "JobSubmitted", "JobCompleted", "ModelDeployed")),
        (DISTILL, ("DatasetValidated", "JobSubmitted", "JobCompleted", "EdgePackagePublished")),
        (
            CPT,
            ("DatasetValidated", "JobSubmitted", "JobCompleted")
            if hyperpod
            else ("DatasetValidated", "JobSubmissionFailed"),
        ),
        (BROKEN, ("DatasetRejected",)),
    ):
        missing = [t for t in expected if one(dataset, t) is None]
        result.check(
            f"{dataset}: {' → '.join(expected)}",
            not missing,
            "missing " + ", ".join(missing) if missing else "",
        )
    completed = one(FT, "JobCompleted") or {}
    curve = (completed.get("trainingMetrics") or {}).get("curve") or []
    result.check(f"{FT}: completed with a loss curve", len(curve) > 1, f"{len(curve)} points")
    if hyperpod:
        cpt = one(CPT, "JobCompleted") or {}
        result.check(
            f"{CPT}: trained on the SIMULATED HyperPod cluster, imported into Bedrock",
            cpt.get("backend") == "sagemaker-hyperpod"
            and "custom-model/imported/" in str(cpt.get("outputModelArn", ""))
            and bool(cpt.get("requiresProvisionedThroughput")),
            str(cpt.get("outputModelArn", "")),
        )
    else:
        refused = one(CPT, "JobSubmissionFailed") or {}
        result.check(
            f"{CPT}: refused honestly (HyperPod, not Bedrock)",
            "HyperPod" in f"{refused.get('message', '')} {refused.get('hint', '')}",
            str(refused.get("errorCode", "")),
        )
    rejected = one(BROKEN, "DatasetRejected") or {}
    found = {(e.get("line"), e.get("code")) for e in rejected.get("errors") or []}
    missing_lines = [f"{line}:{code}" for line, code in BROKEN_LINES.items() if (line, code) not in found]
    result.check(f"{BROKEN}: each mistake named with its line", not missing_lines, ", ".join(missing_lines))
    answer = result.answer or {}
    result.check(
        f"{FT}: the deployed model answered (SIMULATED)",
        bool(answer.get("text")) and bool(answer.get("simulated")),
    )
    published = one(DISTILL, "EdgePackagePublished") or {}
    fidelity = published.get("fidelity") or {}
    result.check(
        "edge package: int8, fidelity gate passed",
        bool(fidelity.get("passed")),
        f"{fidelity.get('metric')} {fidelity.get('value', 0):.4f}" if fidelity else "",
    )
    installed = [d for d in result.devices if d["status"] == "SUCCEEDED"]
    refused_devices = [d for d in result.devices if d["profile"] != "linux-x86_64"]
    result.check(
        "x86 devices installed the package with the real agent",
        bool(installed)
        and all(d["version"] == published.get("version") for d in installed)
        and len(installed) == len(result.devices) - len(refused_devices),
        f"{len(installed)} of {len(result.devices)}",
    )
    result.check(
        "the aarch64 device refused the x86-only package (REJECTED)",
        bool(refused_devices) and all(d["status"] == "REJECTED" for d in refused_devices),
    )
    dead = {k: v for k, v in result.dead_letters.items() if v}
    result.check("nothing dead-lettered", not dead, ", ".join(f"{k}={v}" for k, v in dead.items()))
    result.check(
        "no handler error", not result.errors, result.errors[-1].splitlines()[0] if result.errors else ""
    )


# -- telling it (80 columns) -------------------------------------------------------------------------


def _event_text(event: dict[str, Any]) -> tuple[str, str]:
    """(style, a few words) for the timeline."""
    from tailor.cli.status import sparkline
    from tailor.hyperpod.settings import BACKEND as HYPERPOD_BACKEND
    from tailor.hyperpod.settings import is_hyperpod_job

    kind, data = str(event.get("detail-type")), _data(event)
    if kind == "DatasetValidated":
        records = data.get("records") or {}
        return (
            "green",
            f"valid: {records.get('training')} training records, ~{data.get('tokenEstimate')} tokens",
        )
    if kind == "DatasetRejected":
        first = "; ".join(
            f"{str(e.get('file') or '?').rsplit('/', 1)[-1]}:{e.get('line') or '-'} {e.get('code')}"
            for e in (data.get("errors") or [])[:3]
        )
        return "red", f"rejected: {first}"
    if kind == "JobSubmitted":
        estimate = data.get("estimate") or {}
        usd = estimate.get("estimatedUsd")
        tokens = f"{estimate.get('trainingTokens', 0):,} tokens x {estimate.get('epochs', '?')} epochs"
        cost = (
            f"~${float(usd):.2f}" if isinstance(usd, int | float) else "no price known (TRAINING_PRICES_JSON)"
        )
        if is_hyperpod_job(data.get("jobArn")):  # HyperPod bills instance-hours, not tokens
            return "green", f"{data.get('technique')} on HyperPod: {cost} in instance-hours (estimate)"
        return "green", f"{data.get('technique')}: {tokens}, {cost}"
    if kind == "JobSubmissionFailed":
        return "yellow", f"not submitted ({data.get('errorCode')}): {data.get('hint') or data.get('message')}"
    if kind == "JobStatusChanged":
        where = "HyperPod" if is_hyperpod_job(data.get("jobArn")) else "training"
        return "dim", f"{data.get('previousStatus') or '·'} → {data.get('status')} (SIMULATED {where})"
    if kind == "JobCompleted" and data.get("backend") == HYPERPOD_BACKEND:
        model = str(data.get("outputModelArn", "")).rsplit("/", 1)[-1]
        needs = "; needs Provisioned Throughput" if data.get("requiresProvisionedThroughput") else ""
        return "green", f"imported into Bedrock as custom model {model}{needs}"
    if kind == "JobCompleted":
        metrics = data.get("trainingMetrics") or {}
        curve = [float(p["loss"]) for p in metrics.get("curve") or [] if "loss" in p]
        final = metrics.get("finalLoss")
        loss = f"loss {final:.3f} " if isinstance(final, int | float) else ""
        return "green", f"completed, {loss}{sparkline(curve, 24)}"
    if kind == "ModelDeployed":
        return "green", "deployed on demand (SIMULATED)"
    if kind == "EdgePackagePublished":
        sizes, fidelity = data.get("sizes") or {}, data.get("fidelity") or {}
        ratio = sizes.get("modelBytes", 0) / max(1, sizes.get("sourceBytes", 1))
        return "green", (
            f"edge {data.get('name')} {data.get('version')}: int8 {ratio:.0%} of fp32, "
            f"cosine {fidelity.get('cosine', 0):.4f}, signed, IoT job"
        )
    if kind == "EdgeExportFailed":
        return "red", f"edge export failed at {data.get('stage')}: {data.get('errorCode')}"
    return "", kind


class Timeline:
    """Prints each event, answer and device outcome as one line as soon as it happens."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()

    def _line(self, who: str, what: str, text: str, style: str) -> None:
        """``stamp who what text`` on one line when it fits, else the text folded below it."""
        import textwrap

        from rich.markup import escape

        head = f"{time.monotonic() - self.started:5.1f}s {who:<15} "
        width = max(40, self.console.width)
        if len(head) + len(what) + 1 + len(text) <= width:
            lines = [text]
            first = f"{escape(head)}[bold]{escape(what)}[/] "
        else:
            lines = textwrap.wrap(text, width - 7) or [""]
            self.console.print(f"{escape(head)}[bold]{escape(what)}[/]")
            first = " " * 7
        for index, line in enumerate(lines):
            styled = f"[{style}]{escape(line)}[/]" if style else escape(line)
            self.console.print((first if index == 0 else " " * 7) + styled, soft_wrap=True)

    def event(self, event: dict[str, Any], result: DemoResult) -> None:
        name = next((n for n, run in result.runs.items() if run == _run_id(event)), _run_id(event)[:15])
        style, text = _event_text(event)
        self._line(name, str(event.get("detail-type")), text, style)

    def answer(self, answer: dict[str, Any]) -> None:
        text = " ".join(str(answer["text"]).split())[:200]  # locally it says it is simulated
        self._line(FT, "Converse", f"Q: {answer['question']} A: {text}", "")

    def device(self, device: dict[str, Any]) -> None:
        style = {"SUCCEEDED": "green", "REJECTED": "yellow"}.get(device["status"], "red")
        version = f" {device['version']}" if device.get("version") else ""
        reason = f" ({device['reason']})" if device.get("reason") and device["status"] != "SUCCEEDED" else ""
        self._line(device["thing"], device["status"], f"{device['profile']}{version}{reason}", style)


class JsonLines:
    """``--json``: each bus event as received, each device outcome, then the summary."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def event(self, event: dict[str, Any], result: DemoResult) -> None:
        import orjson

        self.write(orjson.dumps({"kind": "event", "event": event}).decode())

    def device(self, device: dict[str, Any]) -> None:
        import orjson

        self.write(orjson.dumps(device).decode())

    def answer(self, answer: dict[str, Any]) -> None:
        return None  # the answer is in the summary's checks; JSON lines carry bus events only


def _render_summary(console: Console, result: DemoResult) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Summary", box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("", no_wrap=True, width=1)
    table.add_column("step")
    for check in result.checks:
        detail = f" [dim]({escape(check.detail)})[/]" if check.detail else ""
        table.add_row("[green]✓[/]" if check.ok else "[red]✗[/]", escape(check.what) + detail)
    console.print(table)


def run_demo(
    console: Console | None = None,
    *,
    template: str | Path | None = None,
    time_scale: float = 0.001,
    timeout: float = 60.0,
    as_json: bool = False,
    write: Callable[[str], None] | None = None,
    hyperpod: bool = True,
) -> DemoResult:
    """Tell the story on ``console`` (or as JSON lines through ``write``) and return what happened."""
    import orjson
    from rich.console import Console

    from tailor.local.bedrock_sim import SimulatorConfig
    from tailor.local.deployments_sim import DeploymentConfig
    from tailor.local.devices import DeviceSimulator
    from tailor.local.stack import LocalStack

    console = console or Console()
    reporter: Timeline | JsonLines
    if as_json:
        reporter = JsonLines(write or (lambda line: print(line, flush=True)))
    else:
        reporter = Timeline(console)
        console.rule("[bold]Tailor local demo[/]")
        console.print("Starting the embedded stack from template.yaml …")
    samples = samples_dir()
    with (
        tempfile.TemporaryDirectory(prefix="tailor-demo-") as scratch,
        LocalStack(
            template,
            time_scale=time_scale,
            simulate_bedrock=SimulatorConfig.exact(job_quota=4),
            deployments=DeploymentConfig(active_after_gets=1),
            simulate_hyperpod=hyperpod,
        ) as stack,
    ):
        fleet = DeviceSimulator(
            Path(scratch) / "devices",
            jobs_endpoint=stack.jobs_data_plane.url,
            public_key_pem=stack.edge_public_key_pem(),
            region=stack.region,
        )
        fleet.register(stack.client("iot"), FLEET_GROUP)
        if not as_json:
            for line in stack.summary().short()[1:-1]:
                console.print(line, markup=False)
            console.print(
                f"Uploading {', '.join(DATASETS)} from samples/demo (job.json last) and "
                f"registering {len(fleet.devices)} simulated devices in thinggroup/{FLEET_GROUP} …"
            )
            console.print()
        story = Story(
            stack,
            Path(scratch),
            on_event=reporter.event,
            on_device=reporter.device,
            on_answer=reporter.answer,
            timeout=timeout,
            hyperpod=hyperpod,
        )
        result = story.play(samples, fleet)
    if isinstance(reporter, JsonLines):
        reporter.write(orjson.dumps(result.summary()).decode())
        return result
    console.print()
    _render_summary(console, result)
    if result.ok:
        console.print(
            f"[bold green]The story happened[/] in {result.seconds:.0f} s. Next: `tailor local up`, then "
            "`tailor submit samples/demo/support-bot --wait` in another shell (docs/quickstart.md)."
        )
    else:
        console.print("[bold red]The story did not happen as told: see the ✗ steps above.[/]")
    return result
