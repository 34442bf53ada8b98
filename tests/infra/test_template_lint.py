"""cfn-lint on template.yaml and on its offline transform; `sam validate --lint` when installed.

cfn-lint does not check cross-resource house rules (visibility timeout vs function timeout, ...):
test_template_rules.py does. Errors and warnings fail the build; informational findings (I*) are
not enforced (style, e.g. I3011 wants DeletionPolicy on every stateful resource).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

REGIONS = ["us-east-1"]
# Rule id -> why it is ignored. Keep empty unless a rule is wrong for this project.
IGNORED_RULES: dict[str, str] = {}


def _lint(text: str) -> list[str]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(text, config=ManualArgs(regions=REGIONS, ignore_checks=list(IGNORED_RULES)))
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.id[0] in "EW"]


def test_cfn_lint_raw_template(repo_root: Path) -> None:
    assert _lint((repo_root / "template.yaml").read_text(encoding="utf-8")) == []


def test_cfn_lint_transformed_template(transformed_template: dict[str, Any]) -> None:
    assert _lint(json.dumps(transformed_template, indent=1)) == []


def test_cfn_lint_catches_a_broken_template(transformed: dict[str, Any]) -> None:
    # The lint wrapper must be able to fail: a property CloudFormation does not know.
    transformed["Resources"]["IngestQueue"]["Properties"]["VisibilityTimeoutt"] = 360
    assert any(f.startswith("E3002") for f in _lint(json.dumps(transformed)))


def test_sam_validate_lint(repo_root: Path) -> None:
    sam = repo_root / ".sam-venv" / "bin" / "sam"
    if not sam.exists():
        pytest.skip("SAM CLI not installed (.sam-venv/bin/sam); `make validate` installs it")
    result = subprocess.run(
        [str(sam), "validate", "--lint", "--region", "us-east-1"],
        cwd=repo_root,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr
