"""tests/faults: one embedded local stack per module (module-scoped fixtures; moto's state is
process-wide, so one stack per process at a time).

When only tests/faults is run under xdist's default distribution (``pytest -n 4 tests/faults``),
a module's tests are kept on one worker (``--dist loadfile``): otherwise every worker that gets a
test of a module starts that module's stack again, several times the work on a small machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults_helpers import NO_DEAD_LETTERS, dead_letters, settle

from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.stack import LocalStack

HERE = Path(__file__).resolve().parent


def _only_faults(config: pytest.Config) -> bool:
    paths = [Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args]
    return bool(paths) and all(p == HERE or HERE in p.parents for p in paths)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "load" or not _only_faults(config):
        return None  # the user chose a distribution, or more than tests/faults runs: xdist decides
    from xdist.scheduler import LoadFileScheduling

    return LoadFileScheduling(config, log)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The modules' stack (a module may override it): a quota large enough never to hold."""
    with LocalStack(
        time_scale=0.0001,
        parameter_values={"CustomizationJobQuota": 50},
        simulate_bedrock=SimulatorConfig.exact(job_quota=50),
    ) as local:
        yield local


@pytest.fixture(autouse=True)
def _quiet(stack: LocalStack) -> Iterator[None]:
    settle(stack)  # whatever an earlier test left, consumed and forgotten
    yield
    assert dead_letters(stack) == NO_DEAD_LETTERS
