"""Every notebook (jupytext percent format), run as a script in its small mode, saves its figures
and tables into the folder given by ``--out``, leaves no temporary folder behind, and the saved
numbers agree with figures computed here independently (published model sizes, format specs,
the DRAM roofline, dominance)."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

# LLaMA-2-7B (Touvron et al. 2023, arXiv:2307.09288): hidden 4096, FFN 11008, vocabulary 32000;
# one layer holds 4 x 4096^2 attention and 3 x 4096 x 11008 FFN weights (norm weights aside).
LAYER_WEIGHTS = 4 * 4096 * 4096 + 3 * 4096 * 11008
LM_HEAD_WEIGHTS = 32_000 * 4096
KV_PER_TOKEN_AND_LAYER = 2 * 4096  # K and V rows of 32 heads x 128
SMALL_LAYERS = 2  # DSE_NOTEBOOK_SMALL=1 runs two layers (and the LM head)
EDGE_128_DRAM_BYTES_PER_CYCLE = 25.6  # DDR4-3200, 64-bit channel (JESD79-4): 25.6 GB/s at 1 GHz


def run_notebook(name: str, tmp_path: Path) -> Path:
    """Run notebook ``name`` as a script into ``tmp_path/out``; temporaries go to a private TMPDIR."""
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "DSE_NOTEBOOK_SMALL": "1", "MPLBACKEND": "Agg", "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, str(ROOT / "notebooks" / f"{name}.py"), "--out", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"to {out}" in proc.stdout  # it says where the files went
    assert not list(tmp.iterdir()), "temporary folders left behind"
    return out


def assert_real_figure(path: Path):
    """A saved PNG of sensible size with more than a blank canvas, axes and a few labels on it."""
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    colours = np.unique(image[..., :3].reshape(-1, 3).round(2), axis=0)
    assert len(colours) > 50, f"{path.name} looks empty"


def test_there_are_notebooks():
    assert {n.stem for n in NOTEBOOKS} == {"number_formats", "systolic_llama_decode", "spade_pointpillars"}


def test_systolic_llama_decode(tmp_path):
    out = run_notebook("systolic_llama_decode", tmp_path)
    for figure in ("latency_energy_pareto", "stall_share_by_rows"):
        assert_real_figure(out / f"{figure}.png")
    # One decode step (context 4096, int8) reads every weight and the whole KV cache once from DRAM.
    dram_bytes = SMALL_LAYERS * (LAYER_WEIGHTS + 4096 * KV_PER_TOKEN_AND_LAYER) + LM_HEAD_WEIGHTS
    roof_cycles = dram_bytes / EDGE_128_DRAM_BYTES_PER_CYCLE
    total = pd.read_csv(out / "design_point_by_kind.csv", index_col="kind").loc["total"]
    assert dram_bytes <= total["bytes_dram_read"] <= 1.002 * dram_bytes  # + activations and norm weights
    assert roof_cycles <= total["cycles"] <= 1.01 * roof_cycles  # DRAM-bound: the roofline decides
    sweep = pd.read_csv(out / "sweep.csv")
    assert len(sweep) == 3 * 3 * 3  # rows x cols x dataflows of the small grid
    assert (sweep["latency_ms"] * 1e6 >= roof_cycles).all()
    assert sweep["latency_ms"].min() * 1e6 <= 1.01 * roof_cycles
    points = sweep[["latency_ms", "energy_mj"]].to_numpy()
    dominated = [bool(((points <= p).all(axis=1) & (points < p).any(axis=1)).any()) for p in points]
    assert list(sweep["pareto"]) == [not d for d in dominated]
    share = pd.read_csv(out / "stall_share_by_rows.csv", index_col="p.array.rows")
    expected = (sweep.assign(share=sweep["stall_cycles"] / sweep["cycles"])
                .groupby(["p.array.rows", "p.array.dataflow"])["share"].mean().unstack())
    pd.testing.assert_frame_equal(share, expected, check_names=False)


def synthetic_tensor() -> np.ndarray:
    """The notebook's synthetic activation (its stated recipe), channels along the first axis."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 1024))
    x[:, rng.choice(1024, 8, replace=False)] *= 20
    return x.T.copy()


def sqnr_db(x, q):
    return 10 * np.log10(np.sum(x**2) / np.sum((x - q) ** 2))


def int8_per_tensor(x):
    """Symmetric int8, one scale amax / 127, round half to even."""
    s = np.abs(x).max() / 127
    return np.clip(np.rint(x / s), -128, 127) * s


def mxfp4_ocp(x):
    """OCP MX v1.0 MXFP4: blocks of 32, E8M0 scale 2^(floor(log2 amax) - 2), E2M1 elements (nearest)."""
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])
    blocks = x.reshape(-1, 32)
    scale = 2.0 ** (np.floor(np.log2(np.abs(blocks).max(axis=1, keepdims=True))) - 2)
    v = np.minimum(np.abs(blocks) / scale, 6)
    nearest = grid[np.abs(v[..., None] - grid).argmin(axis=-1)]
    return (np.sign(blocks) * nearest * scale).reshape(x.shape)


def test_number_formats(tmp_path):
    out = run_notebook("number_formats", tmp_path)
    assert_real_figure(out / "accuracy_vs_cost.png")
    synthetic = pd.read_csv(out / "synthetic_tensor.csv", index_col="format")
    # storage: OCP MX v1.0 (8-bit scale per 32 elements), NVFP4 (8-bit E4M3 scale per 16)
    assert synthetic["bits/element"].to_dict() == pytest.approx(
        {"int8": 8, "int4": 4, "dint4": 4, "mxfp8_e4m3": 8 + 8 / 32, "mxfp4": 4 + 8 / 32, "nvfp4": 4 + 8 / 16,
         "amxfp4": 4 + 2 * 8 / 32})
    x = synthetic_tensor()
    assert synthetic.loc["int8", "SQNR (dB)"] == pytest.approx(sqnr_db(x, int8_per_tensor(x)), abs=0.05)
    assert synthetic.loc["mxfp4", "SQNR (dB)"] == pytest.approx(sqnr_db(x, mxfp4_ocp(x)), abs=0.05)

    units = pd.read_csv(out / "mac_units.csv", index_col="unit")
    rtl = yaml.safe_load((ROOT / "sim" / "tech" / "rtl_macs.yaml").read_text())
    assert units["energy per MAC (pJ)"].to_dict() == {u: rtl[f"rtl_mac_{u}_pj"]["value"] for u in units.index}

    sqnr = pd.read_csv(out / "minilm_sqnr.csv").set_index("pe")["sqnr_db_mean"]
    bits = {"int8xint8": (8, 8), "int4xint8": (4, 4), "int4xint4": (4, 4), "dint4xint8": (4, 4),
            "mxfp4": (4.25, 4.25), "amxfp4": (4.5, 4.5)}  # (weight, KV cache) bits per element
    decode = pd.read_csv(out / "llama_decode.csv", index_col="pe")
    prefill = pd.read_csv(out / "llama_prefill.csv", index_col="pe")
    assert set(decode.index) == set(prefill.index) == set(bits)
    for pe, (w, kv) in bits.items():
        # decode at context 2048 streams the weights and the KV cache once per token
        weight_bytes = (SMALL_LAYERS * LAYER_WEIGHTS + LM_HEAD_WEIGHTS) * w / 8
        kv_bytes = SMALL_LAYERS * 2048 * KV_PER_TOKEN_AND_LAYER * kv / 8
        mb = (weight_bytes + kv_bytes) / 1e6
        assert mb <= decode.loc[pe, "dram_mb_per_token"] <= 1.002 * mb, pe
        assert decode.loc[pe, "sqnr_db"] == prefill.loc[pe, "sqnr_db"] == sqnr[pe]
    assert prefill["dram_mb_per_token"].lt(decode["dram_mb_per_token"] / 50).all()  # 512 tokens share the weights


# PointPillars on KITTI (OpenPCDet pointpillar.yaml): 3x3 convs of blocks with 4/6/6 layers at
# 248x216, 124x108, 62x54 (64/128/256 channels, the first of each strided), deconvs to 128 channels
# at 248x216 (kernel = stride 1/2/4), a 1x1 head of 6 x (3 + 7 + 2) outputs on 384 channels, and a
# PFN of 10 -> 64 per point (at most 12000 pillars of 32 points).
KITTI_DENSE_MACS = (248 * 216 * 9 * 64 * (64 + 3 * 64) + 124 * 108 * 9 * 128 * (64 + 5 * 128)
                    + 62 * 54 * 9 * 256 * (128 + 5 * 256) + 248 * 216 * 64 * 128 + 124 * 108 * 4 * 128 * 128
                    + 62 * 54 * 16 * 256 * 128 + 248 * 216 * 384 * 6 * 12)
KITTI_PFN_MAX_MACS = 12000 * 32 * 10 * 64


def test_spade_pointpillars(tmp_path):
    out = run_notebook("spade_pointpillars", tmp_path)
    for figure in ("pillars_bev", "density_by_layer", "cycles_by_layer", "sweep_array", "sweep_dvp", "sweep_sdconv"):
        assert_real_figure(out / f"{figure}.png")
    density = pd.read_csv(out / "density_by_layer.csv", index_col="layer")
    for block in ("block1", "block2", "block3"):  # SubM keeps its input set; a regular conv only grows it
        rows = [f"{block}.conv{i}" for i in range(4)]
        assert density.loc[rows[1:], "subm"].tolist() == [density.loc[rows[0], "subm"]] * 3
        assert density.loc[rows, "spconv"].is_monotonic_increasing
    dilation = pd.read_csv(out / "sweep_sdconv.csv")
    dense = dilation["flop_cut"] * dilation["macs"]  # the dense network's MACs, as the notebook has them
    assert ((dense >= KITTI_DENSE_MACS) & (dense <= KITTI_DENSE_MACS + KITTI_PFN_MAX_MACS)).all()
    assert dilation["published_cut"].tolist() == pytest.approx([46.43 / 6.43, 46.43 / 7.72])  # t = 2, 5
    pruning = pd.read_csv(out / "sweep_dvp.csv").sort_values("p.workload.keep")
    assert pruning["macs"].is_monotonic_increasing  # keeping more vectors never saves work
    arrays = pd.read_csv(out / "sweep_array.csv").sort_values("p.array.rows")
    assert (arrays["p.array.rows"] == arrays["p.array.cols"]).all() and arrays["p.array.rows"].is_unique
    assert arrays["area_mm2"].is_monotonic_increasing and arrays["utilization"].le(1).all()


def test_bad_out_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-c", "from sim.notebook_outputs import NotebookOutputs; "
                           f"NotebookOutputs('x', ['--out', {str(blocker / 'out')!r}])"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: --out: got '{blocker / 'out'}'; allowed: a folder that can "
                                                "be created (Not a directory)"]
