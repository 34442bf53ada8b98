"""The local device simulation: four virtual things run the real agent on one x86-only bundle."""

# The fixtures come from test_agent (imported by name, so pytest sees them): parameters reuse the names.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

from test_agent import REGION, X86, World, build_bundle, moto_endpoint, publish, signer, world  # noqa: F401

from tailor.edge.agent import OutcomeStatus
from tailor.edge.signing import public_key_pem
from tailor.local.devices import DeviceSimulator


def test_the_fleet_installs_an_x86_bundle_and_the_arm_device_rejects_it(world: World, tmp_path: Path) -> None:
    simulator = DeviceSimulator(
        tmp_path / "fleet",
        jobs_endpoint=world.jobs_url,
        public_key_pem=public_key_pem(world.signer.public_key_der()),
        region=REGION,
    )
    group_arn = simulator.register(world.iot, "tailor-fleet")
    assert simulator.register(world.iot, "tailor-fleet") == group_arn  # idempotent
    job_id = world.job(
        publish(world.s3, world.bucket, build_bundle(world.signer, profiles=(X86,))), [group_arn]
    )

    results = simulator.run_once_all()

    by_status = {r.thing_name: r.outcome.status for r in results}
    assert sorted(by_status.values()) == [OutcomeStatus.REJECTED] + [OutcomeStatus.SUCCEEDED] * 3
    assert by_status["tailor-sim-arm-1"] is OutcomeStatus.REJECTED
    assert {r.thing_name: r.current_version for r in results}["tailor-sim-x86-1"] == "1.0.0"
    executions = {r.thing_name: r.status for r in world.plane.executions(job_id)}
    assert executions == {
        "tailor-sim-x86-1": "SUCCEEDED",
        "tailor-sim-x86-2": "SUCCEEDED",
        "tailor-sim-x86-3": "SUCCEEDED",
        "tailor-sim-arm-1": "REJECTED",
    }
    assert [r.outcome.status for r in simulator.run_once_all()] == [OutcomeStatus.NONE] * 4
