"""Area, delay, FPGA Fmax and energy of SPADE's rule generation unit and gather-address generator; writes
``sim/tech/rtl_spade.yaml``.

Units: ``hw.rgu.RuleGenerationUnit`` (16-bit coordinates, 16-bit rows, 8-bit offsets; stride 1 and 2)
and ``hw.gather_address.GatherAddressGenerator`` (16-bit rows, 8 words per vector, 8 banks, 2 vectors per
issue cycle, 16-bit issue counter). Each one:

- on real cells (``hw.implement``): NanGate45 cell area, OpenSTA minimum period (ASIC Fmax), and on
  the ECP5: LUTs, FFs and routed Fmax, by the flow and assumptions of ``benchmarks/bench_mac_ppa.py``;
- energy per cycle by the method of ``hw.ppa`` (generic gates, toggles counted by ``hw.gatesim``,
  calibrated to Horowitz's int8 multiply at 45 nm), on a recorded run: the unit's ports cycle by
  cycle while it streams a synthetic sparse scene with every stream always valid and ready (an RGU
  cycle is one merge step; a gather-address cycle is one word address). The gate-level outputs are
  checked against Amaranth's simulator on the same inputs.

Scene [assumption]: 5 % of a 64 x 64 pillar window active (uniform), the outputs of a 3 x 3 stride-1
padding-1 sparse conv (stride-2 RGU: 3 x 3 stride 2 padding 1), offsets (-1, -1), (0, 0) and (1, 1)
one frame each; the gather unit streams the input rows of those pairs.

Run: ``python benchmarks/bench_spade_rtl.py`` (a few minutes; ``--no-write`` leaves the YAML alone).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml
from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hw import implement, ppa, pysim, synth
from hw.gather_address import GatherAddressGenerator
from hw.rgu import RuleGenerationUnit

TECH_YAML = Path(__file__).resolve().parents[1] / "sim" / "tech" / "rtl_spade.yaml"
RGU = {"coord_bits": 16, "row_bits": 16, "offset_bits": 8}
GATHER = {"row_bits": 16, "words": 8, "banks": 8, "vectors_per_cycle": 2, "cycle_bits": 16}
WINDOW, OCCUPANCY, SEED = 64, 0.05, 0
OFFSETS = ((-1, -1), (0, 0), (1, 1))


class FlatPorts(wiring.Component):
    """``unit`` with every port of its streams as a plain top-level port (``in_coords__valid``, ...),
    which the vector routes (``hw.vectors``, ``hw.gatesim``) take; payloads are flat bit vectors."""

    def __init__(self, unit: wiring.Component):
        self.unit = unit
        super().__init__({"__".join(map(str, path)): (In if member.flow == In else Out)(_plain(member.shape))
                          for path, member in unit.signature.members.flatten() if member.is_port})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.unit
        for path, member in self.unit.signature.members.flatten():
            if not member.is_port:
                continue
            inner, outer = self.unit, getattr(self, "__".join(map(str, path)))
            for step in path:
                inner = getattr(inner, step)
            m.d.comb += inner.eq(outer) if member.flow == In else outer.eq(inner)
        return m


def _plain(shape):
    """A layout as the unsigned bit vector it occupies; other shapes as they are."""
    return data.Layout.cast(shape).size if isinstance(shape, data.Layout) else shape


def _pack(layout, beat: dict) -> int:
    layout = data.Layout.cast(layout)
    return sum((int(v) & ((1 << layout[f].width) - 1)) << layout[f].offset for f, v in beat.items())


def record(flat: FlatPorts, streams: dict[str, list[dict]], plain: dict[str, dict], cycles: int) -> dict[str, np.ndarray]:
    """Input ports of ``flat`` cycle by cycle while its source streams show ``streams`` back to back
    (always valid until exhausted) and every sink is ready: a closed loop, recorded as open-loop vectors."""
    members = flat.signature.members
    rec = {name: [] for name, member in members.items() if member.flow == In}

    async def bench(ctx):
        at = dict.fromkeys(streams, 0)
        for _ in range(cycles):
            values = {n: _pack(flat.unit.signature.members[n].shape, v) for n, v in plain.items()}
            for s, beats in streams.items():
                values[f"{s}__valid"] = int(at[s] < len(beats))
                values[f"{s}__payload"] = _pack(flat.unit.signature.members[s].signature.members["payload"].shape,
                                                beats[min(at[s], len(beats) - 1)])
            values |= {n: 1 for n in rec if n.endswith("__ready")}
            for n in rec:
                ctx.set(getattr(flat, n), values.get(n, 0))
                rec[n].append(values.get(n, 0))
            taken = {s: values[f"{s}__valid"] and ctx.get(getattr(flat, f"{s}__ready")) for s in streams}
            await ctx.tick()
            for s, t in taken.items():
                at[s] += bool(t)

    sim = Simulator(flat)
    sim.add_clock(pysim.CLOCK_PERIOD_S)
    sim.add_testbench(bench)
    sim.run()
    return {n: np.array(v, np.int64) for n, v in rec.items()}


def scene(stride: int) -> list[tuple[tuple[int, int], list, list, list]]:
    """(offset, input coords, output coords, pairs (in_row, out_row)) per frame (see the module doc)."""
    rng = np.random.default_rng(SEED)
    cells = rng.random((WINDOW, WINDOW)) < OCCUPANCY
    ins = [tuple(map(int, c)) for c in np.argwhere(cells)]
    out_n = (WINDOW + 2 - 3) // stride + 1
    outs = sorted({(oy, ox) for iy, ix in ins for ky in range(3) for kx in range(3)
                   for oy, ox in [((iy + 1 - ky) // stride, (ix + 1 - kx) // stride)]
                   if (iy + 1 - ky) % stride == 0 == (ix + 1 - kx) % stride and 0 <= oy < out_n and 0 <= ox < out_n})
    index = {c: r for r, c in enumerate(ins)}
    frames = []
    for t in OFFSETS:
        pairs = [(index[q], r) for r, (oy, ox) in enumerate(outs) if (q := (oy * stride + t[0], ox * stride + t[1])) in index]
        frames.append((t, ins, outs, pairs))
    return frames


def coordinate_beats(coords) -> list[dict]:
    return [{"y": y, "x": x, "end": 0} for y, x in coords] + [{"y": 0, "x": 0, "end": 1}]


def rgu_run(stride: int):
    """The RGU's recorded inputs over the scene's frames, and (cycles, pairs) of the scene."""
    flat = FlatPorts(RuleGenerationUnit(stride=stride, **RGU))
    parts, pairs = [], 0
    for t, ins, outs, found in scene(stride):
        steps = len(ins) + len(outs) + 1 - len(found)  # the unit's documented cycles per frame
        parts.append(record(flat, {"in_coords": coordinate_beats(ins), "out_coords": coordinate_beats(outs)},
                            {"offset": {"y": t[0], "x": t[1]}}, steps))
        pairs += len(found)
    inputs = {n: np.concatenate([p[n] for p in parts]) for n in parts[0]}
    return flat, inputs, pairs


def gather_run():
    flat = FlatPorts(GatherAddressGenerator(**GATHER))
    rows = [i for *_, found in scene(1) for i, _ in found]
    cycles = len(rows) * GATHER["words"] + 1  # one word per cycle after the first row is taken
    return flat, record(flat, {"rows": [{"row": r} for r in rows]}, {}, cycles), len(rows)


def energy(flat: FlatPorts, inputs: dict[str, np.ndarray]) -> dict:
    """Energy per cycle on ``inputs`` (``hw.ppa``), with the gates checked against the RTL in pysim."""
    netlist = synth.synthesize(flat)
    row, activity = ppa.unit_ppa(flat, netlist, inputs, macs_per_cycle=1)
    want = pysim.run(flat, inputs)
    bad = sum(int((activity.outputs[n] != want[n]).any(axis=tuple(range(1, want[n].ndim))).sum()) for n in want)
    assert bad == 0, f"gate-level outputs differ from the RTL in {bad} cycles"
    return {"gate_cells": row["cells"], "gate_area_um2": row["area_um2"], "pj_per_cycle": row["energy_pj_per_cycle"],
            "cycles": activity.cycles}


def measure(timeout_s: float) -> list[dict]:
    runs = [("rgu", {**RGU, "stride": 1}, *rgu_run(1)), ("rgu_s2", {**RGU, "stride": 2}, *rgu_run(2)),
            ("gather_addr", GATHER, *gather_run())]
    rows = []
    for name, params, flat, inputs, work in runs:
        unit = flat.unit
        build = type(unit)
        row = {"unit": name, "params": params, "work": work, **energy(flat, inputs),
               **implement.asic(build(**params), timeout_s=timeout_s), **implement.fpga(build(**params))}
        print(f"  {name} {params}: {row['cell_area_um2']:.0f} um2 ({row['std_cells']} cells, {row['flops']} flops), "
              f"{row['min_period_ns']:.3f} ns ({row['asic_fmax_mhz']:.0f} MHz); ECP5 {row['fpga_luts']} LUT "
              f"{row['fpga_ffs']} FF {row['fpga_fmax_mhz']:.0f} MHz; {row['pj_per_cycle']:.4f} pJ/cycle over "
              f"{row['cycles']} cycles ({work} {'pairs' if name.startswith('rgu') else 'rows'})", flush=True)
        rows.append(row)
    return rows


def entries(rows: list[dict], tools: dict[str, str]) -> dict:
    versions = ", ".join(f"{k} {v}" for k, v in tools.items())
    out = {}

    def entry(value, unit, note, node):
        return {"value": round(float(value), 6), "unit": unit, "node_nm": node, "cite": "rtl_spade", "note": note}

    for r in rows:
        key = f"rtl_{r['unit']}"
        params = ", ".join(f"{k} {v}" for k, v in r["params"].items())
        asic = (f"{params}; {implement.LIBERTY}; {r['std_cells']} cells ({r['flops']} flops); OpenSTA minimum period "
                f"{r['min_period_ns']:.4f} ns, path {r['critical_path']}; {versions}")
        fpga = f"{params}; {implement.FPGA}, seed {implement.FPGA_SEED}; {versions}"
        per = "merge step (one comparison)" if r["unit"].startswith("rgu") else "word address"
        note = (f"{params}; per cycle = per {per}; generic gates ({r['gate_cells']} cells, {r['gate_area_um2']:.0f} um2) "
                f"toggled over {r['cycles']} cycles of a {WINDOW}x{WINDOW} window at {OCCUPANCY:.0%} occupancy "
                f"(benchmarks/bench_spade_rtl.py), calibrated as hw/ppa.py")
        out[f"{key}_area_um2"] = entry(r["cell_area_um2"], "um2", asic, 45)
        out[f"{key}_asic_fmax_mhz"] = entry(r["asic_fmax_mhz"], "MHz", asic + " (45 nm, typical corner; not node-scaled)", None)
        out[f"{key}_pj_per_cycle"] = entry(r["pj_per_cycle"], "pJ", note, 45)
        out[f"{key}_fpga_fmax_mhz"] = entry(r["fpga_fmax_mhz"], "MHz", fpga, None)
        out[f"{key}_fpga_luts"] = entry(r["fpga_luts"], "TRELLIS_COMB", fpga, None)
        out[f"{key}_fpga_ffs"] = entry(r["fpga_ffs"], "TRELLIS_FF", fpga, None)
    return out


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--no-write", action="store_true", help="do not rewrite sim/tech/rtl_spade.yaml")
    args.add_argument("--mapping-timeout", type=float, default=600, help="seconds a unit's cell mapping may take")
    opts = args.parse_args()
    tools = implement.tool_versions()
    print(f"real cells: {implement.LIBERTY}; {implement.FPGA}; {tools}")
    rows = measure(opts.mapping_timeout)
    if not opts.no_write:
        header = ("# Generated by benchmarks/bench_spade_rtl.py from this project's RTL (hw/rgu.py, hw/gather_address.py;\n"
                  "# methods and error bars in hw/implement.py and hw/ppa.py): NanGate45 cell area and OpenSTA Fmax,\n"
                  "# ECP5 LUTs, FFs and Fmax, energy per cycle from generic gates. Do not edit by hand; rerun the benchmark.\n")
        TECH_YAML.write_text(header + yaml.safe_dump(entries(rows, tools), sort_keys=False, width=200))
        print(f"wrote {TECH_YAML}")


if __name__ == "__main__":
    main()
