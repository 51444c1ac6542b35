"""Area and energy of a synthesized unit: the synthesis-based PPA behind ``sim/tech/rtl_macs.yaml``.

Area: every generic cell of the ``hw.synth`` netlist is mapped to a NanGate 45 nm X1 cell
(``sim/tech/nangate45.yaml``): $_ANDNOT_ / $_ORNOT_, which the library lacks, cost an inverter
plus a NOR2 / NAND2. Area = sum of cell areas (no placement, routing or utilization factor);
NAND2-equivalents = area / NAND2_X1 area.

Energy: dynamic energy per cycle = E_toggle x (sum over cells of settled output toggles x the
cell's NAND2-equivalents + FLOP_CLOCK_NAND2_TOGGLES x NAND2-eq of every flip-flop, for the clock
pin and internal clock buffers switching every cycle). Weighting toggles by cell size stands in
for switched capacitance. E_toggle is calibrated, in the same flow, so that a synthesized signed
8 x 8 multiplier on uniformly random operands costs Horowitz's int8 multiply (0.2 pJ at 45 nm).
Toggles come from ``hw.gatesim`` on real operand streams (``hw.operands``).

Error bars (stated, not hidden): the flow has no ABC logic optimization in its primary setting
(``abc=False``: every unit sees the same techmap, and ABC in WebAssembly takes minutes on the
larger block units); ABC shrinks the integer MACs by 14-18 %, reported by the benchmark as a
spread. Absolute areas run high: our synthesized signed 8 x 8 multiplier is 2.0x Horowitz's
282 um2 (X1 cells only, no sizing or ABC), so compare units with each other, not with foundry data. Zero-delay simulation misses glitches (which add tens of percent in array multipliers and
adder trees). The calibration folds everything Horowitz's figure includes into one constant, so
absolute pJ carry its uncertainty; ratios between units synthesized the same way are the robust
output. Leakage and wires are not modelled. The same units mapped to the real NanGate45 Liberty cells
by ABC, with OpenSTA timing, and placed and routed on an FPGA: ``hw.implement``.
"""


from functools import lru_cache

import numpy as np
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw import gatesim, synth
from sim.tech import TechLibrary

FLOP_CLOCK_NAND2_TOGGLES = 1.0  # [assumption] clock-driven switching per flip-flop per cycle, in NAND2-eq
CALIBRATION_OPS = 20_000
CELL_ENTRIES = {
    "$_NOT_": ("inv",), "$_BUF_": ("buf",), "$_AND_": ("and2",), "$_NAND_": ("nand2",), "$_OR_": ("or2",),
    "$_NOR_": ("nor2",), "$_XOR_": ("xor2",), "$_XNOR_": ("xnor2",), "$_ANDNOT_": ("inv", "nor2"),
    "$_ORNOT_": ("inv", "nand2"), "$_MUX_": ("mux2",), synth.DFF: ("dff",),
}


def cell_areas_um2(tech: TechLibrary | None = None) -> dict[str, float]:
    """Area of every generic cell type at the library's node (45 nm by default)."""
    tech = tech or TechLibrary.load(45)
    return {kind: sum(tech.scaled(f"cell_{c}_x1_um2").value for c in cells) for kind, cells in CELL_ENTRIES.items()}


def nand2_um2(tech: TechLibrary | None = None) -> float:
    return (tech or TechLibrary.load(45)).scaled("cell_nand2_x1_um2").value


def area_um2(netlist: synth.Netlist) -> float:
    areas = cell_areas_um2()
    return float(sum(n * areas[kind] for kind, n in netlist.counts.items()))


def nand2_weights(netlist: synth.Netlist) -> np.ndarray:
    areas, unit = cell_areas_um2(), nand2_um2()
    return np.array([areas[kind] / unit for kind, _, _ in netlist.cells])


def switched_nand2_per_cycle(netlist: synth.Netlist, activity: gatesim.Activity) -> float:
    """Weighted toggles per cycle (NAND2-equivalent transitions), clock switching of the flops included."""
    weights = nand2_weights(netlist)
    flops = np.array([kind == synth.DFF for kind, _, _ in netlist.cells])
    return float((activity.toggles @ weights) / activity.cycles + FLOP_CLOCK_NAND2_TOGGLES * weights[flops].sum())


class Multiplier8x8(wiring.Component):
    """Combinational signed 8 x 8 multiplier: the calibration reference for Horowitz's int8 multiply."""

    a: In(signed(8))
    b: In(signed(8))
    y: Out(signed(16))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a * self.b)
        return m


@lru_cache(maxsize=None)
def toggle_energy_pj(abc: bool = False) -> float:
    """pJ per NAND2-equivalent toggle: Horowitz int8 mult (0.2 pJ @45 nm) / the reference multiplier's toggles."""
    ref = Multiplier8x8()
    netlist = synth.synthesize(ref, abc=abc)
    rng = np.random.default_rng(0)
    inputs = {"a": rng.integers(-128, 128, CALIBRATION_OPS), "b": rng.integers(-128, 128, CALIBRATION_OPS)}
    activity = gatesim.simulate(ref, netlist, inputs)
    mult = TechLibrary.load(45).int_mult_pj(8, 8).value
    return mult / switched_nand2_per_cycle(netlist, activity)


def unit_ppa(component, netlist: synth.Netlist, inputs: dict[str, np.ndarray], macs_per_cycle: int,
             abc: bool = False) -> tuple[dict[str, float], gatesim.Activity]:
    """Area and energy of ``component`` (synthesized as ``netlist``) running ``inputs``, and the activity."""
    activity = gatesim.simulate(component, netlist, inputs)
    switched = switched_nand2_per_cycle(netlist, activity)
    area = area_um2(netlist)
    return {"cells": len(netlist.cells), "area_um2": area, "nand2_eq": area / nand2_um2(),
            "switched_nand2_per_cycle": switched, "energy_pj_per_cycle": switched * toggle_energy_pj(abc),
            "macs_per_cycle": macs_per_cycle, "area_um2_per_mac": area / macs_per_cycle,
            "energy_pj_per_mac": switched * toggle_energy_pj(abc) / macs_per_cycle}, activity


def operand_streams(component, layers: int = 5, dot_products: int = 8) -> dict[str, np.ndarray]:
    """``component``'s inputs for dot products of ``layers`` MiniLM linear layers spread over the model."""
    from hw.operands import dot_product_stream
    from workloads import minilm

    captured = minilm.capture()
    names = list(captured)[:: max(1, len(captured) // layers)][:layers]
    streams = [dot_product_stream(component, *captured[n], dot_products=dot_products, seed=i)
               for i, n in enumerate(names)]
    return {k: np.concatenate([s[k] for s in streams]) for k in streams[0]}


def characterize(name: str, params: dict | None = None, abc: bool = False, random_cycles: int = 4096) -> dict:
    """Synthesize generator ``name``, check its gates against the golden model on MiniLM operands,
    and return its area and energy per MAC (MiniLM operands and, for contrast, uniformly random codes)."""
    from hw import generators, golden, stimuli

    component = generators.build(name, **(params or {}))
    netlist = synth.synthesize(component, abc=abc)
    macs = getattr(component, "block", 1)
    inputs = operand_streams(component)
    row, activity = unit_ppa(component, netlist, inputs, macs, abc)
    bad = golden.mismatches(golden.outputs(component, inputs), activity.outputs)
    random_inputs = stimuli.random(component, np.random.default_rng(1), random_cycles)
    random_inputs["valid"][:] = 1
    random_row, _ = unit_ppa(component, netlist, random_inputs, macs, abc)
    return {"unit": name, **generators.defaults(name), **(params or {}), "abc": abc, **row, "gate_mismatching_cycles": sum(bad.values()),
            "energy_pj_per_mac_random": random_row["energy_pj_per_mac"],
            "cell_counts": dict(sorted(netlist.counts.items()))}
