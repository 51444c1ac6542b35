"""Synthesis-based PPA: the synthesized gates compute what the golden model computes (a third,
independent check of the RTL), areas order as the datapaths do, and sim/tech/rtl_macs.yaml is what
the method reproduces."""

import re

import numpy as np
import pytest
import yaml
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw import gatesim, generators, golden, ppa, stimuli, synth
from sim.models.pes import PES
from sim.tech.library import DATA

pytestmark = pytest.mark.numba  # the gate simulator's inner loop is numba


@pytest.fixture(scope="module")
def netlists():
    """name -> (component, its netlist); synthesis elaborates the component, so it is 'used'."""
    components = {name: generators.build(name) for name in PES}
    return {name: (component, synth.synthesize(component)) for name, component in components.items()}


@pytest.mark.parametrize("name", list(PES))
def test_gate_netlist_matches_golden_model_exhaustively(name, netlists):
    component, netlist = netlists[name]
    inputs = stimuli.exhaustive(component)
    activity = gatesim.simulate(component, netlist, inputs)
    assert not any(golden.mismatches(golden.outputs(component, inputs), activity.outputs).values())
    assert activity.toggles.sum() > 0


def test_gate_simulation_catches_a_broken_netlist(netlists):
    component, netlist = netlists["int4xint4"]
    broken = synth.Netlist(list(netlist.cells), netlist.ports)
    i = next(i for i, (kind, _, _) in enumerate(broken.cells) if kind == "$_XOR_")
    broken.cells[i] = ("$_OR_", *broken.cells[i][1:])
    inputs = stimuli.exhaustive(component)
    activity = gatesim.simulate(component, broken, inputs)
    assert any(golden.mismatches(golden.outputs(component, inputs), activity.outputs).values())


def test_areas_follow_the_datapaths(netlists):
    area = {name: ppa.area_um2(netlist) for name, (_, netlist) in netlists.items()}
    assert area["int4xint4"] < area["int4xint8"] < area["int8xint8"]
    assert area["dint4xint8"] < area["int8xint8"]
    assert area["mxfp4"] < area["amxfp4"]
    counts = netlists["int8xint8"][1].counts
    assert counts[synth.DFF] == 24  # the accumulator register, nothing else
    cells = ppa.cell_areas_um2()
    assert area["int8xint8"] == pytest.approx(sum(n * cells[k] for k, n in counts.items()))


class Operator(wiring.Component):
    """Combinational signed ``bits`` x ``bits`` operator (add, mult, xor, not), as Horowitz's table rows are."""

    def __init__(self, op: str, bits: int):
        self.op, self.bits = op, bits
        out = {"add": bits + 1, "mult": 2 * bits}.get(op, bits)
        super().__init__({"a": In(signed(bits)), "b": In(signed(bits)), "y": Out(signed(out))})

    def elaborate(self, platform):
        m = Module()
        y = {"add": lambda: self.a + self.b, "mult": lambda: self.a * self.b, "xor": lambda: self.a ^ self.b,
             "not": lambda: ~self.a}[self.op]()
        m.d.comb += self.y.eq(y)
        return m


@pytest.mark.parametrize(("op", "cell", "nand2_eq"), [("not", "$_NOT_", 0.532 / 0.798), ("xor", "$_XOR_", 1.596 / 0.798)])
def test_switched_nand2_of_a_hand_counted_netlist(op, cell, nand2_eq):
    """8 independent gates (counted here: one cell per bit) on uniformly random bits: each output
    toggles with probability 1/2 per cycle, so 8 x 1/2 x the cell's NAND2-equivalents (NanGate45
    X1 areas / NAND2_X1 area) are switched per cycle."""
    unit = Operator(op, 8)
    netlist = synth.synthesize(unit)
    assert dict(netlist.counts) == {cell: 8}
    rng = np.random.default_rng(2)
    activity = gatesim.simulate(unit, netlist, {p: rng.integers(-128, 128, 20_000) for p in ("a", "b")})
    assert ppa.switched_nand2_per_cycle(netlist, activity) == pytest.approx(8 * 0.5 * nand2_eq, rel=0.03)


# Horowitz, ISSCC 2014, 45 nm energy table: the rows the calibration does NOT use (it uses only the
# 8-bit multiply, 0.2 pJ). Typed here from the source, not read from sim/tech.
HOROWITZ_OTHER_OPS_PJ = {("add", 8): 0.03, ("add", 16): 0.05, ("add", 32): 0.1, ("mult", 32): 3.1}
# Tolerance: the table's values carry one or two significant digits (0.03 stands for 0.025..0.035,
# +-17 %), and zero-delay toggles miss glitches, whose share differs between a ripple adder and an
# array multiplier (the calibration folds the 8-bit multiplier's share into the toggle energy).
# 25 % allows both; a flow that mis-weights cells or mis-counts toggles lands outside it.
HOROWITZ_TOLERANCE = 0.25


@pytest.mark.parametrize(("op", "bits"), list(HOROWITZ_OTHER_OPS_PJ))
def test_toggle_energy_predicts_the_other_horowitz_operators(op, bits):
    unit = Operator(op, bits)
    netlist = synth.synthesize(unit)
    rng = np.random.default_rng(1)
    codes = {p: rng.integers(-(1 << bits - 1), 1 << bits - 1, 2000) for p in ("a", "b")}
    activity = gatesim.simulate(unit, netlist, codes)
    assert np.array_equal(activity.outputs["y"], codes["a"] + codes["b"] if op == "add" else codes["a"] * codes["b"])
    predicted = ppa.switched_nand2_per_cycle(netlist, activity) * ppa.toggle_energy_pj()
    assert predicted == pytest.approx(HOROWITZ_OTHER_OPS_PJ[op, bits], rel=HOROWITZ_TOLERANCE)


def test_rtl_macs_yaml_is_what_the_method_reproduces():
    entries = yaml.safe_load((DATA / "rtl_macs.yaml").read_text())
    row = ppa.characterize("dint4xint8")
    assert row["gate_mismatching_cycles"] == 0
    assert entries["rtl_mac_dint4xint8_um2"]["value"] == pytest.approx(row["area_um2_per_mac"], abs=1e-3)
    assert entries["rtl_mac_dint4xint8_pj"]["value"] == pytest.approx(row["energy_pj_per_mac"], abs=1e-5)
    ints = [name for name, pe in PES.items() if not pe.is_block]
    implemented = ("cell_um2", "asic_fmax_mhz", "fpga_fmax_mhz", "fpga_luts", "fpga_ffs")
    gates = ({f"rtl_mac_{u}_{k}" for u in PES for k in ("um2", "pj")}
             | {f"rtl_mac_{u}_{k}" for u in ints for k in ("acc_bits", "acc_um2_per_bit", "acc_pj_per_bit")})
    variants = re.compile(rf"rtl_mac_({'|'.join(PES)})(_p\d+)?(_signed|_magnitude)?_({'|'.join(implemented)})")
    assert gates <= set(entries)
    assert all(variants.fullmatch(key) for key in set(entries) - gates)
    for unit in PES:  # every unit has real-cell area and both Fmax, at some depth and datapath
        found = {m.group(4) for m in map(variants.fullmatch, entries) if m and m.group(1) == unit}
        assert set(implemented) <= found, unit
    assert entries["rtl_mac_dint4xint8_acc_bits"]["value"] == row["acc_bits"] == 21
    wide = ppa.characterize("dint4xint8", {"acc_bits": 29})
    assert entries["rtl_mac_dint4xint8_acc_um2_per_bit"]["value"] == pytest.approx(
        (wide["area_um2_per_mac"] - row["area_um2_per_mac"]) / 8, abs=1e-5)


def test_int4xint4_on_nangate45_cells():
    """Checkable by hand: the only register is the 16-bit accumulator (16 DFF_X1), the area is the
    sum of the Liberty areas of the cells used (read here from the .lib itself), and the worst path
    ends at that register within the analysed clock period."""
    from hw import implement

    result = implement.asic(generators.build("int4xint4"))
    lib = implement.liberty_path().read_text()
    areas = {name: float(area) for name, area in re.findall(r"\bcell \((\w+)\) \{.*?\sarea\s*:\s*([\d.]+)", lib, re.S)}
    assert result["cells"].get("DFF_X1") == result["flops"] == 16
    assert result["cell_area_um2"] == pytest.approx(sum(n * areas[c] for c, n in result["cells"].items()), rel=1e-9)
    assert result["critical_path"].endswith("(rising edge-triggered flip-flop clocked by clk)")
    assert 0 < result["min_period_ns"] < implement.STA_PERIOD_NS


def test_reset_is_not_timed():
    """The reset net is left out of timing (``hw.implement``: layout buffers it): a pipelined block
    unit, whose reset fans out to every stage register, is timed on its datapath."""
    from hw import implement

    result = implement.asic(generators.build("mxfp4", pipeline=1))
    assert not result["critical_path"].startswith("rst ")


def test_a_mapping_that_runs_too_long_is_one_error():
    from hw import implement
    from sim.errors import DSEError

    with pytest.raises(DSEError, match=r"^yosys cell mapping: did not finish in 0.01 s$"):
        implement.asic(generators.build("int4xint4"), timeout_s=0.01)
