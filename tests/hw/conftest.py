"""Skip rules of the co-simulation tests: a test that needs an external simulator skips when it is
missing, unless CI requires it (DSE_REQUIRE_ICARUS=1 / DSE_REQUIRE_VERILATOR=1, set by ``.ci/run``)."""

import os

import pytest

from hw import icarus, verilator


def _require(available: bool, variable: str, missing: str) -> None:
    if not available:
        if os.environ.get(variable) == "1":
            pytest.fail(f"{missing} not found but {variable}=1")
        pytest.skip(f"{missing} not installed")


@pytest.fixture
def require_icarus():
    _require(icarus.available(), "DSE_REQUIRE_ICARUS", "iverilog/vvp")


@pytest.fixture
def require_verilator():
    _require(verilator.available(), "DSE_REQUIRE_VERILATOR", "verilator, perl or c++")
