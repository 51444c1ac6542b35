"""The number-format study: LLaMA-2-7B decode and prefill on equal-MAC arrays of every format-aware PE.

One sweep case per PE of ``sim.models.mac_pe.PE_UNITS`` on the ``edge-128`` preset (16 nm, 1 GHz,
DDR4 at 25.6 GB/s, 4 MiB of SRAM):

- formats: the trace's W and KV in the PE's weight format, A and O in its activation format (so the
  W4A8 cases keep a 4-bit KV cache, "W4A8KV4"; attention runs on the same PEs);
- accumulator: the width the integer unit was synthesized at, FP32 for the block units' terms;
- array: 128 x 128 integer PEs, or 4 x 128 block PEs of 32 lanes: 16,384 MACs per cycle either
  way, and the same 128 elements of K per column per cycle.

``formats_table`` turns a finished sweep into the comparison the report shows: accuracy proxy
(MiniLM output SQNR of the pair, ``workloads.minilm``), MAC area, energy per token, throughput per
mm² and DRAM traffic per token.
"""

from __future__ import annotations

import json

import pandas as pd

from sim.models.mac_pe import BLOCK_TERMS, PE_UNITS

BASE = "edge-128"
ARRAY_COLS, INT_ROWS = 128, 128
WORKLOADS = {
    "decode": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
    "prefill": {"model": "llama-2-7b", "phase": "prefill", "batch": 1, "prompt": 512},
}
SETTING = {"int8xint8": "W8A8", "int4xint8": "W4A8", "dint4xint8": "W4A8", "int4xint4": "W4A4",
           "mxfp4": "W4A4", "amxfp4": "W4A4"}


def cases() -> dict[str, dict]:
    """Sweep cases, one per PE: its formats, accumulator, array shape and trace formats."""
    from hw.generators import UNITS

    out = {}
    for (w, a), unit in PE_UNITS.items():
        block = unit in BLOCK_TERMS
        out[unit] = {"mac.weight_format": w, "mac.act_format": a,
                     "mac.acc_bits": 32 if block else UNITS[unit][1]["acc_bits"],
                     "array.rows": INT_ROWS // 32 if block else INT_ROWS, "array.cols": ARRAY_COLS,
                     "workload.formats": {"W": w, "KV": w, "A": a, "O": a}}
    return out


def study_specs() -> dict[str, dict]:
    """One sweep spec per phase, keyed by sweep name."""
    return {f"llama-2-7b-formats-{phase}": {"name": f"llama-2-7b-formats-{phase}", "config": BASE,
                                            "workload": workload, "cases": cases()}
            for phase, workload in WORKLOADS.items()}


def tokens(workload: dict) -> int:
    """Tokens one step of ``workload`` produces (decode) or consumes (prefill)."""
    return workload.get("batch", 1) * (workload["prompt"] if workload["phase"] == "prefill" else 1)


def formats_table(points: pd.DataFrame) -> pd.DataFrame:
    """One row per format-aware point of a finished sweep (``sim.sweep.load_results`` rows)."""
    from workloads.minilm import published_output_sqnr

    sqnr = published_output_sqnr().set_index("pe")
    rows = []
    for _, p in points[points["p.mac.weight_format"].notna()].iterrows():
        unit = PE_UNITS[(p["p.mac.weight_format"], p["p.mac.act_format"])]
        n = tokens(json.loads(p["point_json"])["workload"])
        rows.append({
            "pe": unit, "setting": SETTING[unit],
            "sqnr_db": sqnr.loc[unit, "sqnr_db_mean"],
            "mac_area_um2": p["area_array_mm2"] * 1e6 / p["array_macs"],
            "array_mm2": p["area_array_mm2"],
            "energy_per_token_mj": p["energy_pj"] * 1e-9 / n,
            "mac_energy_per_token_mj": p["energy_mac_pj"] * 1e-9 / n,
            "tokens_per_s_per_mm2": n / p["time_s"] / p["area_mm2"],
            "tokens_per_s_per_array_mm2": n / p["time_s"] / p["area_array_mm2"],
            "dram_mb_per_token": (p["bytes_dram_read"] + p["bytes_dram_write"]) / n / 1e6,
            "utilization": p["utilization"],
        })
    return pd.DataFrame(rows)
