"""Run a component in Amaranth's simulator on per-cycle input vectors and return its outputs.

Every cycle the testbench drives all inputs, waits for the clock edge and samples every output:
row t of an output is its value just after the edge that consumed row t of the inputs. One
Simulator serves a whole batch of vectors (constructing one costs more than many cycles).

The sync domain's reset is held at 0 unless the vectors have an ``rst`` column: then the component
runs under a wrapper that defines the sync domain and drives its reset from that column (row t's
``rst`` acts at edge t, with priority over the registers' other updates).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from amaranth.hdl import ClockDomain, Module, Value
from amaranth.sim import Simulator

from hw.vectors import pack, ports, unpack

CLOCK_PERIOD_S = 10e-9  # the one place the clock is set (Amaranth 0.6 moves to ``Period``)


def run(component, inputs: dict[str, np.ndarray], vcd: Path | None = None) -> dict[str, np.ndarray]:
    """Outputs of ``component`` for ``inputs`` (name -> (cycles, ...) array; missing inputs are 0)."""
    all_ports = ports(component)
    cycles = len(next(iter(inputs.values())))
    drive = {p.name: pack(p, inputs[p.name]) for p in all_ports if p.is_input and p.name in inputs}
    outs = [p for p in all_ports if not p.is_input]
    words: dict[str, list[int]] = {p.name: [] for p in outs}
    top, reset = component, None
    if "rst" in inputs:
        top = Module()
        top.domains.sync = domain = ClockDomain()
        top.submodules.dut = component
        reset, resets = domain.rst, [int(v) for v in inputs["rst"]]

    async def testbench(ctx):
        signals = {p.name: Value.cast(getattr(component, p.name)) for p in all_ports}
        for t in range(cycles):
            for name, values in drive.items():
                ctx.set(signals[name], values[t])
            if reset is not None:
                ctx.set(reset, resets[t])
            await ctx.tick()
            for p in outs:
                words[p.name].append(ctx.get(signals[p.name]))

    sim = Simulator(top)
    sim.add_clock(CLOCK_PERIOD_S)
    sim.add_testbench(testbench)
    if vcd is None:
        sim.run()
    else:
        with sim.write_vcd(str(vcd)):
            sim.run()
    return {p.name: unpack(p, words[p.name]) for p in outs}
