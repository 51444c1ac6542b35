"""The SPADE report section: sparse against the ideal dense baseline, beside the papers' bands.

Registered by the SPADE family (``sim.models.spade``). Per design point: speed-up and energy saving
against the ideal dense array (``sim.models.spade.model``) and the computation saved, next to the
SPADE abstract's bands (computation saved 36.3-89.2 %, speed-up 1.3-10.9x, energy saving
1.5-12.6x vs an ideal dense accelerator) and SD-Conv's 7.2x FLOP cut (PointPillars, KITTI, t = 2;
Appx Table 1). For the fastest point: per-layer density, pairs, cycles sparse vs ideal dense
(``spade_layers.png``) and the energy breakdown beside the ideal dense energy (``spade_energy.png``);
``spade_bands.png`` places every point in the bands. Also in ``spade.csv`` and ``spade_layers.csv``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# (low, high) of each band, the SPADE abstract (arXiv 2305.07522v3)
BANDS = {"computation_saved_pct": (36.3, 89.2), "speedup": (1.3, 10.9), "energy_saving": (1.5, 12.6)}
SD_CONV_FLOP_CUT = 7.2  # SD-Conv Appx Table 1: 46.43 / 6.43 GFLOPs, PointPillars KITTI val, t = 2


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per point: speed-up, energy saving and computation saved vs ideal dense, MAC cut, in-band flags."""
    table = pd.DataFrame({
        "point": df["label"],
        "ms per frame": df["time_per_unit_s"] * 1e3,
        "ideal dense ms": df["ideal_dense_cycles"] / df["clock_hz"] / df["work_units"] * 1e3,
        "speedup": df["speedup_vs_ideal_dense"],
        "energy_saving": df["energy_saving_vs_ideal_dense"],
        "computation_saved_pct": 100 * (1 - 1 / df["mac_cut_vs_dense"]),
        "MAC cut (x)": df["mac_cut_vs_dense"],
        "RGU share": df["rgu_cycles"] / df["cycles"],
        "bank-conflict cycles": df["gsu_conflict_cycles"],
    })
    for column, (low, high) in BANDS.items():
        table[f"{column} in band"] = np.where((table[column] >= low) & (table[column] <= high), "yes", "no")
    return table.reset_index(drop=True)


def layers(row: pd.Series) -> pd.DataFrame:
    """Per op of one point: density in/out, pairs, MACs, cycles sparse and ideal dense."""
    table = pd.DataFrame({"op": row["op_name"], "kind": row["op_kind"], "density in": row["op_density_in"],
                          "density out": row["op_density_out"], "pairs": row["op_pairs"], "MACs": row["op_macs"],
                          "dense MACs": row["op_dense_macs"], "cycles": row["op_cycles"],
                          "ideal dense cycles": row["op_ideal_dense_cycles"], "RGU cycles": row["op_rgu_cycles"]})
    table["speedup"] = table["ideal dense cycles"] / table["cycles"]
    return table


def spade_section(df: pd.DataFrame, out: Path, render_table) -> tuple[str, dict[str, str]] | None:
    """HTML of the section and its plots ({file: caption}); writes ``spade.csv`` and ``spade_layers.csv``."""
    if "ideal_dense_cycles" not in df.columns or "op_ideal_dense_cycles" not in df.columns:
        return None
    table = summary(df)
    best = df.loc[df["time_per_unit_s"].idxmin()]
    per_layer = layers(best)
    table.to_csv(out / "spade.csv", index=False)
    per_layer.to_csv(out / "spade_layers.csv", index=False)
    plots = {"spade_bands.png": _bands(table, out / "spade_bands.png"),
             "spade_layers.png": _layers(per_layer, best["label"], out / "spade_layers.png"),
             "spade_energy.png": _energy(best, out / "spade_energy.png")}
    bands = "; ".join(f"{k.replace('_', ' ').replace(' pct', ' (%)')} {lo:g}-{hi:g}" for k, (lo, hi) in BANDS.items())
    body = f"""<h2>SPADE: sparse against the ideal dense array</h2>
<p>Ideal dense: the same array running every layer of the point's own network densely over the whole
pseudo-image with the systolic closed form and no memory stalls (its energy: MACs, SRAM, DRAM and
leakage of the systolic memory model). Bands of the SPADE abstract (HPCA 2024, vs an ideal dense
accelerator): {bands}. SD-Conv (PointPillars, KITTI, t = 2) cuts FLOPs {SD_CONV_FLOP_CUT:g}x against
the original dense network (Appx Table 1); the MAC cut column of an SD-Conv point is against its own
layers run densely, whose 2x2 stride-2 convs cost less than the original 3x3 ones (the original's
count is the <code>dense</code> variant's). Also in <a href="spade.csv">spade.csv</a>.</p>
{render_table(table)}
<p>Per layer of the fastest point ({best['label']}); also in <a href="spade_layers.csv">spade_layers.csv</a>.</p>
{render_table(per_layer)}"""
    return body, plots


def _bands(table: pd.DataFrame, path: Path) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    titles = {"computation_saved_pct": "computation saved (%)", "speedup": "speed-up vs ideal dense (x)",
              "energy_saving": "energy saving vs ideal dense (x)"}
    for ax, (column, (low, high)) in zip(axes, BANDS.items()):
        ax.axhspan(low, high, color="#55a868", alpha=0.2, label="SPADE abstract")
        ax.scatter(range(len(table)), table[column], color="#4c72b0", zorder=3)
        ax.set_xticks(range(len(table)), table["point"], rotation=45, ha="right", fontsize=7)
        ax.set_title(titles[column])
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return "Each design point against the SPADE abstract's bands (shaded)"


def _layers(per_layer: pd.DataFrame, label: str, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(per_layer)), 4.2))
    x = np.arange(len(per_layer))
    ax.bar(x - 0.2, per_layer["ideal dense cycles"], 0.4, label="ideal dense", color="#c44e52")
    ax.bar(x + 0.2, per_layer["cycles"], 0.4, label="SPADE", color="#4c72b0")
    ax.set_yscale("log")
    ax.set_ylabel("cycles")
    ax.set_xticks(x, per_layer["op"], rotation=60, ha="right", fontsize=7)
    twin = ax.twinx()
    twin.plot(x, per_layer["density in"], "k.-", label="input density")
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("active share of the input grid")
    ax.legend(loc="upper left")
    twin.legend(loc="upper right")
    ax.set_title(f"Per layer: SPADE vs ideal dense ({label})")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return f"Per-layer cycles, SPADE against ideal dense, and input density ({label})"


def _energy(best: pd.Series, path: Path) -> str:
    parts = {c[len("energy_"):-len("_pj")]: best[c] for c in best.index
             if c.startswith("energy_") and c.endswith("_pj") and c not in ("energy_pj", "energy_per_unit_pj")
             and pd.notna(best[c])}
    fig, ax = plt.subplots(figsize=(6, 4))
    bottom = 0.0
    for name, value in sorted(parts.items(), key=lambda kv: -kv[1]):
        ax.bar(0, value * 1e-6, bottom=bottom, label=name)
        bottom += value * 1e-6
    ax.bar(1, best["ideal_dense_energy_pj"] * 1e-6, color="#999999", hatch="//", label="ideal dense (total)")
    ax.set_xticks([0, 1], ["SPADE", "ideal dense"])
    ax.set_ylabel(f"energy per run (µJ, {best['work_units']:g} {best['work_unit']})")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_title(f"Energy by component ({best['label']})")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return f"Energy by component of the fastest point against the ideal dense energy ({best['label']})"
