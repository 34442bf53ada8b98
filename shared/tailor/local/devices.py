"""A LOCAL SIMULATION of a small device fleet: a few virtual things, each running the REAL agent.

Each virtual device gets its own root directory (``<root>/<thing>/``: config, trust anchor,
versions) and runs ``tailor.edge.agent.Agent`` unchanged against the local IoT Jobs data plane
(``tailor.local.iot_jobs``) and moto's S3. By default three devices are ``linux-x86_64`` and one is
``linux-aarch64``, so an x86-only bundle shows a REJECTED execution beside the SUCCEEDED ones.

Simulated, not emulated: every device runs on this host. The aarch64 device's smoke test runs the
aarch64 build on the host's (x86-64) onnxruntime, so it checks the bundle's bytes and golden outputs,
not ARM numerics; only a real ARM device (or an emulator) shows those.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.edge.agent import Agent, DeviceConfig, Outcome, provision

if TYPE_CHECKING:
    from mypy_boto3_iot import IoTClient


@dataclass(frozen=True, slots=True)
class VirtualDevice:
    thing_name: str
    profile: str


DEFAULT_FLEET: tuple[VirtualDevice, ...] = (
    VirtualDevice("tailor-sim-x86-1", "linux-x86_64"),
    VirtualDevice("tailor-sim-x86-2", "linux-x86_64"),
    VirtualDevice("tailor-sim-x86-3", "linux-x86_64"),
    VirtualDevice("tailor-sim-arm-1", "linux-aarch64"),
)


@dataclass(frozen=True, slots=True)
class DeviceOutcome:
    thing_name: str
    profile: str
    outcome: Outcome
    current_version: str | None


class DeviceSimulator:
    """Provision the virtual devices under ``root``; register them in IoT; run each agent once."""

    def __init__(
        self,
        root: Path,
        *,
        jobs_endpoint: str,
        public_key_pem: bytes,
        region: str,
        devices: Sequence[VirtualDevice] = DEFAULT_FLEET,
    ) -> None:
        self.root = root
        self.jobs_endpoint = jobs_endpoint
        self.region = region
        self.devices = tuple(devices)
        self.configs: dict[str, DeviceConfig] = {
            device.thing_name: provision(
                device.thing_name,
                root / device.thing_name,
                public_key_pem,
                profile=device.profile,
                region=region,
                jobs_endpoint=jobs_endpoint,
            )
            for device in self.devices
        }
        self._jobs: Any = None

    def register(self, iot: IoTClient, group: str) -> str:
        """Create the things and ``group`` in (moto's) IoT and put the things in it; the group ARN."""
        try:
            arn = iot.create_thing_group(thingGroupName=group)["thingGroupArn"]
        except iot.exceptions.ResourceAlreadyExistsException:
            arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
        for device in self.devices:
            with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
                iot.create_thing(
                    thingName=device.thing_name,
                    attributePayload={"attributes": {"profile": device.profile, "simulated": "true"}},
                )
            iot.add_thing_to_thing_group(thingGroupName=group, thingName=device.thing_name)
        return arn

    def agent(self, thing_name: str) -> Agent:
        return Agent(self.configs[thing_name], self.root / thing_name, self._jobs_client())

    def run_once_all(self) -> list[DeviceOutcome]:
        """Each device takes (at most) its next job, one after the other."""
        results = []
        for device in self.devices:
            agent = self.agent(device.thing_name)
            outcome = agent.run_once()
            results.append(DeviceOutcome(device.thing_name, device.profile, outcome, agent.current_version()))
        return results

    def _jobs_client(self) -> Any:
        """One client for the simulated fleet; fixed fake credentials (the local data plane ignores them)."""
        if self._jobs is None:
            from tailor.adapters.device_jobs import jobs_data_client

            self._jobs = jobs_data_client(self.region, self.jobs_endpoint, ("testing", "testing"))
        return self._jobs
