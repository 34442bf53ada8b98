"""The Bedrock simulator: local customization jobs that train — a SIMULATION, not AWS.

moto creates model customization jobs that stay ``InProgress`` forever, write nothing and emit no
events (aws-facts §6). With the simulator on (``tailor local up``: on by default;
``LocalStack(simulate_bedrock=True)``: opt-in), every job of the stack's moto Bedrock:

1. **advances** over ``job_seconds``: ``InProgress`` with sub-task progress in ``statusDetails``
   (``validationDetails`` → ``dataProcessingDetails`` → ``trainingDetails``, each
   ``NotStarted | InProgress | Completed``) → ``Completed`` (or its steered fate, below), with
   ``lastModifiedTime``, ``endTime``, ``outputModelArn``
   (``arn:aws:bedrock:<region>:<account>:custom-model/<base model id>/<12 [a-z0-9]>``),
   ``outputModelName`` and ``trainingMetrics``/``validationMetrics``; ``failureMessage`` when it
   fails. The state lives on moto's own job objects, so the normal boto3 API
   (``GetModelCustomizationJob`` by name or ARN, ``List…``) reads it;
2. **writes the metrics CSVs** where Bedrock does (aws-facts §1 "Output artifacts"), under
   ``<outputDataConfig.s3Uri>/model-customization-job-<job id>/``:
   ``training_artifacts/step_wise_training_metrics.csv`` (a decreasing, noisy loss curve, 40 to 200
   steps over the job's ``epochCount``) and, only when the job has a ``validationDataConfig``, a
   ``validation_metrics.csv`` under ``validation_artifacts/`` in one of the two documented layouts
   (``validation_layout``: by a hash of the job name, or the job tag ``tailor:simulate-layout``);
3. **emits Bedrock's events** — ``source: aws.bedrock``, ``detail-type: Model Customization Job
   State Change`` on the default bus (``put_events``), detail ``jobStatus`` (not ``status``) and
   the other fields aws-facts lists — once per status change, some of them **late** (held for
   ``late_ticks`` ticks) or **duplicated** (sent twice), decided by ``seed``;
4. **enforces a concurrent-job quota**: a new ``CreateModelCustomizationJob`` while ``job_quota``
   jobs are ``InProgress`` or ``Stopping`` raises ``ServiceQuotaExceededException``;
5. makes ``StopModelCustomizationJob`` go ``InProgress → Stopping → Stopped`` (moto: straight to
   ``Stopped``), and lets the local-only job tag ``tailor:simulate`` steer a job's fate:
   ``complete`` (default), ``fail``, ``stop`` (as if stopped midway), ``lose-events`` (Bedrock
   emits nothing for it: only a reconciling poll sees it end).

Driving it. ``step(now)`` is one tick: every job moves to where its timeline is at ``now``, then the
events due are put. ``advance(job, stages=1)`` moves job(s) a given number of stages regardless of
time; ``finish(job)`` runs job(s) to their end and delivers every held event. ``tailor local up``
(``LocalStack.serve``) calls ``tick()``, a ``step()`` every ``tick_seconds``. With
``late_probability=0`` and ``duplicate_probability=0`` (``SimulatorConfig.exact()``), or a fixed
``seed``, everything is deterministic.

Not like AWS: durations are seconds, not hours; the loss curve is invented; no model is trained, so
nothing can invoke the "custom model"; ``statusDetails`` are given for every customization type (AWS
documents them for distillation); a duplicated event has a new ``id`` (moto assigns ids; AWS's
redeliveries keep theirs); a ``StopModelCustomizationJob`` on an ended job answers
``ValidationException`` (unverified on AWS). See ``docs/local-stack.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tailor.local import moto_atomic, moto_bedrock

__all__ = [
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE",
    "FATES",
    "LAYOUT_TAG",
    "SIMULATE_TAG",
    "TRAINING_CSV_KEY",
    "VALIDATION_CSV_KEYS",
    "BedrockSimulator",
    "SimulatedEvent",
    "SimulatedJob",
    "SimulatorConfig",
    "custom_model_arn",
    "loss_curve",
    "validation_layout",
]

EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
#: The local-only job tag that steers a job's simulated fate.
SIMULATE_TAG = "tailor:simulate"
#: The local-only job tag that picks the validation CSV's layout (``nested`` or ``flat``).
LAYOUT_TAG = "tailor:simulate-layout"
FATES = ("complete", "fail", "stop", "lose-events")
TRAINING_CSV_KEY = "training_artifacts/step_wise_training_metrics.csv"
#: The two layouts aws-facts §1 documents (docs and AWS samples disagree on one folder level).
VALIDATION_CSV_KEYS = {
    "nested": "validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
    "flat": "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
}
_ACTIVE = ("InProgress", "Stopping")
_TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
_SUBTASKS = ("validationDetails", "dataProcessingDetails", "trainingDetails")
LABEL = "SIMULATED by the Tailor local stack"


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator behaves (``tailor local up --job-seconds/--job-quota/--bedrock-seed``)."""

    #: Seconds from creation to the end of a job (sub-tasks take 15 % / 20 % / 65 % of it).
    job_seconds: float = 6.0
    #: Jobs that may be InProgress (or Stopping) at once; one more create → ServiceQuotaExceeded.
    job_quota: int = 2
    #: Chance that an event is held back and put ``late_ticks`` ticks later (after newer ones).
    late_probability: float = 0.25
    #: Chance that an event is put twice.
    duplicate_probability: float = 0.25
    late_ticks: int = 2
    #: Seeds the late/duplicate draws (None: a random seed, shown by ``describe``).
    seed: int | None = None
    #: ``tick()`` steps at most this often (``tailor local up``).
    tick_seconds: float = 0.5
    #: Seconds a job stays ``Stopping`` after ``StopModelCustomizationJob``.
    stop_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.job_seconds <= 0:
            raise ValueError("job_seconds must be > 0")
        if self.job_quota < 1:
            raise ValueError("job_quota must be >= 1")
        for name in ("late_probability", "duplicate_probability"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.late_ticks < 1:
            raise ValueError("late_ticks must be >= 1")
        if self.tick_seconds < 0 or self.stop_seconds < 0:
            raise ValueError("tick_seconds and stop_seconds must be >= 0")

    @classmethod
    def exact(cls, **overrides: Any) -> SimulatorConfig:
        """No late and no duplicated events (for tests that count events)."""
        values: dict[str, Any] = {"late_probability": 0.0, "duplicate_probability": 0.0, "seed": 0}
        values.update(overrides)
        return cls(**values)

    def describe(self) -> str:
        events = []
        if self.late_probability:
            events.append("late")
        if self.duplicate_probability:
            events.append("duplicated")
        how = "sometimes " + "/".join(events) if events else "always on time, never duplicated"
        return f"jobs advance in {self.job_seconds:g} s, quota {self.job_quota}, events {how}"


@dataclass(frozen=True)
class _Stage:
    #: Fraction of ``job_seconds`` after creation when the stage is reached.
    at: float
    status: str
    validation: str
    data: str
    training: str

    def subtasks(self) -> tuple[str, str, str]:
        return (self.validation, self.data, self.training)


_RUNNING = (
    _Stage(0.0, "InProgress", "InProgress", "NotStarted", "NotStarted"),
    _Stage(0.15, "InProgress", "Completed", "InProgress", "NotStarted"),
    _Stage(0.35, "InProgress", "Completed", "Completed", "InProgress"),
)
_TIMELINES: dict[str, tuple[_Stage, ...]] = {
    "complete": (*_RUNNING, _Stage(1.0, "Completed", "Completed", "Completed", "Completed")),
    "fail": (*_RUNNING, _Stage(0.6, "Failed", "Completed", "Completed", "Failed")),
    "stop": (
        *_RUNNING,
        _Stage(0.5, "Stopping", "Completed", "Completed", "Stopping"),
        _Stage(0.55, "Stopped", "Completed", "Completed", "Stopped"),
    ),
}
_TIMELINES["lose-events"] = _TIMELINES["complete"]


@dataclass
class SimulatedJob:
    """The simulator's view of one job (read it, don't change it)."""

    name: str
    arn: str
    job_id: str
    fate: str
    started: datetime
    #: (due time, stage); ``stage`` indexes it.
    timeline: list[tuple[datetime, _Stage]]
    stage: int = -1
    last_modified: datetime | None = None
    #: S3 URIs of the CSVs written on completion.
    metrics: list[str] = field(default_factory=list)
    #: Statuses in the order the job went through them.
    history: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.timeline[self.stage][1].status if self.stage >= 0 else "InProgress"

    @property
    def done(self) -> bool:
        return self.stage >= len(self.timeline) - 1

    @property
    def emits_events(self) -> bool:
        return self.fate != "lose-events"


@dataclass(frozen=True)
class SimulatedEvent:
    """One ``put_events`` of a Bedrock state-change event (a duplicate is a second one)."""

    job_name: str
    job_arn: str
    status: str
    detail: dict[str, Any]
    time: datetime
    late: bool = False
    duplicate: bool = False
    #: The tick it was put on; the EventBridge id moto gave it.
    tick: int = 0
    event_id: str | None = None


def _unit(*parts: object) -> float:
    """A deterministic draw in [0, 1) from ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _tags(job: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in getattr(job, "job_tags", None) or []:
        if isinstance(tag, Mapping) and "key" in tag:
            tags[str(tag["key"])] = str(tag.get("value", ""))
    return tags


def validation_layout(job_name: str, tags: Mapping[str, str] | None = None) -> str:
    """``nested`` (…/post_fine_tuning_validation/validation/validation_metrics.csv) or ``flat``
    (…/post_fine_tuning_validation/validation_metrics.csv): the job tag ``tailor:simulate-layout``
    if set to one of them, else the first byte of sha256(job name): even → nested, odd → flat."""
    wanted = (tags or {}).get(LAYOUT_TAG)
    if wanted in VALIDATION_CSV_KEYS:
        return wanted
    return "nested" if hashlib.sha256(job_name.encode()).digest()[0] % 2 == 0 else "flat"


def _base_model_id(identifier: str) -> str:
    return identifier.split("foundation-model/", 1)[-1] if identifier.startswith("arn:") else identifier


def custom_model_arn(partition: str, region: str, account: str, base_model: str, job_name: str) -> str:
    """``arn:<p>:bedrock:<region>:<account>:custom-model/<base model id>/<12 [a-z0-9]>``."""
    digest = hashlib.sha256(f"custom-model/{account}/{region}/{job_name}".encode()).hexdigest()
    model_id = "".join(c for c in digest if c.isalnum())[:12]
    return f"arn:{partition}:bedrock:{region}:{account}:custom-model/{_base_model_id(base_model)}/{model_id}"


def _epochs(hyper_parameters: Mapping[str, Any] | None) -> int:
    raw = (hyper_parameters or {}).get("epochCount", "2")
    try:
        return max(1, min(5, int(float(str(raw)))))
    except ValueError:
        return 2


def loss_curve(job_name: str, epochs: int, *, validation: bool = False) -> list[tuple[int, int, float]]:
    """``(step_number, epoch_number, loss)`` rows (1-based steps and epochs): 40 to 200 steps, an
    exponentially decreasing loss with noise; ``validation=True``: every ~10th step, a little above
    the training curve. Deterministic per job name."""
    rng = random.Random(hashlib.sha256(f"loss/{job_name}".encode()).digest())
    per_epoch = 20 + rng.randrange(21)
    total = max(40, min(200, per_epoch * epochs))
    per_epoch = math.ceil(total / epochs)
    start, floor, rate = 2.2 + 0.8 * rng.random(), 0.35 + 0.3 * rng.random(), 3.0 + 1.5 * rng.random()

    def smooth(step: int) -> float:
        return floor + (start - floor) * math.exp(-rate * step / total)

    rows: list[tuple[int, int, float]] = []
    if validation:
        every = max(1, total // 10)
        noise = random.Random(hashlib.sha256(f"validation/{job_name}".encode()).digest())
        for step in [*range(every, total, every), total]:
            loss = smooth(step) * 1.06 + 0.04 + noise.gauss(0, 0.015)
            rows.append((step, (step - 1) // per_epoch + 1, round(max(0.05, loss), 6)))
        return rows
    for step in range(1, total + 1):
        loss = smooth(step) + rng.gauss(0, 0.03 + 0.05 * math.exp(-3 * step / total))
        rows.append((step, (step - 1) // per_epoch + 1, round(max(0.05, loss), 6)))
    return rows


def _csv(rows: Iterable[tuple[int, int, float]], loss_column: str) -> str:
    lines = [f"step_number,epoch_number,{loss_column},perplexity"]
    lines += [f"{step},{epoch},{loss:.6f},{math.exp(loss):.4f}" for step, epoch, loss in rows]
    return "\n".join(lines) + "\n"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> datetime:
    return datetime.now(UTC)


class BedrockSimulator:
    """Advances the jobs of moto's Bedrock (one account and region). See the module docstring.

    ``events`` and ``s3`` are boto3 clients for the local stack's endpoint (``LocalStack.client``).
    """

    def __init__(
        self,
        *,
        events: Any,
        s3: Any,
        region: str,
        account_id: str,
        config: SimulatorConfig | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.config = config or SimulatorConfig()
        if self.config.seed is None:
            self.config = replace(self.config, seed=random.SystemRandom().randrange(2**32))
        self.events = events
        self.s3 = s3
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.ticks = 0
        #: Every event put so far, in order (duplicates and late ones included).
        self.emitted: list[SimulatedEvent] = []
        #: What the simulator could not do (an unknown fate tag, a failed put_events…).
        self.notes: list[str] = []
        self._jobs: dict[str, SimulatedJob] = {}  # by job name
        self._pending: list[SimulatedEvent] = []  # changed, not yet decided
        self._held: list[tuple[int, SimulatedEvent]] = []  # (due tick, late event)
        self._occurrences: dict[tuple[str, str], int] = {}
        # Lock order: moto's request lock (moto_atomic), then this one — moto's Bedrock hooks run
        # inside a request. Nothing here calls moto over HTTP while holding either (it would wait
        # for a server thread that waits for the lock): S3 writes and events go out after.
        self._lock = threading.RLock()
        self._writes: list[tuple[str, str, bytes]] = []  # (bucket, key, body) due before the next put
        self._last_tick = 0.0
        self._installed = False

    @property
    def seed(self) -> int:
        return int(self.config.seed or 0)

    # -- hooks into moto's Bedrock (tailor.local.moto_bedrock) ----------------------------------------

    def install(self) -> None:
        """Hook into the repaired Bedrock handlers (quota, new jobs, Stop)."""
        if not moto_bedrock.installed():
            raise RuntimeError("the Bedrock simulator needs the moto_bedrock repairs installed")
        moto_bedrock.set_hooks(self)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            moto_bedrock.set_hooks(None)
            self._installed = False

    def before_create(self, backend: Any, params: dict[str, Any]) -> None:
        with self._lock:
            active = [j for j in backend.model_customization_jobs.values() if j.status in _ACTIVE]
            if len(active) >= self.config.job_quota:
                raise moto_bedrock.service_quota_exceeded(
                    f"Too many model customization jobs in progress: {len(active)} of this account's "
                    f"quota of {self.config.job_quota} ({LABEL}: tailor local up --job-quota). "
                    "Wait for a job to end, then retry."
                )

    def created(self, backend: Any, job: Any) -> None:
        with self._lock:
            if job.job_name not in self._jobs:
                self._adopt(job, self.clock())

    def stop(self, backend: Any, job: Any) -> bool:
        with self._lock:
            sim = self._jobs.get(job.job_name) or self._adopt(job, self.clock())
            status = sim.status
            if status == "Stopping":
                return True
            if status in _TERMINAL:
                raise moto_bedrock.validation_error(
                    f"Job {job.job_name} cannot be stopped: its status is {status} ({LABEL})"
                )
            now = self.clock()
            current = sim.timeline[sim.stage][1]
            stopping = tuple("Stopping" if s == "InProgress" else s for s in current.subtasks())
            stopped = tuple("Stopped" if s == "Stopping" else s for s in stopping)
            later = now + timedelta(seconds=self.config.stop_seconds)
            sim.timeline = [
                *sim.timeline[: sim.stage + 1],
                (now, _Stage(current.at, "Stopping", *stopping)),
                (later, _Stage(current.at, "Stopped", *stopped)),
            ]
            self._apply(sim, job, now)
            return True

    # -- driving --------------------------------------------------------------------------------------

    def tick(self) -> list[SimulatedEvent]:
        """A ``step()`` if ``tick_seconds`` have passed since the last one (``LocalStack.serve``)."""
        if time.monotonic() - self._last_tick < self.config.tick_seconds:
            return []
        self._last_tick = time.monotonic()
        return self.step()

    def step(self, now: datetime | None = None) -> list[SimulatedEvent]:
        """One tick: every job moves to where its timeline is at ``now`` (default: the clock), then
        the events due are put on the default bus. Returns the events put."""
        now = now or self.clock()
        with moto_atomic.exclusive(), self._lock:
            backend = self._backend()
            for job in list(backend.model_customization_jobs.values()):
                if job.job_name not in self._jobs and getattr(job, "tailor_job_id", None) is None:
                    continue  # being created in moto's thread: not repaired yet (its hook adopts it)
                sim = self._jobs.get(job.job_name) or self._adopt(job, now)
                while not sim.done and sim.timeline[sim.stage + 1][0] <= now:
                    self._apply(sim, job, now)
        return self._deliver()

    def advance(self, job: str | None = None, *, stages: int = 1) -> list[SimulatedEvent]:
        """Move ``job`` (name or ARN; default: every unfinished job) ``stages`` stages along its fate
        whatever the time, then deliver as ``step`` does. Returns the events put."""
        now = self.clock()
        with moto_atomic.exclusive(), self._lock:
            for sim, moto_job in self._targets(job, now):
                for _ in range(stages):
                    if sim.done:
                        break
                    self._apply(sim, moto_job, now)
        return self._deliver()

    def finish(self, job: str | None = None, *, deliver_late: bool = True) -> list[SimulatedEvent]:
        """Run ``job`` (default: every job) to its end now; then (``deliver_late``) put every held
        event too. Returns the events put."""
        now = self.clock()
        with moto_atomic.exclusive(), self._lock:
            for sim, moto_job in self._targets(job, now):
                while not sim.done:
                    self._apply(sim, moto_job, now)
        put = self._deliver()
        return put + self.flush() if deliver_late else put

    def flush(self) -> list[SimulatedEvent]:
        """Put every held (late) event now."""
        with self._lock:
            held, self._held = [event for _, event in self._held], []
        return self._put(held)

    # -- reading --------------------------------------------------------------------------------------

    def job(self, identifier: str) -> SimulatedJob:
        """A job by name or ARN (KeyError if the simulator has not seen it)."""
        with self._lock:
            if identifier in self._jobs:
                return self._jobs[identifier]
            for sim in self._jobs.values():
                if sim.arn == identifier:
                    return sim
        raise KeyError(identifier)

    def jobs(self) -> list[SimulatedJob]:
        with self._lock:
            return list(self._jobs.values())

    @property
    def held(self) -> list[SimulatedEvent]:
        """Late events not put yet."""
        with self._lock:
            return [event for _, event in self._held]

    def describe(self) -> str:
        return f"{self.config.describe()} (seed {self.seed})"

    # -- internals ------------------------------------------------------------------------------------

    def _backend(self) -> Any:
        from moto.bedrock.models import bedrock_backends

        return bedrock_backends[self.account_id][self.region]

    def _targets(self, identifier: str | None, now: datetime) -> list[tuple[SimulatedJob, Any]]:
        backend = self._backend()
        if identifier is None:
            jobs = list(backend.model_customization_jobs.values())
        else:
            found = moto_bedrock.find_job(backend, identifier)
            if found is None:
                raise KeyError(f"no Bedrock job {identifier!r}")
            jobs = [found]
        return [(self._jobs.get(j.job_name) or self._adopt(j, now), j) for j in jobs]

    def _adopt(self, job: Any, now: datetime) -> SimulatedJob:
        tags = _tags(job)
        fate = tags.get(SIMULATE_TAG, "complete") or "complete"
        if fate not in FATES:
            self.notes.append(f"{job.job_name}: {SIMULATE_TAG}={fate!r} is not one of {FATES}; it completes")
            fate = "complete"
        seconds = self.config.job_seconds
        timeline = [(now + timedelta(seconds=stage.at * seconds), stage) for stage in _TIMELINES[fate]]
        job_id = getattr(job, "tailor_job_id", None) or str(job.job_arn).rsplit("/", 1)[-1]
        sim = SimulatedJob(job.job_name, job.job_arn, job_id, fate, now, timeline)
        self._jobs[job.job_name] = sim
        if job.status in _TERMINAL:  # ended before the simulator saw it (moto's own Stop)
            sim.stage = len(timeline) - 1
            sim.history.append(job.status)
        else:
            self._apply(sim, job, now)
        return sim

    def _apply(self, sim: SimulatedJob, job: Any, now: datetime) -> None:
        """Move ``sim`` to its next stage, on moto's job object too."""
        previous = sim.timeline[sim.stage][1] if sim.stage >= 0 else None
        sim.stage += 1
        stage = sim.timeline[sim.stage][1]
        moment = now if sim.last_modified is None else max(now, sim.last_modified + timedelta(milliseconds=1))
        sim.last_modified = moment
        stamp = _iso(moment)
        if stage.status == "Completed":
            stage = self._complete(sim, job, stage)
        job.status = stage.status
        job.last_modified_time = stamp
        details: dict[str, dict[str, str]] = dict(getattr(job, "tailor_status_details", None) or {})
        for name, status, before in zip(
            _SUBTASKS, stage.subtasks(), previous.subtasks() if previous else (None,) * 3, strict=True
        ):
            entry = dict(details.get(name) or {})
            if status != before or not entry:
                entry["status"] = status
                if status != "NotStarted":
                    entry.setdefault("creationTime", stamp)
                    entry["lastModifiedTime"] = stamp
            details[name] = entry
        job.tailor_status_details = details
        if stage.status in _TERMINAL:
            job.end_time = stamp
            if stage.status != "Completed":
                self._drop_model(job)
        if stage.status == "Failed" and not getattr(job, "tailor_failure", None):
            job.failure_message = (
                f"{LABEL} (job tag {SIMULATE_TAG}=fail): the training sub-task failed; no real training ran."
            )
        sim.history.append(stage.status)
        if (previous is None or previous.status != stage.status) and sim.emits_events:
            self._pending.append(SimulatedEvent(sim.name, sim.arn, stage.status, self._detail(job), moment))

    def _complete(self, sim: SimulatedJob, job: Any, stage: _Stage) -> _Stage:
        """Write the CSVs and the model; a failed write fails the job, as on AWS."""
        partition = str(job.job_arn).split(":", 2)[1]
        try:
            training, validation = self._write_metrics(sim, job)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            job.tailor_failure = True
            job.failure_message = (
                f"{LABEL}: could not write to the output location {job.output_data_config.get('s3Uri')} "
                f"({code})."
            )
            failed = _Stage(stage.at, "Failed", stage.validation, stage.data, "Failed")
            sim.timeline[sim.stage] = (sim.timeline[sim.stage][0], failed)
            return failed
        job.output_model_name = job.custom_model_name
        job.output_model_arn = custom_model_arn(
            partition, self.region, self.account_id, job.base_model_identifier, job.job_name
        )
        job.training_metrics = {"trainingLoss": training}
        job.validation_metrics = [{"validationLoss": validation}] if validation is not None else []
        model = self._backend().custom_models.get(job.custom_model_name)
        if model is not None:
            model.model_arn = job.output_model_arn
            model.training_metrics = job.training_metrics
            model.validation_metrics = job.validation_metrics or None
        return stage

    def _drop_model(self, job: Any) -> None:
        """A failed or stopped job makes no custom model (moto made one at creation)."""
        models = self._backend().custom_models
        model = models.get(job.custom_model_name)
        if model is not None and getattr(model, "job_name", None) == job.job_name:
            del models[job.custom_model_name]

    def _write_metrics(self, sim: SimulatedJob, job: Any) -> tuple[float, float | None]:
        uri = str(job.output_data_config["s3Uri"])
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        base = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
        base += f"model-customization-job-{sim.job_id}/"
        epochs = _epochs(job.hyper_parameters)
        rows = loss_curve(job.job_name, epochs)
        written = [(TRAINING_CSV_KEY, _csv(rows, "training_loss"))]
        validation: float | None = None
        if job.validation_data_config and job.validation_data_config.get("validators"):
            checks = loss_curve(job.job_name, epochs, validation=True)
            layout = validation_layout(job.job_name, _tags(job))
            written.append((VALIDATION_CSV_KEYS[layout], _csv(checks, "validation_loss")))
            validation = checks[-1][2]
        # The bucket is checked here (moto's S3 in this process: no HTTP under the locks); the
        # objects are written by _deliver, before the event that announces them.
        from moto.s3.models import s3_backends

        s3_backends[self.account_id]["aws"].get_bucket(bucket)  # MissingBucket fails the job
        for key, text in written:
            self._writes.append((bucket, base + key, text.encode()))
            sim.metrics.append(f"s3://{bucket}/{base}{key}")
        return rows[-1][2], validation

    def _detail(self, job: Any) -> dict[str, Any]:
        """The event's ``detail`` as aws-facts §1 lists it; fields only in the states AWS sends them."""
        status = job.status
        detail: dict[str, Any] = {
            "jobName": job.job_name,
            "jobArn": job.job_arn,
            "jobStatus": status,
            "outputModelName": job.custom_model_name,
            "roleArn": job.role_arn,
            "creationTime": moto_bedrock.to_iso(job.creation_time),
            "lastModifiedTime": moto_bedrock.to_iso(job.last_modified_time),
            "baseModelArn": job.base_model_arn,
            "hyperParameters": dict(job.hyper_parameters or {}),
            "trainingDataConfig": job.training_data_config,
            "outputDataConfig": job.output_data_config,
        }
        if job.validation_data_config:
            detail["validationDataConfig"] = job.validation_data_config
        if status == "Completed":
            detail["outputModelArn"] = job.output_model_arn
        if status == "Failed":
            detail["failureMessage"] = job.failure_message
        if status in _TERMINAL:
            detail["endTime"] = moto_bedrock.to_iso(job.end_time)
        copied: dict[str, Any] = json.loads(json.dumps(detail))
        return copied

    def _deliver(self) -> list[SimulatedEvent]:
        """A tick: decide late/duplicate for the fresh events, put what is due (outside the lock)."""
        config = self.config
        with self._lock:
            self.ticks += 1
            tick = self.ticks
            due = [event for when, event in self._held if when <= tick]
            self._held = [(when, event) for when, event in self._held if when > tick]
            fresh, self._pending = self._pending, []
            for event in fresh:
                key = (event.job_name, event.status)
                seen = self._occurrences[key] = self._occurrences.get(key, 0) + 1
                if _unit(self.seed, "late", event.job_name, event.status, seen) < config.late_probability:
                    self._held.append((tick + config.late_ticks, replace(event, late=True)))
                    continue
                due.append(event)
                if _unit(self.seed, "dup", event.job_name, event.status, seen) < config.duplicate_probability:
                    due.append(replace(event, duplicate=True))
            writes, self._writes = self._writes, []
        for bucket, metrics_key, body in writes:
            try:
                self.s3.put_object(Bucket=bucket, Key=metrics_key, Body=body, ContentType="text/csv")
            except Exception as error:
                self.notes.append(f"s3://{bucket}/{metrics_key}: put_object failed: {error}")
        return self._put(due)

    def _put(self, events: list[SimulatedEvent]) -> list[SimulatedEvent]:
        put: list[SimulatedEvent] = []
        for event in events:
            entry = {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(event.detail),
                "Resources": [event.job_arn],
                "Time": event.time,
                "EventBusName": "default",
            }
            try:
                answer = self.events.put_events(Entries=[entry])
                event_id = (answer.get("Entries") or [{}])[0].get("EventId")
                if answer.get("FailedEntryCount"):
                    raise RuntimeError(str(answer.get("Entries")))
            except Exception as error:
                self.notes.append(f"{event.job_name} {event.status}: put_events failed: {error}")
                continue
            done = replace(event, tick=self.ticks, event_id=event_id)
            put.append(done)
            with self._lock:
                self.emitted.append(done)
        return put
