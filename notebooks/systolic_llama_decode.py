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
# # Systolic arrays for one LLaMA decode step
#
# How do array size and dataflow change the latency and energy of generating one token of
# LLaMA-2-7B? A decode step multiplies a single activation row by every weight matrix, so the
# array is starved (M = batch) and the DRAM interface usually decides. This notebook sweeps the
# array shape and dataflow of the `edge-128` preset, then looks at where time and energy go.
#
# Set `DSE_NOTEBOOK_SMALL=1` for a quick run (CI executes the notebook that way). Run as a script,
# `python notebooks/systolic_llama_decode.py [--out DIR]` saves every figure (PNG) and table (CSV)
# into DIR (default `reports/notebooks/systolic_llama_decode/`).

# %%
import os
import tempfile

import matplotlib.pyplot as plt

from sim.config import load_config
from sim.engine import run
from sim.models import build_model
from sim.notebook_outputs import NotebookOutputs
from sim.pareto import pareto_front
from sim.sweep import run_sweep
from workloads import build

out = NotebookOutputs("systolic_llama_decode")

SMALL = os.environ.get("DSE_NOTEBOOK_SMALL") == "1"
sizes = [16, 64, 256] if SMALL else [16, 32, 64, 128, 256]
layers = 2 if SMALL else 32

# %% [markdown]
# ## One design point
# The engine returns one row per op; totals and the cited cost basis come with it.

# %%
workload = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 4096, "num_layers": layers}
trace = build(workload)
result = run(trace, build_model(load_config("edge-128")))
print(f"{len(trace)} ops, {result.totals['time_s'] * 1e3:.3f} ms, {result.totals['energy_pj'] * 1e-9:.3f} mJ")
by_kind = result.ops.groupby("kind")[["cycles", "stall_cycles", "energy_pj", "bytes_dram_read"]].sum()
by_kind.loc["total"] = by_kind.sum()
out.table(by_kind, "design_point_by_kind", index=True)
by_kind

# %% [markdown]
# ## Sweep array shape x dataflow

# %%
spec = {"name": "notebook-decode", "config": "edge-128", "workload": workload,
        "grid": {"array.rows": sizes, "array.cols": sizes, "array.dataflow": ["os", "ws", "is"]}}
with tempfile.TemporaryDirectory(prefix="dse-notebook-") as sweep_dir:
    table = run_sweep(spec, sweep_dir, n_jobs=2, progress=False)
table["latency_ms"] = table["time_per_unit_s"] * 1e3  # per token (batch 1: one token a step)
table["energy_mj"] = table["energy_per_unit_pj"] * 1e-9
table["pareto"] = pareto_front(table, "latency_ms", "energy_mj")
columns = ["p.array.rows", "p.array.cols", "p.array.dataflow", "latency_ms", "energy_mj", "area_mm2", "utilization",
           "cycles", "stall_cycles", "pareto"]
out.table(table[columns].sort_values("latency_ms"), "sweep")
table[columns].sort_values("latency_ms").head(10)

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for df, marker in zip(["os", "ws", "is"], "o^s"):
    sel = table[table["p.array.dataflow"] == df]
    sc = ax.scatter(sel["latency_ms"], sel["energy_mj"], c=sel["area_mm2"], marker=marker, cmap="viridis",
                    label=df.upper(), edgecolor="k", linewidth=0.3)
front = table[table["pareto"]].sort_values("latency_ms")
ax.step(front["latency_ms"], front["energy_mj"], where="post", color="crimson", label="Pareto front")
ax.set(xscale="log", yscale="log", xlabel="latency per token (ms)", ylabel="energy per token (mJ)",
       title="LLaMA-2-7B decode on edge-128 variants")
fig.colorbar(sc, label="area (mm$^2$)")
ax.legend()
out.figure(fig, "latency_energy_pareto")
plt.show()

# %% [markdown]
# ## Where the time goes
# Stall cycles are DRAM-bound time: a bigger array does not help once the weights cannot arrive
# faster. The share of stalls per dataflow and size shows it.

# %%
table["stall_share"] = table["stall_cycles"] / table["cycles"]
pivot = table.pivot_table(index="p.array.rows", columns="p.array.dataflow", values="stall_share", aggfunc="mean")
ax = pivot.plot(marker="o", figsize=(6, 4), title="DRAM stall share vs array rows (mean over cols)")
ax.set(xscale="log", xlabel="array rows", ylabel="stall cycles / cycles")
out.table(pivot, "stall_share_by_rows", index=True)
out.figure(ax.figure, "stall_share_by_rows")
plt.show()
out.report()
