"""Export a generator's Verilog and a VCD of it running, checked against the golden model (``dse rtl``).

Writes into ``out``: ``NAME.v`` (Amaranth's Verilog, top module NAME), ``NAME.vcd`` (Amaranth's
simulator on the chosen stimulus, 10 ns clock) and ``NAME.json`` (generator, parameters, ports,
stimulus and the golden-model comparison of that same run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from hw import generators, golden, pysim, stimuli
from hw.vectors import ports
from sim.errors import ConfigError, field_message

STIMULI = ("random", "exhaustive")


def export(name: str, params: dict, out: Path, stimulus: str = "random", cycles: int = 64, seed: int = 0,
           vcd: bool = True) -> dict:
    """Write the files above and return the summary stored in ``NAME.json``."""
    if stimulus not in STIMULI:
        raise ConfigError(field_message("stimulus", stimulus, ", ".join(STIMULI)))
    if not 1 <= cycles <= 1_000_000:
        raise ConfigError(field_message("cycles", cycles, "1 to 1000000"))
    if seed < 0:
        raise ConfigError(field_message("seed", seed, "an integer >= 0"))
    component = generators.build(name, **params)  # bad parameters fail before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.v").write_text(verilog.convert(component, name=name, emit_src=False))
    if stimulus == "exhaustive":
        inputs = stimuli.exhaustive(component)
    else:
        inputs = stimuli.random(component, np.random.default_rng(seed), cycles)
    got = pysim.run(component, inputs, vcd=out / f"{name}.vcd" if vcd else None)
    bad = golden.mismatches(golden.outputs(component, inputs), got)
    summary = {"generator": name, "params": params, "stimulus": stimulus, "seed": seed,
               "cycles": len(next(iter(inputs.values()))),
               "ports": [{"name": p.name, "dir": "in" if p.is_input else "out", "bits": p.bits} for p in ports(component)],
               "golden_mismatching_cycles": bad}
    (out / f"{name}.json").write_text(json.dumps(summary, indent=2))
    return summary
