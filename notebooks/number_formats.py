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
# # 4-bit number formats: accuracy, MAC cost and LLaMA-2-7B tokens
#
# Which 4-bit format buys the most accuracy per square micron and per joule? This notebook walks
# from the formats themselves (`sim.numerics`) through the synthesized MAC units (`hw`, their
# area and energy in `sim/tech/rtl_macs.yaml`) to LLaMA-2-7B decode and prefill on equal-MAC
# arrays of each PE (`sim.formats_study`).
#
# Set `DSE_NOTEBOOK_SMALL=1` for a quick run (CI executes the notebook that way). Run as a script,
# `python notebooks/number_formats.py [--out DIR]` saves every figure (PNG) and table (CSV) into DIR
# (default `reports/notebooks/number_formats/`).

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.formats_study import formats_table, study_specs
from sim.models.pes import PES
from sim.notebook_outputs import NotebookOutputs
from sim.numerics import bits_per_element, fake_quantize
from sim.sweep import run_sweep
from sim.tech import TechLibrary
from workloads.minilm import published_output_sqnr

SMALL = os.environ.get("DSE_NOTEBOOK_SMALL") == "1"
FORMATS = ["int8", "int4", "dint4", "mxfp8_e4m3", "mxfp4", "nvfp4", "amxfp4"]
out = NotebookOutputs("number_formats")

# %% [markdown]
# ## The formats on a tensor with outlier channels
# A synthetic activation (labelled as such): Gaussian rows with a few channels scaled up 20x, the
# pattern that makes per-tensor INT4 collapse and block scales pay off. Each format runs with its
# defaults (INT per tensor, dINT4 per group of 128, MX/NVFP4/AMXFP4 per block); storage counts the scales.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((256, 1024))
x[:, rng.choice(1024, 8, replace=False)] *= 20  # 8 outlier channels (synthetic)
x = x.T.copy()  # blocks run along the last axis: make it the token axis of each channel
rows = []
for fmt in FORMATS:
    q = fake_quantize(x, fmt)
    rows.append({"format": fmt, "bits/element": bits_per_element(fmt),
                 "SQNR (dB)": 10 * np.log10(np.sum(x ** 2) / np.sum((x - q) ** 2)),
                 "flushed to zero": np.mean(q[x != 0] == 0)})
synthetic = pd.DataFrame(rows)
print(f"{len(FORMATS)} formats on a {x.shape[0]}x{x.shape[1]} synthetic tensor: best "
      f"{synthetic.loc[synthetic['SQNR (dB)'].idxmax(), 'format']}")
out.table(synthetic, "synthetic_tensor")
synthetic.round(3)

# %% [markdown]
# ## Accuracy on a real model
# SQNR of every linear layer's output of all-MiniLM-L6-v2 with both operands quantized in a PE's
# formats, averaged over the 37 layers (committed by `python -m workloads.minilm`).

# %%
sqnr = published_output_sqnr()
out.table(sqnr, "minilm_sqnr")
sqnr

# %% [markdown]
# ## What the MAC units cost
# Yosys synthesis of each Amaranth unit, gate-level simulation on MiniLM operands, NanGate45 cell
# areas and a toggle energy calibrated to Horowitz's 8-bit multiply (method and error bars in
# `hw/ppa.py`). Block units do 32 MACs per cycle; the numbers are per MAC at 45 nm.

# %%
tech = TechLibrary.load(45)
units = list(PES)  # the PE registry
macs = pd.DataFrame({"unit": units,
                     "area per MAC (µm²)": [tech.entries[f"rtl_mac_{u}_um2"]["value"] for u in units],
                     "energy per MAC (pJ)": [tech.entries[f"rtl_mac_{u}_pj"]["value"] for u in units]})
out.table(macs, "mac_units")
macs

# %% [markdown]
# ## LLaMA-2-7B on equal-MAC arrays
# 16,384 MACs per cycle each (128 x 128 integer PEs or 4 x 128 block PEs of 32 lanes), `edge-128`
# memory system. Decode reads every weight once per token and is DRAM-bound; prefill reuses them.

# %%
tables = {}
for name, spec in study_specs().items():
    if SMALL:
        spec["workload"] = {**spec["workload"], "num_layers": 2}
    phase = name.rsplit("-", 1)[1]
    with tempfile.TemporaryDirectory(prefix="dse-formats-") as sweep_dir:
        tables[phase] = formats_table(run_sweep(spec, sweep_dir, n_jobs=2, progress=False))
    out.table(tables[phase], f"llama_{phase}")
tables["decode"].round(3)

# %%
tables["prefill"].round(3)

# %% [markdown]
# ## Accuracy against cost
# Up and to the left is better: SQNR per µm² of MAC and per mJ of a prefill token.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
pre = tables["prefill"]
for ax, col, label in ((axes[0], "mac_area_um2", "area per MAC (µm², 16 nm)"),
                       (axes[1], "energy_per_token_mj", "prefill energy per token (mJ)")):
    ax.scatter(pre[col], pre["sqnr_db"], s=50)
    for _, r in pre.iterrows():
        ax.annotate(r["pe"], (r[col], r["sqnr_db"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("MiniLM output SQNR (dB)")
out.figure(fig, "accuracy_vs_cost")
plt.show()
out.report()

# %% [markdown]
# Reading it: AMXFP4 buys about 3 dB over MXFP4 but its unit, with four sign-steered partial sums
# and four scaled terms per block, is 2.5x the area of the MXFP4 unit in our RTL; dINT4 buys
# about 1 dB over INT4 for a 1-2 % larger MAC. W4A4 INT4 is cheapest per token and far the least
# accurate. Decode energy is DRAM energy: the 4-bit formats halve it, their MAC costs hardly show.
