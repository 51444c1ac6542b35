"""The Verilator route (``hw.verilator``) bit for bit against the golden model: every PE unit on its
exhaustive vectors, PE arrays on random streams, register initial values as in pysim, and a
mutant of the RTL, which must be caught. Compiled models are cached by design, so a re-run only
simulates.

Skips when Verilator (or perl / a C++ compiler) is missing, unless DSE_REQUIRE_VERILATOR=1 (set by
``.ci/run``).
"""

import re
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw import generators, golden, pysim, stimuli, verilator
from hw.export import verilog_text
from sim.models.pes import PES

pytestmark = [pytest.mark.cosim, pytest.mark.usefixtures("require_verilator")]  # tests/hw/conftest.py


def mismatches(component, inputs, **run_options):
    return golden.mismatches(golden.outputs(component, inputs), verilator.run(component, inputs, **run_options))


@pytest.mark.parametrize("name", list(PES))
def test_exhaustive(name):
    component = generators.build(name)
    bad = mismatches(component, stimuli.exhaustive(component))
    assert not any(bad.values()), bad


@pytest.mark.parametrize("pe", ["int8xint8", "amxfp4"])
def test_pe_array_random_stream(pe):
    block = {"block": 4} if PES[pe].is_block else {}
    array = generators.build("pe_array", pe=pe, rows=3, cols=4, **block)
    bad = mismatches(array, stimuli.random(array, np.random.default_rng(11), cycles=200))
    assert not any(bad.values()), bad


class _Counter(wiring.Component):
    """Counts enabled cycles from a non-zero reset value: outputs depend on the initial value."""

    def __init__(self):
        super().__init__({"en": In(1), "count": Out(8, init=0x5A)})

    def elaborate(self, platform):
        m = Module()
        step = Signal(3, init=5)
        m.d.sync += step.eq(step + 1)
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + step)
        return m


def test_registers_start_at_their_init_value_as_in_pysim():
    counter = _Counter()
    inputs = {"en": np.array([0, 0, 1, 1, 0, 1, 1, 1])}
    expected = pysim.run(counter, inputs)["count"]
    assert expected[0] == 0x5A
    assert np.array_equal(verilator.run(counter, inputs)["count"], expected)


def test_reset_mid_sequence_as_in_pysim():
    counter = _Counter()
    inputs = {"en": np.array([1, 1, 1, 1, 1, 1, 0, 1]), "rst": np.array([0, 0, 1, 0, 0, 1, 1, 0])}
    expected = pysim.run(counter, inputs)["count"]
    assert expected[2] == 0x5A  # the edge of row 2 resets
    assert np.array_equal(verilator.run(counter, inputs)["count"], expected)


class _Registers(wiring.Component):
    """Registers each input: ports whose elements straddle 32- and 64-bit words of the port vector."""

    def __init__(self):
        super().__init__({"x": In(data.ArrayLayout(signed(60), 3)), "y": In(data.ArrayLayout(7, 5)), "z": In(1),
                          "x_q": Out(data.ArrayLayout(signed(60), 3)), "y_q": Out(data.ArrayLayout(7, 5)),
                          "z_q": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.x_q.eq(self.x), self.y_q.eq(self.y), self.z_q.eq(self.z)]
        return m


def test_wide_and_narrow_ports_as_in_pysim():
    rng = np.random.default_rng(5)
    x = rng.integers(-(1 << 59), 1 << 59, (16, 3))
    x[:2] = [[-(1 << 59), (1 << 59) - 1, -1], [(1 << 59) - 1, -(1 << 59), 0]]
    inputs = {"x": x, "y": rng.integers(0, 128, (16, 5)), "z": rng.integers(0, 2, 16)}
    registers = _Registers()
    expected, got = pysim.run(registers, inputs), verilator.run(registers, inputs)
    assert np.array_equal(expected["x_q"], x)  # row t: just after the edge that registered input row t
    for name, values in expected.items():
        assert np.array_equal(got[name], values), name


def test_a_mutant_of_the_rtl_is_caught():
    """The product of one operand pair (w=3, a=-5) is off by one in the Verilog; exhaustive vectors
    catch it, and the mutant is compiled as a design of its own (the cache is keyed by its text)."""
    component = generators.build("int8xint8")
    good = verilog_text(component, "top")
    mutant, hits = re.subn(r"(assign prod = [^;]*);", r"\1 + ((w == 8'h03) && (a == 8'hfb));", good)
    assert hits == 1
    inputs = stimuli.exhaustive(component)
    assert not any(mismatches(component, inputs, verilog=good).values())
    assert any(mismatches(component, inputs, verilog=mutant).values())


def test_a_design_compiles_once(monkeypatch):
    component = generators.build("int4xint4")
    inputs = stimuli.exhaustive(component)
    verilator.run(component, inputs)  # compiles unless an earlier run did
    commands, check = [], verilator._check
    monkeypatch.setattr(verilator, "_check", lambda cmd, cwd: (commands.append(Path(cmd[0]).name), check(cmd, cwd)))
    assert not any(golden.mismatches(golden.outputs(component, inputs), verilator.run(component, inputs)).values())
    assert commands == []  # neither verilator nor c++ ran
