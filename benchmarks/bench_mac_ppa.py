"""Synthesized MAC area and energy beside the seed papers' claims; writes ``sim/tech/rtl_macs.yaml``.

For every PE of the registry (``sim.models.pes``): Yosys generic-gate synthesis, gate-level simulation
on MiniLM operands (checked bit for bit against the golden model), area and energy per MAC by the
method of ``hw.ppa``. Then the comparisons the specs ask for, each with our ratio, the paper's and
ours / paper:

- dINT4xINT8 vs INT8xINT8 (W4A8 paper, Table 2: 1.93x less area, 2.56x less power), with
  right-sized accumulators (the defaults), with equal 24-bit accumulators, and with ABC;
- AMXFP4 vs MXFP4 per MAC ("negligible hardware cost"), for the block units alone and with the
  cross-block FP32 accumulation of their terms (1 vs 4 FP32 adds per block, Horowitz).

Run: ``python benchmarks/bench_mac_ppa.py`` (about a minute; ``--no-write`` leaves the YAML alone).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from hw import generators, ppa, synth
from sim.models.pes import PES
from sim.tech import TechLibrary

TECH_YAML = Path(__file__).resolve().parents[1] / "sim" / "tech" / "rtl_macs.yaml"
DINT_CLAIM = {"area": 1.93, "energy": 2.56}  # INT8xINT8 / dINT4xINT8 (W4A8 paper Table 2, secondary)
AMX_CLAIM = 1.0  # "negligible hardware cost" of AMXFP4 over MXFP4, read as a ratio of 1


INT_UNITS = [name for name, pe in PES.items() if not pe.is_block]
ACC_STEP = 8  # bits added to measure the cost of one accumulator bit


def measure() -> pd.DataFrame:
    runs = [(name, None, False, "default") for name in PES]
    runs += [(name, {"acc_bits": 24}, False, "acc24") for name in ("int4xint8", "dint4xint8")]
    runs += [(name, {"acc_bits": generators.defaults(name)["acc_bits"] + ACC_STEP}, False, "acc+step")
             for name in INT_UNITS]
    runs += [(name, None, True, "abc") for name in ("int8xint8", "dint4xint8")]
    table = pd.DataFrame([ppa.characterize(name, params, abc) for name, params, abc, _ in runs])
    table["setting"] = [setting for *_, setting in runs]
    return table


def claims(table: pd.DataFrame) -> pd.DataFrame:
    def pick(unit, setting="default"):
        return table[(table.unit == unit) & (table.setting == setting)].iloc[0]

    tech = TechLibrary.load(45)
    fp32_add_pj, fp32_add_um2 = tech.fp_add_pj(32).value, tech.fp_add_area_um2(32).value
    out = []
    for label, big, small in (("dINT4xINT8 vs INT8xINT8, right-sized acc (24 / 21 b)", pick("int8xint8"), pick("dint4xint8")),
                              ("dINT4xINT8 vs INT8xINT8, equal 24-b acc", pick("int8xint8"), pick("dint4xint8", "acc24")),
                              ("dINT4xINT8 vs INT8xINT8, with ABC", pick("int8xint8", "abc"), pick("dint4xint8", "abc"))):
        for metric, col in (("area", "area_um2_per_mac"), ("energy", "energy_pj_per_mac")):
            ours = big[col] / small[col]
            out.append({"comparison": label, "metric": metric, "ours": ours, "paper": DINT_CLAIM[metric],
                        "ours/paper": ours / DINT_CLAIM[metric]})
    mx, amx = pick("mxfp4"), pick("amxfp4")
    block = mx["macs_per_cycle"]
    with_acc = {  # per MAC: unit + its FP32 adders (1 term per block for MXFP4, 4 for AMXFP4)
        "area": ((amx["area_um2"] + 4 * fp32_add_um2) / block, (mx["area_um2"] + fp32_add_um2) / block),
        "energy": (amx["energy_pj_per_mac"] + 4 * fp32_add_pj / block, mx["energy_pj_per_mac"] + fp32_add_pj / block),
    }
    for metric, col in (("area", "area_um2_per_mac"), ("energy", "energy_pj_per_mac")):
        out.append({"comparison": "AMXFP4 vs MXFP4, block unit", "metric": metric, "ours": amx[col] / mx[col],
                    "paper": AMX_CLAIM, "ours/paper": amx[col] / mx[col] / AMX_CLAIM})
        a, m = with_acc[metric]
        out.append({"comparison": "AMXFP4 vs MXFP4, unit + FP32 term accumulation", "metric": metric,
                    "ours": a / m, "paper": AMX_CLAIM, "ours/paper": a / m / AMX_CLAIM})
    return pd.DataFrame(out)


def calibration_check() -> dict[str, float]:
    """Our synthesized 8x8 multiplier's area beside Horowitz's (secondary) int8 multiplier area."""
    netlist = synth.synthesize(ppa.Multiplier8x8())
    ours, horowitz = ppa.area_um2(netlist), TechLibrary.load(45).int_mult_area_um2(8, 8).value
    return {"multiplier_8x8_um2": ours, "horowitz_int8_mult_um2": horowitz, "ratio": ours / horowitz,
            "pj_per_nand2_toggle": ppa.toggle_energy_pj()}


def tech_entries(table: pd.DataFrame) -> dict:
    """Per unit: area and energy per MAC; integer units also their accumulator width and the
    cost of one more accumulator bit (from the ``acc+step`` synthesis)."""
    entries = {}

    def entry(value, unit, note, node=45):
        return {"value": round(float(value), 6), "unit": unit, "node_nm": node, "cite": "rtl_synthesis", "note": note}

    for _, r in table[table.setting == "default"].iterrows():
        note = (f"{r.cells} cells, {r.nand2_eq:.0f} NAND2-eq per unit of {r.macs_per_cycle} MAC(s); "
                f"MiniLM operands; uniform random codes: {r.energy_pj_per_mac_random:.4f} pJ/MAC")
        entries[f"rtl_mac_{r.unit}_um2"] = entry(r.area_um2_per_mac, "um2", note)
        entries[f"rtl_mac_{r.unit}_pj"] = entry(r.energy_pj_per_mac, "pJ", note)
        if r.unit in INT_UNITS:
            wide = table[(table.unit == r.unit) & (table.setting == "acc+step")].iloc[0]
            step = f"(synthesized at {r.acc_bits} and {wide.acc_bits} accumulator bits) / {ACC_STEP}"
            entries[f"rtl_mac_{r.unit}_acc_bits"] = entry(int(r.acc_bits), "bit", "accumulator width synthesized", None)
            entries[f"rtl_mac_{r.unit}_acc_um2_per_bit"] = entry(
                (wide.area_um2_per_mac - r.area_um2_per_mac) / ACC_STEP, "um2", step)
            entries[f"rtl_mac_{r.unit}_acc_pj_per_bit"] = entry(
                (wide.energy_pj_per_mac - r.energy_pj_per_mac) / ACC_STEP, "pJ", step)
    return entries


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--no-write", action="store_true", help="do not rewrite sim/tech/rtl_macs.yaml")
    no_write = args.parse_args().no_write
    table = measure()
    assert (table.gate_mismatching_cycles == 0).all(), "synthesized gates differ from the golden model"
    cols = ["unit", "setting", "cells", "nand2_eq", "area_um2_per_mac", "energy_pj_per_mac", "energy_pj_per_mac_random"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table[cols].to_string(index=False))
        print()
        print(claims(table).to_string(index=False))
        print()
        print(calibration_check())
    if not no_write:
        header = ("# Generated by benchmarks/bench_mac_ppa.py from this project's RTL (hw/ppa.py states the method and\n"
                  "# its error bars): area and energy per MAC at 45 nm. Do not edit by hand; rerun the benchmark.\n")
        TECH_YAML.write_text(header + yaml.safe_dump(tech_entries(table), sort_keys=False, width=200))
        print(f"wrote {TECH_YAML}")


if __name__ == "__main__":
    main()
