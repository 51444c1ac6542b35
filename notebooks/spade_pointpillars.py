# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # SPADE on PointPillars: vector sparsity, pruning and selective dilation
#
# A pillar is either empty or a dense vector of channels, and only 3-6 % of a KITTI bird's-eye grid
# is occupied. How much of the dense backbone's work does a vector-sparse systolic array (SPADE,
# HPCA 2024) skip, and what do dynamic vector pruning (DVP) and SD-Conv's selective dilation
# (SPADE+) add? This notebook casts a synthetic 64-beam scan (`workloads.lidar`), builds every
# layer's rulebook (`sim.sparse`), runs the SPADE model (`sim.models.spade`) against its ideal
# dense baseline, and sweeps the array size, the DVP keep ratio and SD-Conv's top-t %.
#
# Set `DSE_NOTEBOOK_SMALL=1` for a quick run (CI executes the notebook that way). Run as a script,
# `python notebooks/spade_pointpillars.py [--out DIR]` saves every figure (PNG) and table (CSV)
# into DIR (default `reports/notebooks/spade_pointpillars/`).

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.config import load_config
from sim.engine import run
from sim.models import build_model
from sim.notebook_outputs import NotebookOutputs
from sim.sweep import run_sweep
from workloads import build, lidar
from workloads.pillars import growth

out = NotebookOutputs("spade_pointpillars")

SMALL = os.environ.get("DSE_NOTEBOOK_SMALL") == "1"
sizes = [16, 32] if SMALL else [8, 16, 32, 64]
keeps = [0.6, 1.0] if SMALL else [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
tops = [2, 5] if SMALL else [1, 2, 3, 4, 5]
variants = ["dense", "spconv", "subm", "spconv-p", "sd-conv"]
# SD-Conv paper (arXiv 2408.13798), Appendix Table 1: PointPillars, KITTI val, GFLOPs by top-t %.
published_gflops = {"dense": 46.43, 5: 7.72, 4: 7.39, 3: 6.99, 2: 6.43, 1: 5.91}

# %% [markdown]
# ## The scene and its pillars
# One seeded scan: ground, cars, pedestrians, cyclists and buildings as boxes, seen by a spinning
# 64-beam sensor. Only points inside the KITTI range (x 0..69.12 m, y ±39.68 m) become pillars.

# %%
scan = lidar.scene(0)
pillars = lidar.pillarize(scan.points, lidar.KITTI)
print(f"{len(scan.points)} points, {len(pillars.coords)} pillars on the {lidar.KITTI.shape} grid, "
      f"occupancy {pillars.occupancy:.2%}")
bev = np.zeros(lidar.KITTI.shape)
bev[pillars.coords[:, 0], pillars.coords[:, 1]] = pillars.counts
fig, ax = plt.subplots(figsize=(6, 6.5))
ax.imshow(np.log1p(bev), origin="lower", cmap="magma", interpolation="nearest")
ax.set(title=f"Pillars of scene 0 (log points per pillar), occupancy {pillars.occupancy:.1%}",
       xlabel="x cell (0.16 m)", ylabel="y cell (0.16 m)")
out.figure(fig, "pillars_bev")
plt.show()

# %% [markdown]
# ## Active sets layer by layer
# A regular (dilating) 3x3 conv grows the active set at every layer; SubM keeps it; DVP prunes it
# back; SD-Conv dilates only the top-t % pillars. Density = active output sites / grid sites.

# %%
traces = {v: build({"model": "pointpillars-kitti", "variant": v}) for v in variants}
density = pd.DataFrame({v: pd.DataFrame(growth(traces[v])).set_index("layer")["density"] for v in variants[1:]})
out.table(density, "density_by_layer", index=True)
ax = density.plot(marker="o", figsize=(9, 4), logy=True, title="Output density per layer (PointPillars, KITTI)")
ax.set(xlabel="layer", ylabel="active / grid sites")
ax.set_xticks(range(len(density)), density.index, rotation=70, fontsize=7)
out.figure(ax.figure, "density_by_layer")
plt.show()

# %% [markdown]
# ## One design point against its ideal dense baseline
# `spade-16` (a 16x16 array at 500 MHz, 28 nm; SPADE's real dimensions are not published, so the
# preset is an assumption). The ideal dense columns are the same array running the dense layer.

# %%
model = build_model(load_config("spade-16"))
rows = []
for v in variants[1:]:
    t = run(traces[v], model).totals
    rows.append({"variant": v, "latency_ms": t["time_s"] * 1e3, "energy_mj": t["energy_pj"] * 1e-9,
                 "speed_up": t["ideal_dense_cycles"] / t["cycles"],
                 "energy_saving": t["ideal_dense_energy_pj"] / t["energy_pj"],
                 "macs_saved": 1 - t["macs"] / t["dense_macs"]})
point = pd.DataFrame(rows).set_index("variant")
out.table(point, "design_point", index=True)
point

# %%
result = run(traces["subm"], model)
ops = result.ops[result.ops["kind"].str.startswith("sparse_")].set_index("name")
fig, ax = plt.subplots(figsize=(9, 4))
ax.bar(np.arange(len(ops)) - 0.2, ops["ideal_dense_cycles"], 0.4, label="ideal dense")
ax.bar(np.arange(len(ops)) + 0.2, ops["cycles"], 0.4, label="SPADE (SubM)")
ax.set(yscale="log", ylabel="cycles", title="Cycles per layer, spade-16, SubM variant")
ax.set_xticks(range(len(ops)), ops.index, rotation=70, fontsize=7)
ax.legend()
out.figure(fig, "cycles_by_layer")
plt.show()
energy = result.ops.filter(regex=r"^energy_\w+_pj$").sum().drop("energy_pj", errors="ignore") * 1e-9
out.table(energy.rename("mJ").to_frame(), "energy_breakdown", index=True)
ax = energy.plot.barh(figsize=(6, 3), title="Energy by component, SubM variant (mJ)")
out.figure(ax.figure, "energy_breakdown")
plt.show()


# %% [markdown]
# ## Sweeps: array size, DVP keep ratio, SD-Conv top-t %

# %%
def sweep(name, workload, grid):
    spec = {"name": name, "config": "spade-16", "workload": workload, "grid": grid}
    with tempfile.TemporaryDirectory(prefix="dse-notebook-") as sweep_dir:
        table = run_sweep(spec, sweep_dir, n_jobs=1, progress=False)
    table["latency_ms"] = table["time_per_unit_s"] * 1e3
    table["energy_mj"] = table["energy_per_unit_pj"] * 1e-9
    table["speed_up"] = table["ideal_dense_cycles"] / table["cycles"]
    table["energy_saving"] = table["ideal_dense_energy_pj"] / table["energy_pj"]
    return table


arrays = sweep("spade-array", {"model": "pointpillars-kitti", "variant": "subm"},
               {"array.rows": sizes, "array.cols": sizes})
arrays = arrays[arrays["p.array.rows"] == arrays["p.array.cols"]]
out.table(arrays[["p.array.rows", "p.array.cols", "latency_ms", "energy_mj", "area_mm2", "utilization", "speed_up",
                  "energy_saving"]], "sweep_array")


def plot_lines(table, x, series, stem, band=None, **axes):
    """One line per (column, style, label) of ``series`` against column ``x``; ``band``: a shaded (low, high, label)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for column, style, label in series:
        ax.plot(table[x], table[column], style, label=label)
    if band:
        ax.axhspan(band[0], band[1], color="C0", alpha=0.1, label=band[2])
    ax.set(**axes)
    ax.legend()
    out.figure(fig, stem)
    plt.show()


ratios = [("speed_up", "o-", "speed-up"), ("energy_saving", "s-", "energy saving")]
plot_lines(arrays, "p.array.rows", ratios, "sweep_array", band=(1.3, 10.9, "SPADE speed-up band"), xscale="log",
           xlabel="array rows = cols", ylabel="x vs ideal dense", title="SubM on square arrays")

# %%
pruning = sweep("spade-dvp", {"model": "pointpillars-kitti", "variant": "spconv-p"}, {"workload.keep": keeps})
out.table(pruning[["p.workload.keep", "macs", "latency_ms", "energy_mj", "speed_up", "energy_saving"]], "sweep_dvp")
plot_lines(pruning, "p.workload.keep", ratios, "sweep_dvp", xlabel="DVP keep ratio", ylabel="x vs ideal dense",
           title="SpConv-P: dynamic vector pruning")

# %%
dilation = sweep("spade-sdconv", {"model": "pointpillars-kitti", "variant": "sd-conv"}, {"workload.t": tops})
dense_macs = run(traces["dense"], model).totals["macs"]
dilation["flop_cut"] = dense_macs / dilation["macs"]
dilation["published_cut"] = [published_gflops["dense"] / published_gflops[int(t)] for t in dilation["p.workload.t"]]
out.table(dilation[["p.workload.t", "macs", "flop_cut", "published_cut", "speed_up", "energy_saving"]], "sweep_sdconv")
plot_lines(dilation, "p.workload.t", [("flop_cut", "o-", "ours: dense / SD-Conv MACs"),
                                      ("published_cut", "s--", "SD-Conv Appx Table 1"),
                                      ("speed_up", "^-", "ours: speed-up vs ideal dense")],
           "sweep_sdconv", xlabel="top-t % of pillars dilated", ylabel="x", title="SD-Conv on SPADE+")
out.report()
