"""Export a generator's Verilog and a VCD of it running, checked against the golden model (``dse rtl``).

Writes into ``out``, named after the unit (``hw.generators.unit_name``: the generator and its
non-default parameters): ``UNIT.v`` (:func:`verilog_text`, top module UNIT), ``UNIT.vcd``
(Amaranth's simulator on the chosen stimulus, 10 ns clock) and ``UNIT.json`` (generator, unit,
parameters, ports with the clock and reset, stimulus and the golden-model comparison of that run).

The Verilog is the one Icarus co-simulates (``hw.icarus`` compiles :func:`verilog_text` of the same
component and name, byte for byte): the bundled Yosys reads Amaranth's RTLIL and lowers processes
to multiplexer cells (``proc -norom``) instead of Amaranth's ``verilog.convert`` (``proc -nomux``,
processes kept as ``always`` blocks). Icarus wakes an ``always`` block on any bit of every vector it
part-selects, so the kept processes made the 8 x 8 INT8 array 45x slower in Icarus (16.8 s vs
0.37 s for 1,000 cycles) with identical outputs. Every register is written as
``always @(posedge clk)`` with the synchronous ``rst`` inside it.

Gotcha: Yosys writes a remaining combinational process as ``always @*``, which Icarus first runs on
an input change; one whose inputs are registers that keep their initial value would then hold X
for cycles. Such a process becomes SystemVerilog ``always_comb``, which also runs once at time
zero (none of the current generators has one: their files are plain Verilog-2005).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hw import generators, golden, pysim, stimuli
from hw.vectors import ports
from sim.errors import ConfigError, field_message

STIMULI = ("random", "exhaustive")


def verilog_text(component, name: str) -> str:
    """The Verilog of ``component`` with top module ``name``, as ``dse rtl`` writes it and Icarus runs it."""
    from amaranth._toolchain.yosys import find_yosys
    from amaranth.back import rtlil

    script = (f"read_rtlil <<rtlil\n{rtlil.convert(component, name=name)}\nrtlil\n"
              "proc -norom\nmemory_collect\nopt_clean\nwrite_verilog -norename\n")
    text = find_yosys(lambda version: version >= (0, 40)).run(["-q", "-"], script, ignore_warnings=True)
    return text.replace("always @*", "always_comb")


def export(name: str, params: dict, out: Path, stimulus: str = "random", cycles: int = 64, seed: int = 0,
           vcd: bool = True) -> dict:
    """Write the files above and return the summary stored in ``UNIT.json``."""
    if stimulus not in STIMULI:
        raise ConfigError(field_message("stimulus", stimulus, ", ".join(STIMULI)))
    if not 1 <= cycles <= 1_000_000:
        raise ConfigError(field_message("cycles", cycles, "1 to 1000000"))
    if seed < 0:
        raise ConfigError(field_message("seed", seed, "an integer >= 0"))
    component = generators.build(name, **params)  # bad parameters fail before anything is written
    unit = generators.unit_name(name, params)
    text = verilog_text(component, unit)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{unit}.v").write_text(text)
    if stimulus == "exhaustive":
        inputs = stimuli.exhaustive(component)
    else:
        inputs = stimuli.random(component, np.random.default_rng(seed), cycles)
    got = pysim.run(component, inputs, vcd=out / f"{unit}.vcd" if vcd else None)
    bad = golden.mismatches(golden.outputs(component, inputs), got)
    summary = {"generator": name, "unit": unit, "params": params, "stimulus": stimulus, "seed": seed,
               "cycles": len(next(iter(inputs.values()))),
               "clock": "clk: rising edge", "reset": generators.RESET,
               "ports": [{"name": p.name, "dir": "in" if p.is_input else "out", "bits": p.bits} for p in ports(component)],
               "golden_mismatching_cycles": bad}
    (out / f"{unit}.json").write_text(json.dumps(summary, indent=2))
    return summary
