"""Reports: the Pareto mask against brute force, a report of a hand-built sweep folder, errors, a real sweep."""

import itertools
import json
import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sim.errors import DSEError
from sim.report import pareto_front, write_report

PNGS = ("pareto.png", "utilization.png", "energy_breakdown.png")
KINDS = ["elementwise", "gemm", "softmax", "kv_read", "gemm"]
BASIS = [{"quantity": "mac_pj", "value": 0.41, "unit": "pJ", "source": "horowitz2014:int_mult_8_pj x scaling"},
         {"quantity": "dram_pj_per_bit", "value": 15.0, "unit": "pJ/bit", "source": "dram_typical:ddr4"}]


def brute_pareto(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(y)
    return np.array([ok[i] and not any(ok[j] and x[j] <= x[i] and y[j] <= y[i] and (x[j] < x[i] or y[j] < y[i])
                                       for j in range(len(x))) for i in range(len(x))])


@pytest.mark.parametrize("seed", range(30))
def test_pareto_front_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    if seed % 3 == 0:  # many exact ties and duplicates
        x, y = rng.integers(0, 5, n).astype(float), rng.integers(0, 5, n).astype(float)
    else:
        x, y = rng.lognormal(size=n), rng.lognormal(size=n)
    if seed % 5 == 0:
        x[rng.integers(0, n)] = np.nan
    mask = pareto_front(pd.DataFrame({"x": x, "y": y}), "x", "y")
    assert mask.dtype == bool and (mask == brute_pareto(x, y)).all()


def test_pareto_front_edge_cases():
    df = pd.DataFrame({"x": [1.0, 1.0, 2.0, 0.5, 3.0], "y": [1.0, 1.0, 0.5, 2.0, 0.5]})
    assert pareto_front(df, "x", "y").tolist() == [True, True, True, True, False]
    assert pareto_front(df.iloc[:0], "x", "y").tolist() == []


def _row(i: int, rows: int, dataflow: str, kb: int) -> dict:
    """One result row shaped like ``sim.point.evaluate_point``'s, with a latency/energy trade-off."""
    rng = np.random.default_rng(i)
    time_s = 1e-3 * 64 / rows * (1.3 if dataflow == "ws" else 1.0) * (1 + 0.05 * rng.random())
    parts = {"mac": 2e8 * (1 + 0.1 * rng.random()), "vector": 1e6, "sram": 1e7 * kb / 16,
             "dram": 3e9 * 16 / kb, "leakage": 5e7 * rows / 64 * time_s / 1e-3}
    util = [1.0, min(1.0, 16 / rows), 0.8, np.nan, min(1.0, 8 / rows)]
    return {"point": i, "key": f"k{i:04d}", "p.array.rows": rows, "p.array.dataflow": dataflow, "p.sram.ifmap_kb": kb,
            "config_name": "synthetic", "cycles": time_s * 1e9, "compute_cycles": time_s * 8e8,
            "stall_cycles": time_s * 2e8, "time_s": time_s, "macs": 1e9, "energy_pj": sum(parts.values()),
            "bytes_sram_read": 1e6, "bytes_sram_write": 5e5, "bytes_dram_read": 2e6, "bytes_dram_write": 1e5,
            **{f"energy_{k}_pj": v for k, v in parts.items()}, "utilization": 0.3, "area_mm2": 0.1 * rows + 0.01 * kb,
            "area_array_mm2": 0.1 * rows, "area_sram_ifmap_mm2": 0.01 * kb, "edp_js": sum(parts.values()) * 1e-12 * time_s,
            "op_name": [f"op{j}" for j in range(len(KINDS))], "op_kind": KINDS,
            "op_cycles": [100.0 * (j + 1) for j in range(len(KINDS))], "op_utilization": util,
            "op_energy_pj": [10.0 * (j + 1) for j in range(len(KINDS))],
            "point_json": json.dumps({"config": {"array": {"rows": rows}}, "workload": {"model": "toy"}}),
            "basis_json": json.dumps([{**b, "value": b["value"] * (1 + i / 100)} for b in BASIS])}


def make_sweep(folder, grid: dict) -> pd.DataFrame:
    """A sweep folder in the layout of ``sim.sweep``: sweep.json, points/<key>.parquet, results.parquet."""
    combos = [dict(zip(grid, c)) for c in itertools.product(*grid.values())]
    df = pd.DataFrame([_row(i, c["array.rows"], c["array.dataflow"], c["sram.ifmap_kb"]) for i, c in enumerate(combos)])
    (folder / "points").mkdir(parents=True)
    for i in range(len(df)):
        df.iloc[[i]].to_parquet(folder / "points" / f"{df['key'][i]}.parquet", index=False)
    df.to_parquet(folder / "results.parquet", index=False)
    spec = {"name": "toy", "config": "edge-32", "workload": {"model": "toy"}, "grid": grid, "random": None}
    points = [[i, df["key"][i], c] for i, c in enumerate(combos)]
    (folder / "sweep.json").write_text(json.dumps({"spec": spec, "code_version": "0.0.0+test", "points": points}))
    return df


def check_pngs(out, names):
    for name in names:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = mpimg.imread(out / name).shape[:2]
        assert height > 250 and width > 500 and (out / name).stat().st_size > 10_000, name


GRID = {"array.rows": [8, 16, 32, 64], "array.dataflow": ["os", "ws"], "sram.ifmap_kb": [16, 64, 256]}


def test_report_of_hand_built_sweep(tmp_path):
    df = make_sweep(tmp_path / "sw", GRID)
    page = write_report(tmp_path / "sw", tmp_path / "rep", title="Toy report")
    out = tmp_path / "rep"
    text = page.read_text()
    front = pareto_front(df, "time_s", "energy_pj")
    assert page == out / "index.html" and "<title>Toy report</title>" in text
    assert "http" not in text and "<script" not in text  # self-contained
    for name in (*PNGS, "latency_vs_param.png"):
        assert f'<img src="{name}"' in text
    check_pngs(out, (*PNGS, "latency_vs_param.png"))
    assert text.count('<tr class="pareto">') == front.sum() and "0.0.0+test" in text and "Where the numbers come from" in text
    assert "latency (ms)" in text and "energy (mJ)" in text and "array.dataflow" in text
    rows = re.findall(r'<tr class="(?:pareto)?"><td>(\d+)</td>', text)
    assert [int(r) for r in rows] == list(range(1, len(df) + 1))

    points = pd.read_csv(out / "points.csv")
    assert points["key"].tolist() == df["key"].tolist()
    np.testing.assert_allclose(points["energy_pj"], df["energy_pj"])
    assert points["pareto"].tolist() == front.tolist() and "op_kind" not in points and "basis_json" not in points
    pareto = pd.read_csv(out / "pareto.csv")
    assert pareto["key"].tolist() == df["key"][front].tolist()
    ops = pd.read_csv(out / "ops.csv")
    assert len(ops) == front.sum() * len(KINDS) and set(ops["point"]) == set(df["point"][front])
    assert ops["kind"].tolist()[:len(KINDS)] == KINDS and ops["utilization"].isna().sum() == front.sum()
    best = df.loc[df["edp_js"].idxmin()]
    basis = pd.read_csv(out / "basis.csv")
    assert basis.to_dict("records") == json.loads(best["basis_json"])
    assert "horowitz2014:int_mult_8_pj" in text


def test_report_of_large_and_incomplete_sweep(tmp_path):
    grid = {**GRID, "sram.ifmap_kb": [16, 32, 64, 128, 256, 512]}
    df = make_sweep(tmp_path / "sw", grid)
    assert len(df) > 40
    (tmp_path / "sw" / "results.parquet").unlink()
    (tmp_path / "sw" / "points" / "k0003.parquet").unlink()
    text = write_report(tmp_path / "sw", tmp_path / "rep").read_text()
    assert f"incomplete: {len(df) - 1} of {len(df)} finished" in text and "PPA report: toy" in text
    check_pngs(tmp_path / "rep", PNGS)
    assert len(pd.read_csv(tmp_path / "rep" / "points.csv")) == len(df) - 1


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "does not exist"),
    (lambda d: d.mkdir(), "no sweep.json"),
    (lambda d: (d.mkdir(), (d / "sweep.json").write_text(json.dumps({"spec": {}, "points": [[0, "k", {}]]}))),
     "no finished points"),
])
def test_bad_sweep_folder_is_one_line_error(tmp_path, setup, message):
    folder = tmp_path / "sweep-x"
    setup(folder)
    with pytest.raises(DSEError, match=message) as info:
        write_report(folder, tmp_path / "rep")
    assert str(folder) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "rep").exists()


def test_report_of_real_sweep(tmp_path):
    from sim.sweep import run_sweep

    spec = {"name": "edge-decode", "config": "edge-32",
            "workload": {"model": "llama-2-7b", "phase": "decode", "context": 256, "num_layers": 1},
            "grid": {"array.rows": [8, 32], "array.cols": [8, 16, 32, 64], "array.dataflow": ["os", "ws"]}}
    df = run_sweep(spec, tmp_path / "sw", n_jobs=1, progress=False)
    text = write_report(tmp_path / "sw", tmp_path / "rep").read_text()
    check_pngs(tmp_path / "rep", PNGS)
    assert text.count("<img") >= 3 and "PPA report: edge-decode" in text
    assert len(pd.read_csv(tmp_path / "rep" / "points.csv")) == len(df) == 16
    basis = pd.read_csv(tmp_path / "rep" / "basis.csv")
    assert {"mac_pj", "dram_pj_per_bit"} <= set(basis["quantity"]) and basis["source"].str.len().min() > 5


def test_report_of_format_study_compares_formats(tmp_path):
    from sim.formats_study import cases, study_specs
    from sim.sweep import run_sweep
    from workloads.minilm import published_output_sqnr

    spec = study_specs()["llama-2-7b-formats-decode"]
    spec["workload"] = {**spec["workload"], "num_layers": 2, "context": 256}
    run_sweep(spec, tmp_path / "sw", n_jobs=1, progress=False)
    text = write_report(tmp_path / "sw", tmp_path / "rep").read_text()
    check_pngs(tmp_path / "rep", PNGS + ("formats_sqnr.png",))
    assert "Number formats side by side" in text and "cases ∈ {int8xint8" in text
    assert "mean over the 37 layers" in text  # MiniLM: 6 x (q, k, v, attn out, ffn in, ffn out) + pooler
    table = pd.read_csv(tmp_path / "rep" / "formats.csv").set_index("pe")
    assert list(table.index) == list(cases())
    sqnr = published_output_sqnr().set_index("pe")["sqnr_db_mean"]
    assert (table["sqnr_db"] == sqnr[table.index]).all()
    points = pd.read_csv(tmp_path / "rep" / "points.csv").set_index("p.case")
    assert table["mac_area_um2"].to_dict() == pytest.approx(
        (points["area_array_mm2"] * 1e6 / points["array_macs"]).to_dict())
    assert (points["array_macs"] == 128 * 128).all()  # equal-MAC arrays
    # 4-bit weights move about half the bytes of INT8 ones; block scales add their share
    traffic = table["dram_mb_per_token"]
    assert 0.45 < traffic["int4xint8"] / traffic["int8xint8"] < 0.55
    assert traffic["int4xint4"] < traffic["mxfp4"] < traffic["amxfp4"]
    assert table.loc["int4xint4", "mac_area_um2"] < table.loc["int8xint8", "mac_area_um2"]
