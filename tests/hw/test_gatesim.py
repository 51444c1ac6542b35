"""Gate-level simulator kernel: memory-safe on any netlist the synthesis flow can return."""

import numpy as np
import pytest
from amaranth.hdl import Fragment, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw import gatesim
from hw.synth import Netlist

pytestmark = pytest.mark.numba


class PassThrough(wiring.Component):
    """Supplies the ports (a in, y out); the netlist under test is built by hand."""

    a: In(1)
    y: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a)
        return m


def test_an_undriven_net_numbered_above_every_port_reads_zero():
    """A gate input that no cell or port drives (Yosys keeps such wires) holds 0 and is inside the value array."""
    netlist = Netlist(cells=[("$_OR_", (2, 10_000), 3)], ports={"a": ("input", [2]), "y": ("output", [3])})
    a = np.array([0, 1, 1, 0, 1])
    component = PassThrough()
    Fragment.get(component, None)  # elaborated once, as synthesis would (no UnusedElaboratable warning)
    activity = gatesim.simulate(component, netlist, {"a": a})
    assert activity.outputs["y"].tolist() == a.tolist()  # y = a | 0
