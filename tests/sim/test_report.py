"""Reports: a hand-built sweep folder, digits, errors, real sweeps (shapes, formats, batch, DRAM kinds)."""

import itertools
import json
import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sim.errors import DSEError
from sim.pareto import objective_front
from sim.report import digits_needed, fmt, write_index, write_report

PNGS = ("pareto.png", "bound.png", "roofline.png", "utilization.png", "energy_breakdown.png")
KINDS = ["elementwise", "gemm", "softmax", "kv_read", "gemm"]
BASIS = [{"quantity": "mac_pj", "value": 0.41, "unit": "pJ", "source": "horowitz2014:int_mult_8_pj x scaling"},
         {"quantity": "dram_pj_per_bit", "value": 15.0, "unit": "pJ/bit", "source": "dram_typical:ddr4"}]
OBJECTIVES = ["latency_per_unit", "energy_per_unit", "area"]


def _row(i: int, rows: int, dataflow: str, kb: int) -> dict:
    """One result row shaped like ``sim.point.evaluate_point``'s, with a latency/energy/area trade-off;
    a new energy component ("noc") and op kind appear as a new family's would."""
    rng = np.random.default_rng(i)
    time_s = 1e-3 * 64 / rows * (1.3 if dataflow == "ws" else 1.0) * (1 + 0.05 * rng.random())
    parts = {"mac": 2e8 * (1 + 0.1 * rng.random()), "vector": 1e6, "sram": 1e7 * kb / 16,
             "dram": 3e9 * 16 / kb, "leakage": 5e7 * rows / 64 * time_s / 1e-3, "noc": 4e7}
    cycles = [100 * (j + 1) * 64 // rows for j in range(len(KINDS))]
    units, energy = 4.0, sum(parts.values())
    return {"point": i, "key": f"k{i:04d}", "p.array.rows": rows, "p.array.dataflow": dataflow, "p.sram.ifmap_kb": kb,
            "model": "systolic", "config_name": "synthetic", "cycles": time_s * 1e9, "compute_cycles": time_s * 8e8,
            "stall_cycles": time_s * 2e8, "time_s": time_s, "macs": 1e9, "energy_pj": energy,
            "bytes_sram_read": 1e6, "bytes_sram_write": 5e5, "bytes_dram_read": 2e6, "bytes_dram_write": 1e5,
            **{f"energy_{k}_pj": v for k, v in parts.items()}, "utilization": 0.3, "peak_macs_per_cycle": rows * 64.0,
            "clock_hz": 1e9, "roof_dram_bytes_per_s": 25.6e9, "area_mm2": 0.1 * rows + 0.01 * kb,
            "area_array_mm2": 0.1 * rows, "area_sram_ifmap_mm2": 0.01 * kb, "edp_js": energy * 1e-12 * time_s,
            "memory_bound_share": 0.25, "work_unit": "token", "work_units": units, "time_per_unit_s": time_s / units,
            "energy_per_unit_pj": energy / units, "edp_per_unit_js": energy * 1e-12 * time_s / units**2,
            "units_per_s": units / time_s, "tops": 2e9 / time_s / 1e12, "tops_per_w": 2e9 / (energy * 1e-12) / 1e12,
            "units_per_s_per_mm2": units / time_s / (0.1 * rows + 0.01 * kb),
            "op_name": [f"L{j // 2}.op{j}" for j in range(len(KINDS))], "op_kind": KINDS,
            "op_layer": [j // 2 for j in range(len(KINDS))], "op_cycles": cycles,
            "op_macs": [0, 64 * rows * 80, 0, 0, 64 * rows * 10],
            "op_bound": ["compute", "compute", "compute", "memory", "memory"],
            "op_energy_pj": [10.0 * (j + 1) for j in range(len(KINDS))], "op_bytes_dram": [0, 4096, 0, 8192, 2e5],
            "point_json": json.dumps({"config": {"array": {"rows": rows}}, "workload": {"model": "toy"}}),
            "basis_json": json.dumps([{**b, "value": b["value"] * (1 + i / 100)} for b in BASIS]),
            "formulas_json": json.dumps({"energy": "MACs x mac_pj + DRAM bits x dram_pj_per_bit"})}


def make_sweep(folder, grid: dict) -> pd.DataFrame:
    """A sweep folder in the layout of ``sim.sweep``: sweep.json, points/<key>.parquet, results.parquet."""
    combos = [dict(zip(grid, c)) for c in itertools.product(*grid.values())]
    df = pd.DataFrame([_row(i, c["array.rows"], c["array.dataflow"], c["sram.ifmap_kb"]) for i, c in enumerate(combos)])
    (folder / "points").mkdir(parents=True)
    for i in range(len(df)):
        df.iloc[[i]].to_parquet(folder / "points" / f"{df['key'][i]}.parquet", index=False)
    df.to_parquet(folder / "results.parquet", index=False)
    spec = {"name": "toy", "config": "edge-32", "workload": {"model": "toy"}, "grid": grid, "random": None,
            "tolerance": 1e-3}
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
    front = objective_front(df, OBJECTIVES, 1e-3)
    assert 0 < front.sum() < len(df)
    assert page == out / "index.html" and "<title>Toy report</title>" in text
    assert "http" not in text and "<script" not in text  # self-contained
    for name in (*PNGS, "latency_vs_param.png"):
        assert f'<img src="{name}"' in text
    check_pngs(out, (*PNGS, "latency_vs_param.png"))
    assert text.count('<tr class="pareto">') == front.sum() and "0.0.0+test" in text and "Where the numbers come from" in text
    assert "latency per token (ms)" in text and "energy per token (µJ)" in text and "rows=8, dataflow=os" in text
    assert "latency per token, energy per token, area" in text and "MACs x mac_pj" in text  # objectives, formulas
    rows = re.findall(r'<tr class="(?:pareto)?"><td>(\d+)</td>', text)
    assert [int(r) for r in rows] == list(range(1, len(df) + 1))
    assert "dram read (MB/token)" in text  # memory levels come from the result columns

    points = pd.read_csv(out / "points.csv")
    assert points["key"].tolist() == df["key"].tolist()
    np.testing.assert_allclose(points["energy_pj"], df["energy_pj"])
    assert points["pareto"].tolist() == front.tolist() and "op_kind" not in points and "basis_json" not in points
    pareto = pd.read_csv(out / "pareto.csv")
    assert pareto["key"].tolist() == df["key"][front].tolist()
    ops = pd.read_csv(out / "ops.csv")
    assert len(ops) == front.sum() * len(KINDS) and set(ops["point"]) == set(df["point"][front])
    assert ops["kind"].tolist()[:len(KINDS)] == KINDS and set(ops["bound"]) == {"compute", "memory"}
    best = df.loc[df["edp_per_unit_js"].idxmin()]
    basis = pd.read_csv(out / "basis.csv")
    assert basis.to_dict("records") == json.loads(best["basis_json"])
    bound = pd.read_csv(out / "bound.csv").set_index("kind")
    assert bound["ops"].sum() == len(KINDS) and bound.loc["kv_read", "memory_bound_share"] == 1.0
    assert bound["time_share"].sum() == pytest.approx(1.0)
    assert "horowitz2014:int_mult_8_pj" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["points"] == len(df) and summary["front"] == front.sum()


def test_energy_components_come_from_the_data():
    from sim.report_plots import energy_components

    df = pd.DataFrame([_row(0, 8, "os", 16)])
    assert energy_components(df) == ["mac", "vector", "sram", "dram", "leakage", "noc"]


def test_digits_tell_near_values_apart():
    assert fmt(1.0) == "1" and fmt(123456.7) == "123,457" and fmt(0.0001234) == "1.234e-04"
    assert digits_needed([1.0, 1.0001, 2.0]) == 5
    assert {fmt(v, digits_needed([1.0, 1.0001])) for v in (1.0, 1.0001)} == {"1", "1.0001"}
    assert digits_needed([1.0, 1.0 + 1e-14]) == 4  # float noise does not count
    assert digits_needed([123456.7, 123456.8]) == 7


def test_report_of_large_and_incomplete_sweep(tmp_path):
    grid = {**GRID, "sram.ifmap_kb": [16, 32, 64, 128, 256, 512]}
    df = make_sweep(tmp_path / "sw", grid)
    assert len(df) > 40
    (tmp_path / "sw" / "results.parquet").unlink()
    (tmp_path / "sw" / "points" / "k0003.parquet").unlink()
    text = write_report(tmp_path / "sw", tmp_path / "rep").read_text()
    assert f"incomplete: {len(df) - 1} of {len(df)} finished" in text and "PPA report: toy" in text
    check_pngs(tmp_path / "rep", PNGS)
    points = pd.read_csv(tmp_path / "rep" / "points.csv")
    assert len(points) == len(df) - 1
    # without results.parquet the per-unit metrics are derived from the stored totals
    assert points["time_per_unit_s"].tolist() == pytest.approx((points["time_s"] / points["work_units"]).tolist())
    assert points["tops_per_w"].tolist() == pytest.approx((2 * points["macs"] / (points["energy_pj"] * 1e-12) / 1e12).tolist())


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
        (points["area_array_mm2"] * 1e6 / points["peak_macs_per_cycle"]).to_dict())
    assert (points["peak_macs_per_cycle"] == 128 * 128).all()  # equal-MAC arrays
    # accuracy is an objective: the most accurate PE is on the front, not only the cheapest one
    assert points.loc["int8xint8", "pareto"] and points.loc["int4xint4", "pareto"]
    assert points["pareto"].sum() >= 3
    # 4-bit weights move about half the bytes of INT8 ones; block scales add their share
    traffic = table["dram_mb_per_token"]
    assert 0.45 < traffic["int4xint8"] / traffic["int8xint8"] < 0.55
    assert traffic["int4xint4"] < traffic["mxfp4"] < traffic["amxfp4"]
    assert table.loc["int4xint4", "mac_area_um2"] < table.loc["int8xint8", "mac_area_um2"]


def test_batch_sweep_ranks_designs_per_token(tmp_path):
    """Batch 32 does 32 tokens a step: per token it is faster and cheaper than batch 1, so it leads the
    ranking and batch 1 is off the Pareto front although its step is the shortest."""
    from sim.sweep import run_sweep

    spec = {"name": "batch", "config": "edge-128",
            "workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
            "grid": {"workload.batch": [1, 8, 32]}}
    df = run_sweep(spec, tmp_path / "sw", n_jobs=1, progress=False).set_index("p.workload.batch")
    assert (df["work_units"] == df.index).all() and (df["work_unit"] == "token").all()
    assert df["time_per_unit_s"].to_dict() == pytest.approx((df["time_s"] / df.index).to_dict())
    assert df.loc[1, "time_s"] < df.loc[32, "time_s"]  # per step, batch 1 is fastest ...
    assert df.loc[32, "time_per_unit_s"] < df.loc[8, "time_per_unit_s"] < df.loc[1, "time_per_unit_s"]  # ... not per token
    assert df.loc[32, "energy_per_unit_pj"] < df.loc[1, "energy_per_unit_pj"] / 5  # weights shared, KV caches not
    text = write_report(tmp_path / "sw", tmp_path / "rep").read_text()
    points = pd.read_csv(tmp_path / "rep" / "points.csv").set_index("p.workload.batch")
    assert points["pareto"].to_dict() == {1: False, 8: False, 32: True}
    first = re.search(r'<tr class="pareto"><td>1</td><td>([^<]*)</td>', text)
    assert first and first.group(1) == "batch=32" and "latency per token (ms)" in text


def test_dram_kind_sweep_changes_bandwidth_and_energy(tmp_path):
    from sim.sweep import run_sweep

    spec = {"name": "memories", "config": "edge-128",
            "workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048, "num_layers": 2},
            "grid": {"dram.kind": ["ddr4", "lpddr5x", "hbm3"]}}
    df = run_sweep(spec, tmp_path / "sw", n_jobs=1, progress=False).set_index("p.dram.kind")
    assert df["roof_dram_bytes_per_s"].to_dict() == pytest.approx({"ddr4": 25.6e9, "lpddr5x": 68.264e9, "hbm3": 819.2e9})
    bits = (df["bytes_dram_read"] + df["bytes_dram_write"]) * 8
    assert (df["energy_dram_pj"] / bits).to_dict() == pytest.approx({"ddr4": 15.0, "lpddr5x": 4.5, "hbm3": 3.59})
    assert df.loc["hbm3", "time_s"] < df.loc["lpddr5x", "time_s"] < df.loc["ddr4", "time_s"]
    write_report(tmp_path / "sw", tmp_path / "rep")
    basis = pd.read_csv(tmp_path / "rep" / "basis.csv").set_index("quantity")
    assert "jedec_" in basis.loc["dram_bandwidth_gbs", "source"]


def test_landing_page_links_reports_with_thumbnails_and_headlines(tmp_path):
    pages = []
    for name, rows in (("small", [8, 16]), ("large", [32, 64])):
        make_sweep(tmp_path / name, {**GRID, "array.rows": rows})
        pages.append(write_report(tmp_path / name, tmp_path / "out" / name))
    index = write_index(tmp_path / "out", pages, "Two sweeps", "<p>intro</p>")
    text = index.read_text()
    assert index == tmp_path / "out" / "index.html" and "<p>intro</p>" in text
    for name in ("small", "large"):
        assert f'href="{name}/index.html"' in text and f'<img src="{name}/pareto.png"' in text
    assert text.count('class="card"') == 2 and "latency per token" in text and "on the Pareto front" in text


def test_points_must_share_a_work_unit_and_have_every_objective(tmp_path):
    from sim.sweep import run_sweep

    spec = {"name": "mixed", "config": "edge-32", "workload": {"model": "resnet-50", "layers": ["fc"]},
            "cases": {"resnet": {"workload.model": "resnet-50", "workload.layers": ["fc"]},
                      "pillars": {"workload.model": "pointpillars-kitti", "workload.layers": ["head.conv_cls"]}}}
    run_sweep(spec, tmp_path / "mixed", n_jobs=1, progress=False)
    with pytest.raises(DSEError, match=r"work_unit: got \['frame', 'sample'\] in .*; allowed: one work unit per sweep"):
        write_report(tmp_path / "mixed", tmp_path / "rep")
    assert not (tmp_path / "rep").exists()
    make_sweep(tmp_path / "sw", GRID)
    results = pd.read_parquet(tmp_path / "sw" / "results.parquet")
    results.loc[3, "utilization"] = np.nan  # e.g. a family without a peak
    results.to_parquet(tmp_path / "sw" / "results.parquet")
    meta = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    meta["spec"]["objectives"] = ["latency_per_unit", "utilization"]
    (tmp_path / "sw" / "sweep.json").write_text(json.dumps(meta))
    with pytest.raises(DSEError, match=r"objectives: got 'utilization', unknown for 1 of 24 points"):
        write_report(tmp_path / "sw", tmp_path / "rep2")
