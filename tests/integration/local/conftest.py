"""Fixtures for the local stack's own tests (helpers in ``local_stack_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_stack_helpers import STACK_NAME, TIME_SCALE, make_template, write_code


@pytest.fixture(scope="module")
def code_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("functions")
    write_code(root)
    return root


@pytest.fixture(scope="module")
def stack(code_root: Path) -> Iterator[Any]:
    """A running local stack built from the hand-made template (one per test module)."""
    from tailor.local import LocalStack

    template = make_template(code_root / "out")
    with LocalStack(template, stack_name=STACK_NAME, code_root=code_root, time_scale=TIME_SCALE) as running:
        yield running
