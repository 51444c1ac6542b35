"""Synthesis-based PPA: the synthesized gates compute what the golden model computes (a third,
independent check of the RTL), areas order as the datapaths do, and sim/tech/rtl_macs.yaml is what
the method reproduces."""

import numpy as np
import pytest
import yaml

from hw import gatesim, generators, golden, ppa, stimuli, synth
from sim.models.pes import PES
from sim.tech import TechLibrary
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


def test_toggle_energy_reproduces_horowitz_multiply():
    ref = ppa.Multiplier8x8()
    netlist = synth.synthesize(ref)
    rng = np.random.default_rng(0)
    n = ppa.CALIBRATION_OPS
    activity = gatesim.simulate(ref, netlist, {"a": rng.integers(-128, 128, n), "b": rng.integers(-128, 128, n)})
    energy = ppa.switched_nand2_per_cycle(netlist, activity) * ppa.toggle_energy_pj()
    assert energy == pytest.approx(TechLibrary.load(45).int_mult_pj(8, 8).value)


def test_rtl_macs_yaml_is_what_the_method_reproduces():
    entries = yaml.safe_load((DATA / "rtl_macs.yaml").read_text())
    row = ppa.characterize("dint4xint8")
    assert row["gate_mismatching_cycles"] == 0
    assert entries["rtl_mac_dint4xint8_um2"]["value"] == pytest.approx(row["area_um2_per_mac"], abs=1e-3)
    assert entries["rtl_mac_dint4xint8_pj"]["value"] == pytest.approx(row["energy_pj_per_mac"], abs=1e-5)
    ints = [name for name, pe in PES.items() if not pe.is_block]
    assert set(entries) == ({f"rtl_mac_{u}_{k}" for u in PES for k in ("um2", "pj")}
                            | {f"rtl_mac_{u}_{k}" for u in ints for k in ("acc_bits", "acc_um2_per_bit", "acc_pj_per_bit")})
    assert entries["rtl_mac_dint4xint8_acc_bits"]["value"] == row["acc_bits"] == 21
    wide = ppa.characterize("dint4xint8", {"acc_bits": 29})
    assert entries["rtl_mac_dint4xint8_acc_um2_per_bit"]["value"] == pytest.approx(
        (wide["area_um2_per_mac"] - row["area_um2_per_mac"]) / 8, abs=1e-5)
