"""Fixtures for the security tests: the template as tests/infra sees it (the offline SAM transform),
with tests/infra/infra_rules.py importable so its helpers are reused rather than copied."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tailor.local.sam_transform import load_template, transform_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
INFRA_DIR = REPO_ROOT / "tests" / "infra"

# tests/infra has no __init__.py: pytest puts it on sys.path only when it collects it. Do the same
# here so `import infra_rules` works when tests/security runs alone.
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))


@pytest.fixture(scope="session")
def transformed_template() -> dict[str, Any]:
    """The offline SAM transform of template.yaml (what tests/infra checks). Shared: copy to mutate."""
    return transform_template(load_template(TEMPLATE_PATH))
