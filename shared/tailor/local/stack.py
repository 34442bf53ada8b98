"""``LocalStack``: the whole of Tailor on one machine, built from ``template.yaml``.

    with LocalStack() as stack:               # moto server + resources + dispatcher
        stack.upload("datasets/x/train.jsonl", data)
        stack.upload("datasets/x/job.json", spec)
        stack.run_until_idle()
        events = stack.published_events()

One stack per process at a time: moto keeps its state in process-wide backends.
See ``docs/local-stack.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from tailor.local.dispatcher import Dispatcher, IdleSummary
from tailor.local.moto_gaps import EventRepairs
from tailor.local.provision import (
    CREATED,
    LOCAL,
    OBSERVER_ID,
    SKIPPED,
    Provisioner,
    QueueInfo,
)
from tailor.local.scheduler import Firing, Scheduler
from tailor.local.summary import Part, ResourceLine, StackSummary

if TYPE_CHECKING:
    from tailor.local.bedrock_sim import BedrockSimulator, SimulatorConfig
    from tailor.local.deployments_sim import DeploymentConfig, DeploymentSimulator
    from tailor.local.hyperpod_sim import SimulatedHyperPodCluster
    from tailor.local.iot_jobs import LocalJobsDataPlane

__all__ = ["DEFAULT_TIME_SCALE", "LocalStack", "LocalStackError", "find_template"]

#: Default factor on visibility timeouts (a 180 s timeout becomes 1.8 s locally).
DEFAULT_TIME_SCALE = 0.01
LOCAL_HYPERPOD_CLUSTER = "tailor-local-hyperpod"  # SIMULATED: no EKS cluster exists locally
LOCAL_HYPERPOD_ESCROW = "tailor-local-hyperpod-escrow"
HYPERPOD_FUNCTION = "HyperPodFunction"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Variables that could send a boto3 call anywhere but the local server; removed while a stack runs.
_UNSAFE_ENV_PREFIXES = ("AWS_ENDPOINT_URL_",)
_UNSAFE_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)
# Names of the contract's resource variables (docs/CONTRACTS.md) a client needs.
_CLIENT_VARIABLES = (
    "TAILOR_BUS_NAME",
    "DATA_BUCKET",
    "ARTIFACTS_BUCKET",
    "RUNS_TABLE",
    "IDEMPOTENCY_TABLE",
    "EXPORTS_TABLE",
)

_ACTIVE_LOCK = threading.Lock()
_ACTIVE: LocalStack | None = None


class LocalStackError(RuntimeError):
    """The local stack cannot do what was asked (not started, unknown resource…)."""


def find_template(start: Path | None = None) -> Path:
    """``template.yaml`` in ``start`` (default: the working directory) or a parent, else the repo's."""
    candidates = [start or Path.cwd()]
    candidates += list(candidates[0].resolve().parents)
    candidates.append(Path(__file__).resolve().parents[3])  # shared/tailor/local → repository root
    for directory in candidates:
        if (directory / "template.yaml").is_file():
            return directory / "template.yaml"
    raise LocalStackError("template.yaml not found in the working directory, its parents or the repository")


class LocalStack:
    """The embedded local stack; a context manager. See the module docstring."""

    def __init__(
        self,
        template: str | Path | Mapping[str, Any] | None = None,
        *,
        stack_name: str = "tailor-local",
        region: str = "us-east-1",
        parameter_values: Mapping[str, Any] | None = None,
        code_root: str | Path | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        observer: bool = True,
        enforce_timeouts: bool = True,
        echo_logs: TextIO | None = None,
        port: int = 0,
        repair_bedrock: bool = True,
        functions: Iterable[str] | None = None,
        simulate_bedrock: bool | SimulatorConfig = False,
        job_seconds: float | None = None,
        job_quota: int | None = None,
        deployments: DeploymentConfig | None = None,
        simulate_hyperpod: bool = False,
        concurrent: bool = False,
        pollers_per_source: int = 1,
    ) -> None:
        """
        template: a path to a SAM/CloudFormation template (default: ``find_template()``), or a dict
            (SAM or already transformed). ``code_root`` is where ``CodeUri`` paths are relative to
            (default: the template's directory, or the working directory for a dict).
        time_scale: factor on visibility timeouts (and, in ``serve``, on rate schedules if asked).
        echo_logs: a stream to copy handler output to (``tailor local up`` uses stdout).
        functions: dispatch only these functions' event sources (logical ids; default: all). The
            others' queues still receive their events, but nothing consumes them — e.g. an
            ingestion-only test that must not see submission's effects.
        repair_bedrock: make moto's Bedrock answer like AWS while the stack runs
            (``tailor.local.moto_bedrock``); ``False`` only to observe moto itself (test_moto_facts).
        simulate_bedrock: run the Bedrock simulator (``tailor.local.bedrock_sim``): ``True`` for its
            defaults, or a ``SimulatorConfig``. Off by default here (``tailor local up``: on); when on,
            tests drive it through ``stack.bedrock_simulator`` (``step``/``advance``/``finish``) and
            ``serve`` ticks it. ``job_seconds`` / ``job_quota`` override the config's values.
        simulate_hyperpod: run a SIMULATED SageMaker HyperPod cluster (``tailor.local.hyperpod_sim``:
            a Kubernetes API emulation on loopback) and deploy the template with
            ``HyperPodClusterName`` set, so Nova continued pre-training runs end to end; tests drive
            it through ``stack.hyperpod_cluster``.
        concurrent: play Lambda's concurrency — a poller thread per event source (``pollers_per_source``
            each) and handlers in worker processes (``tailor.local.workers``), so a backlog on one
            queue does not stall the others. Off by default: in-process handlers can be monkeypatched
            by tests, workers cannot. moto takes one request at a time either way (``moto_atomic``).
        deployments: how the SIMULATED Bedrock deployments and runtime behave
            (``tailor.local.deployments_sim.DeploymentConfig``; always on with ``repair_bedrock``):
            tests drive them through ``stack.deployment_simulator``.
        """
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.template_source = template
        self.stack_name = stack_name
        self.region = region
        self.account_id = "123456789012"  # moto's default account
        self.parameter_values = dict(parameter_values or {})
        self.code_root = Path(code_root) if code_root is not None else None
        self.time_scale = time_scale
        self.observer = observer
        self.enforce_timeouts = enforce_timeouts
        self.echo_logs = echo_logs
        self.port = port
        self.repair_bedrock = repair_bedrock
        self.only_functions = None if functions is None else frozenset(functions)
        self.simulator_config = self._simulator_config(simulate_bedrock, job_seconds, job_quota)
        if self.simulator_config is not None and not repair_bedrock:
            raise ValueError("simulate_bedrock needs repair_bedrock=True")
        self._bedrock_sim: BedrockSimulator | None = None
        self._bedrock_patched = False
        self.deployment_config = deployments
        self._deployment_sim: DeploymentSimulator | None = None
        self._jobs_plane: LocalJobsDataPlane | None = None
        self.simulate_hyperpod = simulate_hyperpod
        self.concurrent = concurrent
        self.pollers_per_source = pollers_per_source
        if simulate_hyperpod:
            self.parameter_values.setdefault("HyperPodClusterName", LOCAL_HYPERPOD_CLUSTER)
        self._hyperpod: SimulatedHyperPodCluster | None = None
        self.endpoint_url = ""
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._provisioner: Provisioner | None = None
        self._dispatcher: Dispatcher | None = None
        self._scheduler: Scheduler | None = None
        self._events: list[dict[str, Any]] = []
        self._clients: dict[str, Any] = {}
        self._observer_repairs = EventRepairs(self.account_id)
        self.startup_seconds = 0.0

    @staticmethod
    def _simulator_config(
        simulate: bool | SimulatorConfig, job_seconds: float | None, job_quota: int | None
    ) -> SimulatorConfig | None:
        if simulate is False:
            if job_seconds is not None or job_quota is not None:
                raise ValueError("job_seconds and job_quota need simulate_bedrock")
            return None
        from dataclasses import replace

        from tailor.local.bedrock_sim import SimulatorConfig

        config = SimulatorConfig() if simulate is True else simulate
        if job_seconds is not None:
            config = replace(config, job_seconds=job_seconds)
        if job_quota is not None:
            config = replace(config, job_quota=job_quota)
        return config

    # -- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LocalStack:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is not None:
                raise LocalStackError(
                    "another LocalStack is running in this process (moto's state is process-wide): "
                    "stop it first"
                )
            _ACTIVE = self
        started = time.monotonic()
        try:
            self._start_server()
            from tailor.local import moto_atomic, moto_kms

            moto_atomic.install()  # one moto request at a time, as AWS applies each atomically

            moto_kms.install()  # KMS Sign with MessageType=DIGEST, as AWS does it (edge manifests)
            if self.repair_bedrock:
                from tailor.local import moto_bedrock

                moto_bedrock.install()
                self._bedrock_patched = True
                from tailor.local.deployments_sim import DeploymentSimulator

                self._deployment_sim = DeploymentSimulator(self.deployment_config)
                self._deployment_sim.install()
            self._set_environment()
            if self.simulate_hyperpod:
                self._start_hyperpod()
            self._provision()
            if self._hyperpod is not None:
                self._wire_hyperpod()
            if self.simulator_config is not None:
                from tailor.local.bedrock_sim import BedrockSimulator

                self._bedrock_sim = BedrockSimulator(
                    events=self.client("events"),
                    s3=self.client("s3"),
                    region=self.region,
                    account_id=self.account_id,
                    config=self.simulator_config,
                )
                self._bedrock_sim.install()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start_server(self) -> None:
        from moto.server import ThreadedMotoServer

        # Request lines at INFO would drown the output; errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._moto_reset()

    def _moto_reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def _start_hyperpod(self) -> None:
        from tailor.local.hyperpod_sim import SimulatedHyperPodCluster

        s3 = self.client("s3")
        s3.create_bucket(Bucket=LOCAL_HYPERPOD_ESCROW)

        def write_object(uri: str, body: bytes) -> None:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            s3.put_object(Bucket=bucket, Key=key, Body=body)

        self._hyperpod = SimulatedHyperPodCluster(write_object, escrow_bucket=LOCAL_HYPERPOD_ESCROW)
        self._hyperpod.start()
        from tailor.local import moto_hub

        moto_hub.install()  # SIMULATED SageMaker Public Hub (DescribeHubContent) with the template
        moto_hub.publish_template(s3)

    def _wire_hyperpod(self) -> None:
        """Point the HyperPod function at the simulated cluster's API instead of DescribeCluster's."""
        assert self._hyperpod is not None and self._provisioner is not None
        function = self._provisioner.functions.get(HYPERPOD_FUNCTION)
        if function is None:
            raise LocalStackError(
                f"simulate_hyperpod: the template has no {HYPERPOD_FUNCTION} (HyperPodClusterName unset?)"
            )
        function.environment["HYPERPOD_K8S_ENDPOINT"] = self._hyperpod.url
        self._provisioner.note(
            HYPERPOD_FUNCTION,
            f"SIMULATED HyperPod cluster {LOCAL_HYPERPOD_CLUSTER}: Kubernetes API emulation at "
            f"{self._hyperpod.url} (training is simulated; the access entry and RBAC are not played)",
        )

    def _stop_server(self) -> None:
        """Stop moto's server without waiting out its serve_forever poll (0.5 s): poke it awake."""
        stopper = threading.Thread(target=self._server.stop, daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):  # any connection wakes the server's select()
                socket.create_connection(self._server.get_host_and_port(), timeout=1).close()
            stopper.join(0.02)

    def _set_environment(self) -> None:
        from tailor.adapters.aws import reset_clients

        overrides: dict[str, str | None] = dict.fromkeys(_UNSAFE_ENV)
        overrides.update({k: None for k in os.environ if k.startswith(_UNSAFE_ENV_PREFIXES)})
        overrides.update(FAKE_CREDENTIALS)
        overrides.update(
            {
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        self._saved_env = {k: os.environ.get(k) for k in overrides}
        for key, value in overrides.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_clients()

    def _restore_environment(self) -> None:
        from tailor.adapters.aws import reset_clients

        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        reset_clients()

    def _load_template(self) -> tuple[dict[str, Any], Path]:
        from tailor.local.sam_transform import load_template, transform_template

        source = self.template_source
        if source is None:
            source = find_template()
        if isinstance(source, str | Path):
            path = Path(source).resolve()
            base = self.code_root or path.parent
            loaded: Mapping[str, Any] = load_template(path)
        else:
            base = self.code_root or Path.cwd()
            loaded = source
        if "Transform" in loaded:
            transformed = transform_template(
                loaded, region=self.region, account_id=self.account_id, parameter_values=self.parameter_values
            )
        else:
            transformed = dict(loaded)
        return transformed, base.resolve()

    def _provision(self) -> None:
        template, base = self._load_template()
        provisioner = Provisioner(
            template,
            client=self.client,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
            base_dir=base,
            time_scale=self.time_scale,
            parameter_values=self.parameter_values,
        )
        provisioner.provision(observer=self.observer)
        self._provisioner = provisioner
        sources = dict(provisioner.event_sources)
        if self.only_functions is not None:
            unknown = sorted(self.only_functions - set(provisioner.functions))
            if unknown:
                raise LocalStackError(f"functions={unknown}: not functions of this template")
            for source in list(sources.values()):
                if source.function_id not in self.only_functions:
                    del sources[source.logical_id]
                    provisioner.note(
                        source.logical_id,
                        f"not dispatched: {source.function_id} is not in LocalStack(functions=…); "
                        f"{source.queue_id} keeps its messages",
                    )
        self._dispatcher = Dispatcher(
            sqs=self.client("sqs"),
            functions=provisioner.functions,
            event_sources=sources,
            queues=provisioner.queues,
            region=self.region,
            account_id=self.account_id,
            time_scale=self.time_scale,
            enforce_timeouts=self.enforce_timeouts,
            echo_logs=self.echo_logs,
            namespace=uuid.uuid4().hex[:8],
            concurrent=self.concurrent,
            pollers_per_source=self.pollers_per_source,
        )
        from tailor.local import sqs_holds

        sqs_holds.install(self._dispatcher.observe_visibility)
        self._scheduler = Scheduler(
            schedules=provisioner.schedules,
            sqs=self.client("sqs"),
            dispatcher=self._dispatcher,
            region=self.region,
            account_id=self.account_id,
        )

    def stop(self) -> None:
        global _ACTIVE
        try:
            if self._dispatcher is not None:
                self._dispatcher.close()  # worker processes (concurrent mode)
            if self._hyperpod is not None:
                self._hyperpod.stop()
                self._hyperpod = None
                from tailor.local import moto_hub

                moto_hub.uninstall()
            if self._jobs_plane is not None:
                self._jobs_plane.stop()
                self._jobs_plane = None
            if self._bedrock_sim is not None:
                self._bedrock_sim.uninstall()
                self._bedrock_sim = None
            if self._server is not None:
                with contextlib.suppress(Exception):
                    self._moto_reset()
                self._stop_server()
        finally:
            from tailor.local import sqs_holds

            sqs_holds.uninstall()
            from tailor.local import moto_atomic, moto_kms

            moto_kms.uninstall()
            moto_atomic.uninstall()
            if self._deployment_sim is not None:
                self._deployment_sim.uninstall()
                self._deployment_sim = None
            if self._bedrock_patched:
                from tailor.local import moto_bedrock

                moto_bedrock.uninstall()
                self._bedrock_patched = False
            self._server = None
            self._clients = {}
            if self._saved_env:
                self._restore_environment()
            with _ACTIVE_LOCK:
                if _ACTIVE is self:
                    _ACTIVE = None

    # -- parts ----------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for this stack's endpoint (never real AWS)."""
        if not self.endpoint_url:
            raise LocalStackError("the local stack is not started")
        if service not in self._clients:  # own cache: tests reset the adapters' cache between tests
            from tailor.adapters.aws import client

            self._clients[service] = client(service, self.region, self.endpoint_url)
        return self._clients[service]

    @property
    def provisioner(self) -> Provisioner:
        if self._provisioner is None:
            raise LocalStackError("the local stack is not started")
        return self._provisioner

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise LocalStackError("the local stack is not started")
        return self._dispatcher

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            raise LocalStackError("the local stack is not started")
        return self._scheduler

    @property
    def bedrock_simulator(self) -> BedrockSimulator:
        """The Bedrock simulator (``LocalStack(simulate_bedrock=…)``): ``step``, ``advance``, ``finish``."""
        if self._bedrock_sim is None:
            raise LocalStackError("no Bedrock simulator: the stack is not started or simulate_bedrock is off")
        return self._bedrock_sim

    @property
    def deployment_simulator(self) -> DeploymentSimulator:
        """The SIMULATED Bedrock deployments and runtime (``finish``, ``deployment``, ``invocations``)."""
        if self._deployment_sim is None:
            raise LocalStackError(
                "no deployment simulator: the stack is not started or repair_bedrock is off"
            )
        return self._deployment_sim

    def reconcile_hyperpod(self, cycles: int = 1) -> list[Firing]:
        """Fire the HyperPod function's reconcile schedule ``cycles`` times (HyperPod emits no job
        events: its jobs move only when polled). Only the firing: the events it publishes wait for
        the next ``run_until_idle``."""
        ids = [
            s.logical_id
            for s in self.provisioner.schedules.values()
            if any(t.function_id == HYPERPOD_FUNCTION for t in s.targets)
        ]
        if not ids:
            raise LocalStackError(f"no schedule targets {HYPERPOD_FUNCTION} (HyperPodClusterName unset?)")
        fired: list[Firing] = []
        for _ in range(cycles):
            fired += self.fire_schedules(ids)
        return fired

    @property
    def hyperpod_cluster(self) -> SimulatedHyperPodCluster:
        if self._hyperpod is None:
            raise LocalStackError("the simulated HyperPod cluster is off: LocalStack(simulate_hyperpod=True)")
        return self._hyperpod

    @property
    def jobs_data_plane(self) -> LocalJobsDataPlane:
        """The LOCAL STAND-IN for the AWS IoT Jobs data plane (moto has none): started on first use;
        devices point their ``iot-jobs-data`` client at ``jobs_data_plane.url``."""
        if not self.endpoint_url:
            raise LocalStackError("the local stack is not started")
        if self._jobs_plane is None:
            from tailor.local.iot_jobs import LocalJobsDataPlane

            self._jobs_plane = LocalJobsDataPlane(
                iot_endpoint=self.endpoint_url,
                s3_endpoint=self.endpoint_url,
                region=self.region,
                account_id=self.account_id,
            )
            self._jobs_plane.start()
        return self._jobs_plane

    def edge_public_key_pem(self) -> bytes:
        """The devices' trust anchor: the stack output ``EdgeSigningPublicKey`` (base64 DER) as PEM."""
        import base64

        from tailor.edge.signing import public_key_pem

        value = self.outputs.get("EdgeSigningPublicKey")
        if not value:
            raise LocalStackError("this template has no EdgeSigningPublicKey output")
        return public_key_pem(base64.b64decode(str(value)))

    @property
    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, resolved."""
        return dict(self.provisioner.outputs)

    def physical_id(self, logical_id: str) -> str:
        """What ``Ref`` gives for a resource (name, URL or ARN, by type)."""
        return str(self.provisioner.ref(logical_id))

    def attribute(self, logical_id: str, attribute: str) -> Any:
        """What ``Fn::GetAtt`` gives."""
        return self.provisioner.get_att(logical_id, attribute)

    def function_env(self, logical_id: str) -> dict[str, str]:
        """The function's ``Environment.Variables``, resolved exactly as CloudFormation would."""
        functions = self.provisioner.functions
        if logical_id not in functions:
            raise LocalStackError(f"no function {logical_id!r} (functions: {sorted(functions)})")
        return dict(functions[logical_id].environment)

    def queue(self, logical_id: str) -> QueueInfo:
        queues = self.provisioner.queues
        if logical_id == OBSERVER_ID and self.provisioner.observer_queue is not None:
            return self.provisioner.observer_queue
        if logical_id not in queues:
            raise LocalStackError(f"no queue {logical_id!r} (queues: {sorted(queues)})")
        return queues[logical_id]

    def env_value(self, name: str) -> str:
        """A resource variable (e.g. ``DATA_BUCKET``) as the functions see it."""
        for function in self.provisioner.functions.values():
            if name in function.environment:
                return function.environment[name]
        raise LocalStackError(f"no function of this stack has {name} in its environment")

    def client_env(self) -> dict[str, str]:
        """What a shell needs to point the ``tailor`` CLI or boto3 at this stack."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        for name in _CLIENT_VARIABLES:
            with contextlib.suppress(LocalStackError):
                env[name] = self.env_value(name)
        public_key = self.outputs.get("EdgeSigningPublicKey")
        if public_key:  # `tailor device provision --local` trusts it; devices poll the local data plane
            env["TAILOR_EDGE_PUBLIC_KEY"] = str(public_key)
            env["TAILOR_IOT_JOBS_ENDPOINT"] = self.jobs_data_plane.url
        return env

    # -- running --------------------------------------------------------------------------------------

    def run_until_idle(self, timeout: float = 30.0) -> IdleSummary:
        """Dispatch until every function queue is empty and nothing is in flight (DLQs excepted)."""
        return self.dispatcher.run_until_idle(timeout)

    def fire_schedules(self, logical_ids: Iterable[str] | None = None) -> list[Firing]:
        """Fire schedule rules / Scheduler schedules now (default: all enabled ones)."""
        return self.scheduler.fire(logical_ids)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function directly with ``event``; raises RuntimeError if it fails."""
        return self.dispatcher.invoke(logical_id, event)

    def logs(self, logical_id: str) -> list[str]:
        """What a function printed (its CloudWatch Logs, locally)."""
        return self.dispatcher.logs(logical_id)

    def serve(
        self,
        stop: threading.Event | None = None,
        *,
        poll_interval: float = 0.2,
        schedules: bool = True,
        schedule_time_scale: float = 1.0,
        on_firing: Any = None,
        on_tick: Any = None,
    ) -> None:
        """Dispatch, fire schedules on their clock and tick the Bedrock simulator (if on) until
        ``stop`` is set (or Ctrl-C).

        ``on_tick()`` is called after every round (``tailor local up`` reports run transitions)."""
        stop = stop or threading.Event()
        dispatcher = self.dispatcher
        # Concurrent: the pollers dispatch; this loop only keeps the clocks (simulator, schedules).
        with dispatcher.pollers() if dispatcher.concurrent else contextlib.nullcontext():
            while not stop.is_set():
                if self._bedrock_sim is not None:
                    self._bedrock_sim.tick()
                handled = 0 if dispatcher.concurrent else dispatcher.poll_once()
                if on_tick is not None:
                    on_tick()
                if schedules:
                    firings = self.scheduler.tick(time_scale=schedule_time_scale)
                    if firings and on_firing is not None:
                        on_firing(firings)
                if not handled:
                    stop.wait(min(poll_interval, 0.05) if dispatcher.concurrent else poll_interval)

    # -- test helpers ---------------------------------------------------------------------------------

    def upload(
        self, key: str, body: bytes | str, *, bucket: str | None = None, content_type: str | None = None
    ) -> dict[str, Any]:
        """Put an object (default: into the data bucket, ``DATA_BUCKET``)."""
        bucket = bucket or self.env_value("DATA_BUCKET")
        data = body.encode() if isinstance(body, str) else body
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data}
        if content_type:
            kwargs["ContentType"] = content_type
        response = self.client("s3").put_object(**kwargs)
        return {
            "bucket": bucket,
            "key": key,
            "etag": str(response.get("ETag", "")).strip('"'),
            "versionId": response.get("VersionId"),
        }

    def _drain(self, url: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages")
            if not batch:
                return messages
            messages.extend(batch)
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    def published_events(self, *, history: bool = False) -> list[dict[str, Any]]:
        """Events put on the stack's custom bus(es), as parsed JSON, captured by the local observer.

        Returns the events captured since the previous call (``history=True``: all of them).
        """
        observer = self.provisioner.observer_queue
        if observer is None:
            raise LocalStackError(
                "no local observer: the template has no custom event bus, or observer=False"
            )
        fresh: list[dict[str, Any]] = []
        for message in self._drain(observer.url):
            event = json.loads(message["Body"])
            if isinstance(event, dict):
                self._observer_repairs.repair_event(event)
            fresh.append(event)
        self._events.extend(fresh)
        return list(self._events) if history else fresh

    def _dead_letter_queue(self, logical_id: str) -> QueueInfo:
        provisioner = self.provisioner
        for source in provisioner.event_sources.values():
            if logical_id == source.function_id:
                logical_id = source.queue_id
                break
        queue = self.queue(logical_id)
        if queue.dead_letter_arn:
            dlq = provisioner.queue_by_arn(queue.dead_letter_arn)
            if dlq is None:
                raise LocalStackError(f"{logical_id}: its dead-letter queue is not part of this stack")
            return dlq
        return queue

    def dlq_messages(self, logical_id: str) -> list[dict[str, Any]]:
        """Messages in a dead-letter queue, left in place.

        ``logical_id`` names the DLQ itself, a queue with a redrive policy, or a function (its
        event source's queue's DLQ).
        """
        queue = self._dead_letter_queue(logical_id)
        sqs = self.client("sqs")
        seen: dict[str, dict[str, Any]] = {}
        handles: list[str] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=30,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages")
            if not batch:
                break
            for message in batch:
                handles.append(message["ReceiptHandle"])
                seen[message["MessageId"]] = {
                    "messageId": message["MessageId"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                }
        for handle in handles:  # put them back
            sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=handle, VisibilityTimeout=0)
        return list(seen.values())

    # -- summary --------------------------------------------------------------------------------------

    def summary(self) -> StackSummary:
        provisioner = self.provisioner
        types = {r.type for r in provisioner.resources.values() if r.status in (CREATED, LOCAL)}
        summary = StackSummary(
            self.stack_name, self.endpoint_url, self.region, self.account_id, self.time_scale
        )
        services = [
            ("S3", "AWS::S3::", "buckets, versioning, encryption settings, S3 → EventBridge notifications"),
            (
                "SQS",
                "AWS::SQS::",
                f"queues, redrive to dead-letter queues; visibility timeouts x {self.time_scale:g}",
            ),
            ("EventBridge", "AWS::Events::", "buses, pattern rules → SQS targets"),
            ("DynamoDB", "AWS::DynamoDB::", "tables, indexes, TTL setting (items never expire)"),
            ("CloudWatch", "AWS::CloudWatch::", "alarms stored, never evaluated"),
            ("KMS", "AWS::KMS::", "keys and aliases (sign/verify work)"),
        ]
        for name, prefix, how in services:
            if any(t.startswith(prefix) for t in types):
                summary.emulated.append(Part(name, f"moto — {how}"))
        sim = self._bedrock_sim
        if self._bedrock_patched:
            trains = (
                "their training is SIMULATED (below)"
                if sim is not None
                else "they never train: every job stays InProgress"
            )
            summary.emulated.append(
                Part(
                    "Bedrock (control plane)",
                    "moto — customization jobs are created, read, listed, tagged and stopped, repaired to "
                    f"answer like AWS (below); {trains}",
                )
            )
        functions, sources = provisioner.functions, provisioner.event_sources
        summary.emulated.append(
            Part(
                "Lambda",
                f"in-process dispatcher — {len(functions)} function(s), {len(sources)} SQS event source(s); "
                "batch size, partial batch failures, visibility timeouts, redrive",
            )
        )
        if provisioner.schedules:
            summary.emulated.append(
                Part(
                    "Schedules",
                    f"local scheduler — {len(provisioner.schedules)} schedule(s) (moto never fires them)",
                )
            )
        # Only what has a simulator is "simulated"; the rest of Tailor's AWS surface is plainly not
        # available locally.
        summary.simulated = []
        summary.not_available = []
        if sim is not None:
            summary.simulated.append(
                Part(
                    "Bedrock training",
                    "tailor.local.bedrock_sim — moto's jobs advance through their sub-tasks to Completed, "
                    f"metrics CSVs under the output URI, 'Model Customization Job State Change' events on "
                    f"the default bus; {sim.describe()}; job tag tailor:simulate = complete | fail | stop | "
                    "lose-events steers a job; no model is really trained",
                    brief=sim.config.describe(),
                )
            )
        else:
            summary.not_available.append(
                Part(
                    "Bedrock model customization",
                    "no simulator yet in this stack (simulate_bedrock is off): jobs are created in moto but "
                    "never train (they stay InProgress, no metrics, no model, no state-change events; "
                    "LocalStack(simulate_bedrock=True) and tailor local up simulate them)",
                )
            )
        deployments = self._deployment_sim
        if deployments is not None:
            summary.simulated.append(
                Part(
                    "Bedrock deployments and runtime",
                    "tailor.local.deployments_sim — CreateCustomModelDeployment / Get / List / Delete of "
                    f"this stack's completed custom models ({deployments.describe()}; tag "
                    "tailor:simulate-deploy = fail steers a failure) and bedrock-runtime Converse on an "
                    "Active deployment: answers labelled, no model runs",
                    brief="answers labelled, no model runs",
                )
            )
        summary.simulated.append(
            Part(
                "IoT Jobs data plane",
                "tailor.local.iot_jobs — a LOCAL STAND-IN (moto has no iot-jobs-data): the real boto3 "
                "client on loopback, thing groups expanded to their things, presigned-URL placeholders "
                "replaced by local S3 URLs; no MQTT, rollout rates, abort criteria or step timeouts. "
                "Devices are the real agent (tailor device provision/run with the env below)",
                brief="a local stand-in; devices run the real agent",
            )
        )
        summary.not_emulated = [
            Part("IAM", "roles and policies resolve to ARNs; permissions are never checked"),
            Part(
                "Lambda concurrency", "functions run one batch at a time; MaximumConcurrency is not enforced"
            ),
            Part("CloudWatch Logs", "handler output is kept in memory (LocalStack.logs)"),
        ]
        applied = self.dispatcher.repairs.counts + self._observer_repairs.counts
        summary.workarounds = [
            Part("EventBridge → SQS bodies lack 'account'", "filled in by the dispatcher"),
            Part("S3 events share one fixed 'id'", "replaced by a uuid5 of the event"),
            Part("S3 events say 'eTag' and repeat one 'sequencer'", "renamed 'etag'; increasing sequencer"),
            Part(
                "S3 'Object Tags Added' on every put_object",
                "left to the rules' detail-type filter (moto honours it — verified by test_moto_facts)",
            ),
            Part("S3 events reach rules on every bus", "the local observer's pattern excludes aws.s3"),
            Part("disabled rules still deliver", "their targets are not attached"),
            Part("bucket policy Conditions ignored (all-deny)", "conditional statements not applied"),
            Part("Scheduler / schedule rules never fire", "the local scheduler fires them"),
            Part("KMS Sign ignores MessageType=DIGEST", "digests signed prehashed, as AWS does"),
        ]
        if self._bedrock_patched:
            from tailor.local.moto_bedrock import REPAIRS

            summary.workarounds += [Part(gap, repair) for gap, repair in REPAIRS]
        if applied:
            summary.workarounds.append(
                Part("applied so far", ", ".join(f"{what} x{n}" for what, n in sorted(applied.items())))
            )
        for resource in provisioner.resources.values():
            summary.resources.append(
                ResourceLine(
                    resource.logical_id, resource.type, resource.status, resource.physical_id, resource.note
                )
            )
            if resource.status == SKIPPED:
                summary.skipped.append(f"{resource.logical_id} ({resource.type}): {resource.note}")
        summary.notes = list(provisioner.notes) + list(self.scheduler.notes)
        return summary

    def describe(self, *, echo: bool = True, file: TextIO | None = None) -> StackSummary:
        """Print (unless ``echo=False``) and return the startup summary."""
        summary = self.summary()
        if echo:
            print(summary.render(), file=file or sys.stdout)
        return summary
