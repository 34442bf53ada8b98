"""The Lambda layer ships the `tailor` package without tailor/cli and tailor/local.

`sam build` builds TailorLayer with `make build-TailorLayer` (shared/Makefile). The test runs that
target into a temporary directory with the pip step replaced (no wheels downloaded), then checks
what the layer holds, and that every handler imports from it alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent for p in (REPO_ROOT / "services").glob("*/app.py"))
LAPTOP_ONLY = ("cli", "local")


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer's /opt/python, as `make build-TailorLayer` builds it (requirements not installed)."""
    if shutil.which("make") is None:  # pragma: no cover - every CI image has make
        pytest.skip("make is not installed")
    artifacts = tmp_path_factory.mktemp("layer")
    done = subprocess.run(
        [
            "make",
            "-C",
            str(REPO_ROOT / "shared"),
            "build-TailorLayer",
            f"ARTIFACTS_DIR={artifacts}",
            "PIP_INSTALL=:",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return artifacts / "python"


def test_the_template_builds_the_layer_with_the_makefile(raw_template: dict[str, Any]) -> None:
    layer = raw_template["Resources"]["TailorLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-TailorLayer:" in (REPO_ROOT / "shared" / "Makefile").read_text()


def test_the_layer_has_no_cli_and_no_local_stack(layer: Path) -> None:
    tailor = layer / "tailor"
    assert (tailor / "__init__.py").is_file()
    for name in LAPTOP_ONLY:
        assert not (tailor / name).exists(), f"the layer ships tailor/{name}"
    assert not list(layer.rglob("__pycache__"))
    # Everything else of the package is there.
    source = REPO_ROOT / "shared" / "tailor"
    expected = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.relative_to(source).parts[0] not in LAPTOP_ONLY
    }
    shipped = {p.relative_to(tailor) for p in tailor.rglob("*") if p.is_file()}
    assert shipped == expected


def test_the_pip_step_installs_requirements_for_the_lambda_platform() -> None:
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO_ROOT / "shared"), "build-TailorLayer", "ARTIFACTS_DIR=/tmp/x"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--requirement" in dry and "requirements.txt" in dry
    assert "--platform manylinux2014_aarch64" in dry and "--python-version 3.12" in dry
    assert "--only-binary=:all:" in dry


@pytest.mark.parametrize("service", HANDLERS, ids=lambda p: p.name)
def test_every_handler_imports_from_the_layer_alone(layer: Path, service: Path) -> None:
    """Lambda's sys.path: the function's code, then the layer (dependencies from this venv stand in
    for the ones pip would put in the layer). No site processing, so the editable `tailor` of the
    venv is not on the path."""
    site_packages = sysconfig.get_paths()["purelib"]
    code = (
        "import sys; sys.path[:0] = sys.argv[1:4]; import app, tailor; "
        "print(tailor.__file__); "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('tailor.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(service), str(layer), site_packages],
        capture_output=True,
        text=True,
        env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": service.name},
    )
    assert done.returncode == 0, done.stderr
    origin, modules = done.stdout.splitlines()[:2]
    assert Path(origin).is_relative_to(layer)
    assert not [m for m in modules.split() if m.split(".")[1] in LAPTOP_ONLY]
