"""The number-format study: LLaMA-2-7B decode and prefill on equal-MAC arrays of every format-aware PE.

One sweep case per PE of the PE registry (``sim.models.pes``) on the ``edge-128`` preset (16 nm,
1 GHz, DDR4 at 25.6 GB/s, 4 MiB of SRAM):

- formats: the trace's W and KV in the PE's weight format, A and O in its activation format (so the
  W4A8 cases keep a 4-bit KV cache, "W4A8KV4"; attention runs on the same PEs);
- accumulator: the width the integer unit was synthesized at, FP32 for the block units' terms;
- array: 128 x 128 integer PEs, or 4 x 128 block PEs of 32 lanes: 16,384 MACs per cycle either
  way, and the same 128 elements of K per column per cycle.

``formats_table`` turns a finished sweep into the comparison the report shows: accuracy proxy
(MiniLM output SQNR of the trace's format pair, ``workloads.accuracy``), MAC area, energy per
token, throughput per mm² and DRAM traffic per token.
"""

from __future__ import annotations

import pandas as pd

from sim.models.pes import PES, by_formats

BASE = "edge-128"
ARRAY_COLS, INT_ROWS = 128, 128
WORKLOADS = {
    "decode": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
    "prefill": {"model": "llama-2-7b", "phase": "prefill", "batch": 1, "prompt": 512},
}


def cases() -> dict[str, dict]:
    """Sweep cases, one per PE: its formats, accumulator, array shape and trace formats."""
    out = {}
    for pe in PES.values():
        w, a = pe.weight_format, pe.act_format
        out[pe.name] = {"mac.weight_format": w, "mac.act_format": a,
                        "mac.acc_bits": 32 if pe.is_block else pe.rtl_params["acc_bits"],
                        "array.rows": INT_ROWS // pe.macs_per_cycle, "array.cols": ARRAY_COLS,
                        "workload.formats": {"W": w, "KV": w, "A": a, "O": a}}
    return out


def study_specs() -> dict[str, dict]:
    """One sweep spec per phase, keyed by sweep name."""
    return {f"llama-2-7b-formats-{phase}": {"name": f"llama-2-7b-formats-{phase}", "config": BASE,
                                            "workload": workload, "cases": cases()}
            for phase, workload in WORKLOADS.items()}


def formats_table(points: pd.DataFrame) -> pd.DataFrame:
    """One row per format-aware point of a finished sweep (``sim.sweep.load_results`` rows); "token"
    in the column names stands for the sweep's work unit (tokens for LLM workloads)."""
    rows = []
    for _, p in points[points["p.mac.weight_format"].notna()].iterrows():
        pe = by_formats(p["p.mac.weight_format"], p["p.mac.act_format"])
        n = p["work_units"]
        rows.append({
            "pe": pe.name, "setting": pe.setting,
            "sqnr_db": p.get("accuracy_sqnr_db", float("nan")),
            "mac_area_um2": p["area_array_mm2"] * 1e6 / p["peak_macs_per_cycle"],
            "array_mm2": p["area_array_mm2"],
            "energy_per_token_mj": p["energy_per_unit_pj"] * 1e-9,
            "mac_energy_per_token_mj": p["energy_mac_pj"] * 1e-9 / n,
            "tokens_per_s_per_mm2": p["units_per_s_per_mm2"],
            "tokens_per_s_per_array_mm2": p["units_per_s"] / p["area_array_mm2"],
            "dram_mb_per_token": (p["bytes_dram_read"] + p["bytes_dram_write"]) / n / 1e6,
            "utilization": p["utilization"],
        })
    return pd.DataFrame(rows)
