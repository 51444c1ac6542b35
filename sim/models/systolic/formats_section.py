"""The number-format section of a report: shown when a sweep's points use format-aware PEs.

Registered by the systolic family (``sim.models.systolic``) as a report section. A table puts the
formats side by side (accuracy proxy, MAC area, energy per work unit, throughput per mm², DRAM
traffic per work unit; columns in ``sim.formats_study.formats_table``, labelled with the sweep's
work unit: token, frame, ...) and ``formats_sqnr.png`` plots the
accuracy proxy against the area and the energy each format costs, with each PE's marker from the
PE registry.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.formats_study import formats_table
from sim.models.pes import get_pe
from workloads.minilm import published_output_sqnr

SETTING_COLOURS = {"W8A8": "#4c72b0", "W4A8": "#55a868", "W4A4": "#c44e52"}
COLUMNS = {"pe": "PE", "setting": "setting", "sqnr_db": "MiniLM output SQNR (dB)", "mac_area_um2": "area per MAC (µm²)",
           "energy_per_token_mj": "energy per token (mJ)", "mac_energy_per_token_mj": "of it MACs (mJ)",
           "tokens_per_s_per_mm2": "tokens/s per mm² (chip)", "tokens_per_s_per_array_mm2": "tokens/s per mm² (MAC array)",
           "dram_mb_per_token": "DRAM traffic per token (MB)", "utilization": "MAC utilization"}


def has_formats(df: pd.DataFrame) -> bool:
    return "p.mac.weight_format" in df.columns and df["p.mac.weight_format"].notna().any()


def formats_section(df: pd.DataFrame, out: Path, render_table) -> tuple[str, dict[str, str]]:
    """HTML of the section and its plots ({file: caption}); also writes ``formats.csv``."""
    table = formats_table(df)
    unit = df["work_unit"].iloc[0]
    layers = published_output_sqnr()["layers"].max()
    table.to_csv(out / "formats.csv", index=False)
    plots = {"formats_sqnr.png": _plot(table, unit, out / "formats_sqnr.png")}
    body = f"""<h2>Number formats side by side</h2>
<p>Accuracy proxy: SQNR of each linear layer's output of the real all-MiniLM-L6-v2 with both
operands in the PE's formats (mean over the {layers} layers; <code>workloads/data/minilm_output_sqnr.csv</code>).
Area and energy per MAC come from the synthesized RTL of each unit (<code>sim/tech/rtl_macs.yaml</code>,
method in <code>hw/ppa.py</code>) plus the PE's operand registers and, for block formats, the
floating-point adders (<code>mac.acc_bits</code> wide) of the block terms. Also in <a href="formats.csv">formats.csv</a>.</p>
{render_table(table.rename(columns={k: v.replace("token", unit) for k, v in COLUMNS.items()}))}"""
    return body, plots


def _plot(table: pd.DataFrame, unit: str, path: Path) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, x, label in ((axes[0], "mac_area_um2", "area per MAC (µm², PE incl. registers and term adders)"),
                         (axes[1], "energy_per_token_mj", f"energy per {unit} (mJ)")):
        for _, r in table.iterrows():
            ax.scatter(r[x], r["sqnr_db"], s=70, color=SETTING_COLOURS.get(r["setting"], "grey"),
                       marker=get_pe(r["pe"]).marker, zorder=3, label=f"{r['pe']} ({r['setting']})")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("MiniLM output SQNR (dB)")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("Accuracy proxy vs cost per format (higher and further left is better)")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return f"MiniLM output SQNR against area per MAC (left) and energy per {unit} (right)"
