"""Synthesized MAC area and energy beside the seed papers' claims; writes ``sim/tech/rtl_macs.yaml``.

For every PE of the registry (``sim.models.pes``): Yosys generic-gate synthesis, gate-level simulation
on MiniLM operands (checked bit for bit against the golden model), area and energy per MAC by the
method of ``hw.ppa``. Then the comparisons the specs ask for, each with our ratio, the paper's and
ours / paper:

- dINT4xINT8 vs INT8xINT8 (W4A8 paper, Table 2: 1.93x less area, 2.56x less power), with
  right-sized accumulators (the defaults), with equal 24-bit accumulators, and with ABC;
- AMXFP4 vs MXFP4 per MAC ("negligible hardware cost"), for the block units alone and with the
  cross-block FP32 accumulation of their terms (1 vs 4 FP32 adds per block, Horowitz).

Then every unit on real cells (``hw.implement``) at every pipeline depth its generator accepts
(and, for block units with a ``datapath`` parameter, each datapath): NanGate45 cell area and
OpenSTA minimum period, ECP5 LUTs / DSPs / FFs and routed Fmax; and the two comparisons again at
equal timing. "At equal timing" means per unit of throughput: each unit at its own best depth
delivers 1 MAC per cycle per MAC lane at its own Fmax, so the silicon needed for one MAC per ns is
cell area per MAC x minimum period (um^2 ns); the ratio of that product is the area ratio of two
designs that sustain the same MAC rate. The ratio of cell areas at each unit's own Fmax is printed
beside it, with both Fmax, so that a reader can see which unit pays for its area in clock rate.

Run: ``python benchmarks/bench_mac_ppa.py`` (minutes: ABC and nextpnr on the 32-lane block units;
``--no-write`` leaves the YAML alone).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from hw import generators, implement, ppa, synth
from sim.errors import ConfigError, DSEError
from sim.models.pes import PES
from sim.tech import TechLibrary

TECH_YAML = Path(__file__).resolve().parents[1] / "sim" / "tech" / "rtl_macs.yaml"
DINT_CLAIM = {"area": 1.93, "energy": 2.56}  # INT8xINT8 / dINT4xINT8 (W4A8 paper Table 2, secondary)
AMX_CLAIM = 1.0  # "negligible hardware cost" of AMXFP4 over MXFP4, read as a ratio of 1


INT_UNITS = [name for name, pe in PES.items() if not pe.is_block]
ACC_STEP = 8  # bits added to measure the cost of one accumulator bit
MAX_PIPELINE = 4  # deepest pipeline tried; a generator that rejects a depth ends its sweep there
DATAPATHS = ("signed", "magnitude")  # BlockDot datapaths, swept where the generator has the parameter


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


def variants(name: str) -> list[dict]:
    """Parameter sets to implement: each accepted pipeline depth (x each datapath, if any)."""
    defaults = generators.defaults(name)
    depths = [0] if "pipeline" not in defaults else []
    for depth in range(MAX_PIPELINE + 1) if "pipeline" in defaults else ():
        try:
            generators.build(name, pipeline=depth)
        except (ConfigError, ValueError):
            break
        depths.append(depth)
    datapaths = DATAPATHS if "datapath" in defaults else (None,)
    return [{**({"pipeline": d} if "pipeline" in defaults else {}), **({"datapath": p} if p else {})}
            for d in depths for p in datapaths]


def implementations(timeout_s: float) -> pd.DataFrame:
    """Every PE on NanGate45 cells and on the ECP5, at every variant (see the module doc); a variant
    whose cell mapping takes longer than ``timeout_s`` is reported and left out."""
    rows = []
    for name in PES:
        for params in variants(name):
            component = generators.build(name, **params)
            macs = getattr(component, "block", 1)
            try:
                cells = implement.asic(component, timeout_s=timeout_s)
            except DSEError as exc:
                print(f"  {name} {params}: left out: {exc}", flush=True)
                continue
            row = {"unit": name, "pipeline": params.get("pipeline", 0), "datapath": params.get("datapath", ""),
                   "macs_per_cycle": macs, **cells, **implement.fpga(generators.build(name, **params))}
            row["cell_um2_per_mac"] = row["cell_area_um2"] / macs
            row["um2_ns_per_mac"] = row["cell_um2_per_mac"] * row["min_period_ns"]
            print(f"  {name} {params}: {row['cell_area_um2']:.0f} um2, {row['min_period_ns']:.3f} ns, "
                  f"{row['fpga_luts']} LUT {row['fpga_dsps']} DSP {row['fpga_ffs']} FF {row['fpga_fmax_mhz']:.0f} MHz", flush=True)
            rows.append(row)
    return pd.DataFrame(rows)


def best(impl: pd.DataFrame, unit: str) -> pd.Series:
    """A unit's variant with the least area-time per MAC (its best depth and datapath)."""
    rows = impl[impl.unit == unit]
    return rows.loc[rows.um2_ns_per_mac.idxmin()]


def timing_claims(impl: pd.DataFrame) -> pd.DataFrame:
    """dINT4xINT8/INT8xINT8 and AMXFP4/MXFP4 on real cells: area per MAC at each unit's own Fmax
    (with both Fmax), and area x minimum period per MAC (equal throughput), beside the papers' claims."""
    out = []
    for label, big, small, claim in (("INT8xINT8 / dINT4xINT8", "int8xint8", "dint4xint8", DINT_CLAIM["area"]),
                                     ("AMXFP4 / MXFP4", "amxfp4", "mxfp4", AMX_CLAIM)):
        b, s = best(impl, big), best(impl, small)
        for metric, col in (("cell area per MAC, own Fmax", "cell_um2_per_mac"), ("area x period per MAC", "um2_ns_per_mac")):
            ours = b[col] / s[col]
            out.append({"comparison": label, "metric": metric, "ours": ours, "paper": claim, "ours/paper": ours / claim,
                        "variants": f"{big} p{b.pipeline}{b.datapath and ' ' + b.datapath} {1000 / b.min_period_ns:.0f} MHz, "
                                    f"{small} p{s.pipeline}{s.datapath and ' ' + s.datapath} {1000 / s.min_period_ns:.0f} MHz"})
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


def variant_suffix(row: pd.Series) -> str:
    """'' for a generator's defaults; '_p<depth>' and '_<datapath>' where a row differs from them."""
    defaults = generators.defaults(row.unit)
    depth = f"_p{row.pipeline}" if row.pipeline != defaults.get("pipeline", 0) else ""
    return depth + (f"_{row.datapath}" if row.datapath and row.datapath != defaults.get("datapath") else "")


def implementation_entries(impl: pd.DataFrame, tools: dict[str, str]) -> dict:
    """Per unit and variant: NanGate45 cell area per MAC and ASIC Fmax; ECP5 LUTs, FFs and Fmax."""
    entries = {}
    versions = ", ".join(f"{k} {v}" for k, v in tools.items())

    def entry(value, unit, note, node=None):
        return {"value": round(float(value), 6), "unit": unit, "node_nm": node, "cite": "rtl_cell_mapping", "note": note}

    for _, r in impl.iterrows():
        key = f"rtl_mac_{r.unit}{variant_suffix(r)}"
        asic = (f"{implement.LIBERTY}; {r.std_cells} cells ({r.flops} flops) per unit of {r.macs_per_cycle} MAC(s); "
                f"OpenSTA minimum period {r.min_period_ns:.4f} ns, path {r.critical_path}; {versions}")
        fpga = (f"{implement.FPGA}, seed {implement.FPGA_SEED}: {r.fpga_luts} TRELLIS_COMB, {r.fpga_dsps} MULT18X18D, "
                f"{r.fpga_ffs} TRELLIS_FF per unit of {r.macs_per_cycle} MAC(s); {versions}")
        entries[f"{key}_cell_um2"] = entry(r.cell_um2_per_mac, "um2", asic, 45)
        entries[f"{key}_asic_fmax_mhz"] = entry(r.asic_fmax_mhz, "MHz", asic + " (45 nm, typical corner; not node-scaled)")
        entries[f"{key}_fpga_fmax_mhz"] = entry(r.fpga_fmax_mhz, "MHz", fpga)
        entries[f"{key}_fpga_luts"] = entry(r.fpga_luts, "TRELLIS_COMB", fpga)
        entries[f"{key}_fpga_ffs"] = entry(r.fpga_ffs, "TRELLIS_FF", fpga)
    return entries


def readme_table(table: pd.DataFrame, impl: pd.DataFrame) -> str:
    """The README's PPA table (Markdown): generic-gate area and energy per MAC beside real cells."""
    gates = table[table.setting == "default"].set_index("unit")
    lines = ["| unit | pipeline | gates um²/MAC | pJ/MAC | NanGate45 um²/MAC | ASIC ns (MHz) | ECP5 LUT | DSP | FF | ECP5 MHz |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in impl.iterrows():
        g = gates.loc[r.unit] if variant_suffix(r) == "" else None
        lines.append(f"| {r.unit}{r.datapath and ' ' + r.datapath} | {r.pipeline} | "
                     f"{'' if g is None else f'{g.area_um2_per_mac:.0f}'} | {'' if g is None else f'{g.energy_pj_per_mac:.3f}'} | "
                     f"{r.cell_um2_per_mac:.0f} | {r.min_period_ns:.2f} ({r.asic_fmax_mhz:.0f}) | {r.fpga_luts} | "
                     f"{r.fpga_dsps} | {r.fpga_ffs} | {r.fpga_fmax_mhz:.0f} |")
    return "\n".join(lines)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--no-write", action="store_true", help="do not rewrite sim/tech/rtl_macs.yaml")
    args.add_argument("--mapping-timeout", type=float, default=600,
                      help="seconds one unit's cell mapping may take before it is left out (default 600)")
    opts = args.parse_args()
    no_write = opts.no_write
    table = measure()
    assert (table.gate_mismatching_cycles == 0).all(), "synthesized gates differ from the golden model"
    tools = implement.tool_versions()
    print(f"real cells: {implement.LIBERTY}; {implement.FPGA}; {tools}")
    impl = implementations(opts.mapping_timeout)
    cols = ["unit", "setting", "cells", "nand2_eq", "area_um2_per_mac", "energy_pj_per_mac", "energy_pj_per_mac_random"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table[cols].to_string(index=False))
        print()
        print(claims(table).to_string(index=False))
        print()
        print(calibration_check())
        print()
        print(impl[["unit", "pipeline", "datapath", "std_cells", "cell_area_um2", "cell_um2_per_mac", "min_period_ns",
                    "asic_fmax_mhz", "fpga_luts", "fpga_dsps", "fpga_ffs", "fpga_fmax_mhz", "um2_ns_per_mac"]].to_string(index=False))
        print()
        print(timing_claims(impl).to_string(index=False))
        print()
        print(readme_table(table, impl))
    if not no_write:
        header = ("# Generated by benchmarks/bench_mac_ppa.py from this project's RTL (hw/ppa.py and hw/implement.py state\n"
                  "# the methods and their error bars): area and energy per MAC at 45 nm (generic gates), and each unit\n"
                  "# on NanGate45 cells (area, OpenSTA Fmax) and on an ECP5 (LUTs, FFs, Fmax). Do not edit by hand;\n"
                  "# rerun the benchmark.\n")
        entries = {**tech_entries(table), **implementation_entries(impl, tools)}
        TECH_YAML.write_text(header + yaml.safe_dump(entries, sort_keys=False, width=200))
        print(f"wrote {TECH_YAML}")


if __name__ == "__main__":
    main()
