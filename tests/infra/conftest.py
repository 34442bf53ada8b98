"""Fixtures for the template checks: template.yaml as written and as CloudFormation would see it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tailor.local.sam_transform import load_template, transform_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
CONTRACTS_PATH = REPO_ROOT / "docs" / "CONTRACTS.md"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def raw_template() -> dict[str, Any]:
    """template.yaml with short-form tags in long form. Shared: copy before mutating."""
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session")
def transformed_template(raw_template: dict[str, Any]) -> dict[str, Any]:
    """The offline SAM transform of template.yaml. Shared: copy before mutating."""
    return transform_template(raw_template)


@pytest.fixture
def transformed(transformed_template: dict[str, Any]) -> dict[str, Any]:
    """A private copy of the transformed template, free to mutate."""
    return copy.deepcopy(transformed_template)


@pytest.fixture(scope="session")
def contracts_md() -> str:
    return CONTRACTS_PATH.read_text(encoding="utf-8")
