"""``tailor device provision | run``: trust anchor sources, exit codes 0/1/2/3, rich and JSON output."""

# The fixtures come from test_agent (imported by name, so pytest sees them): parameters reuse the names.
# ruff: noqa: F811

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from test_agent import ARM, REGION, X86, World, build_bundle, moto_endpoint, signer, world  # noqa: F401
from typer.testing import CliRunner

from tailor.cli.main import app
from tailor.edge.signing import LocalSigner, public_key_pem

runner = CliRunner()


def pem_of(key: LocalSigner) -> bytes:
    return public_key_pem(key.public_key_der())


def provision(world: World, thing: str, root: Path, profile: str = X86) -> None:
    key = root.parent / f"{thing}.pem"
    key.write_bytes(pem_of(world.signer))
    result = runner.invoke(
        app,
        [
            *("device", "provision", "--thing", thing, "--root", str(root), "--public-key", str(key)),
            *("--profile", profile, "--region", REGION, "--endpoint", world.jobs_url),
        ],
    )
    assert result.exit_code == 0, result.output


def test_provision_then_run_once_installs_and_exits_0(world: World, tmp_path: Path) -> None:
    thing = world.thing()
    root = tmp_path / "device"
    provision(world, thing, root)
    world.offer(build_bundle(world.signer, "1.2.3"), thing)

    result = runner.invoke(app, ["device", "run", "--thing", thing, "--root", str(root), "--once"])

    assert result.exit_code == 0, result.output
    for line in ("checked", "downloaded", "verified", "smoke test", "switched", "installed 1.2.3"):
        assert line in result.output
    assert str((root / "current").readlink()) == "versions/1.2.3"


def test_run_once_json_reports_rejected_and_exits_1(world: World, tmp_path: Path) -> None:
    thing = world.thing()
    root = tmp_path / "device"
    provision(world, thing, root, profile=ARM)
    world.offer(build_bundle(world.signer, profiles=(X86,)), thing)

    result = runner.invoke(app, ["device", "run", "--thing", thing, "--root", str(root), "--once", "--json"])

    assert result.exit_code == 1
    outcome = json.loads(result.output.strip().splitlines()[-1])
    assert (outcome["status"], outcome["reason"]) == ("REJECTED", "incompatible profile")


def test_run_once_with_nothing_pending_exits_3(world: World, tmp_path: Path) -> None:
    thing = world.thing()
    root = tmp_path / "device"
    provision(world, thing, root)

    result = runner.invoke(app, ["device", "run", "--thing", thing, "--root", str(root), "--once"])

    assert result.exit_code == 3
    assert "nothing pending" in result.output


def test_run_needs_a_provisioned_root_for_that_thing(world: World, tmp_path: Path) -> None:
    result = runner.invoke(app, ["device", "run", "--thing", "t", "--root", str(tmp_path / "none"), "--once"])
    assert result.exit_code == 2
    assert "not provisioned" in result.output

    thing = world.thing()
    provision(world, thing, tmp_path / "d")
    result = runner.invoke(
        app, ["device", "run", "--thing", "other", "--root", str(tmp_path / "d"), "--once"]
    )
    assert result.exit_code == 2
    assert "provisioned for thing" in result.output


@pytest.mark.parametrize("form", ["pem", "base64-der", "path"])
def test_provision_reads_the_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    signer_ = LocalSigner()
    pem = pem_of(signer_)
    value = {
        "pem": pem.decode(),
        "base64-der": base64.b64encode(signer_.public_key_der()).decode(),
        "path": str(tmp_path / "key.pem"),
    }[form]
    (tmp_path / "key.pem").write_bytes(pem)
    monkeypatch.setenv("TAILOR_EDGE_PUBLIC_KEY", value)
    monkeypatch.setenv("TAILOR_IOT_JOBS_ENDPOINT", "http://127.0.0.1:4567")
    root = tmp_path / "device"

    result = runner.invoke(
        app, ["device", "provision", "--thing", "t", "--root", str(root), "--local", "--region", REGION]
    )

    assert result.exit_code == 0, result.output
    assert (root / "trust" / "signing-public-key.pem").read_bytes().strip() == pem.strip()
    config = json.loads((root / "device.json").read_text())
    assert config["jobs_endpoint"] == "http://127.0.0.1:4567"


def test_provision_without_a_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILOR_EDGE_PUBLIC_KEY", raising=False)
    result = runner.invoke(
        app, ["device", "provision", "--thing", "t", "--root", str(tmp_path / "d"), "--region", REGION]
    )
    assert result.exit_code == 2
    assert "--public-key" in result.output and "TAILOR_EDGE_PUBLIC_KEY" in result.output
    assert not (tmp_path / "d").exists()


def test_provision_refuses_an_unknown_profile(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(pem_of(LocalSigner()))
    result = runner.invoke(
        app,
        [
            *("device", "provision", "--thing", "t", "--root", str(tmp_path / "d"), "--public-key", str(key)),
            *("--profile", "windows-x86", "--region", REGION),
        ],
    )
    assert result.exit_code == 2
    assert "unknown device profile" in result.output


def test_provision_reads_the_key_from_the_stack_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tailor.adapters.stack as stack_module

    key = LocalSigner()
    asked: list[str] = []

    def outputs(name: str) -> dict[str, str]:
        asked.append(name)
        return {"EdgeSigningPublicKey": base64.b64encode(key.public_key_der()).decode()}

    monkeypatch.setattr(stack_module, "stack_outputs", outputs)
    root = tmp_path / "d"
    result = runner.invoke(
        app,
        [
            "device",
            "provision",
            "--thing",
            "t",
            "--root",
            str(root),
            "--stack",
            "tailor-prod",
            "--region",
            REGION,
        ],
    )
    assert result.exit_code == 0, result.output
    assert asked == ["tailor-prod"]
    assert (root / "trust" / "signing-public-key.pem").read_bytes().strip() == pem_of(key).strip()
