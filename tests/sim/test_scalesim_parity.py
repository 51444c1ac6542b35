"""`dse scalesim` reproduces the real SCALE-Sim 3.0.0 on the same files (reference values produced
by benchmarks/scalesim_reference.py with PyPI scalesim 3.0.0 + numpy 1.26.4)."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.models.systolic.scalesim_memory import Layer, _writes, calc_incl_prefetch
from sim.scalesim import convert, read_cfg, read_topology

DATA = Path(__file__).parent.parent / "data" / "scalesim"
REFERENCE = pd.read_csv(DATA / "reference.csv")


def test_reference_covers_the_required_space():
    assert len(REFERENCE) >= 15
    assert set(REFERENCE["dataflow"]) == {"os", "ws", "is"} and set(REFERENCE["mode"]) == {"conv", "gemm"}
    assert (REFERENCE["rows"] != REFERENCE["cols"]).any() and REFERENCE["rows"].min() == 8
    assert REFERENCE["rows"].max() == 256 and REFERENCE["layer"].max() > 0


@pytest.mark.parametrize("case", REFERENCE.to_dict("records"),
                         ids=[f"{c}-{layer}" for c, layer in zip(REFERENCE["case"], REFERENCE["layer"])])
def test_compute_report_matches_scalesim(case, tmp_path):
    report = pd.read_csv(convert(DATA / case["cfg"], DATA / case["topology"], tmp_path, gemm=case["mode"] == "gemm"))
    row = report.iloc[case["layer"]]
    assert row["Total Cycles"] == case["total_cycles"]
    assert row["Stall Cycles"] == case["stall_cycles"] == 0
    assert row["Overall Util %"] == pytest.approx(case["overall_util"], abs=1e-3)
    assert row["Mapping Efficiency %"] == pytest.approx(case["mapping_efficiency"], abs=1e-3)
    assert row["Compute Util %"] == pytest.approx(case["compute_util"], abs=1e-3)
    assert row["Total Cycles (incl. prefetch)"] == pytest.approx(case["total_cycles_incl_prefetch"], rel=1e-3)
    assert list(report.columns) == ["LayerID", "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles",
                                    "Overall Util %", "Mapping Efficiency %", "Compute Util %"]


def test_cli_writes_compute_report(tmp_path):
    case = REFERENCE.iloc[0]
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "scalesim", "-c", str(DATA / case["cfg"]),
                           "-t", str(DATA / case["topology"]), "-i", "gemm", "-o", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    assert "COMPUTE_REPORT.csv" in proc.stdout
    assert pd.read_csv(tmp_path / "COMPUTE_REPORT.csv")["Total Cycles"].iloc[0] == case["total_cycles"]
    detailed = pd.read_csv(tmp_path / "DETAILED.csv")
    assert detailed["compute_cycles_true"].iloc[0] == case["total_cycles"] + 1


def test_topology_without_trailing_comma_and_v2_cfg(tmp_path):
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides\n"
                    "conv1, 10, 10, 3, 3, 4, 20, 1\nconv2, 10, 10, 3, 3, 4, 20, 1, 1:1,\n")
    trace = read_topology(topo)
    assert len(trace) == 2 and trace.ops["stride"].tolist() == [1, 1]
    v2 = tmp_path / "v2.cfg"
    v2.write_text("[general]\nrun_name = v2\n[architecture_presets]\nArrayHeight: 16\nArrayWidth: 8\n"
                  "IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\nBandwidth: 10\n")
    cfg = read_cfg(v2)
    assert (cfg.array.rows, cfg.array.cols, cfg.mode, cfg.dram.bandwidth_gbs) == (16, 8, "scalesim", float("inf"))
    report = pd.read_csv(convert(v2, topo, tmp_path / "out"))
    assert report["Total Cycles"].tolist() == [695, 695]  # spec regression row 4


@pytest.mark.numba
def test_user_bandwidth_mode_stalls(tmp_path):
    cfg = tmp_path / "user.cfg"
    alexnet = REFERENCE[REFERENCE["case"] == "conv_alexnet1_ws_32"].iloc[0]
    cfg.write_text((DATA / alexnet["cfg"]).read_text().replace("InterfaceBandwidth : CALC",
                                                                          "InterfaceBandwidth : USER")
                   .replace("Bandwidth : 10", "Bandwidth : 1"))
    report = pd.read_csv(convert(cfg, DATA / alexnet["topology"], tmp_path))
    assert report["Stall Cycles"].iloc[0] > 0
    assert report["Total Cycles"].iloc[0] == alexnet["total_cycles"] + report["Stall Cycles"].iloc[0]


STALLS = pd.read_csv(DATA / "stalls.csv")


def test_stall_reference_covers_the_required_space():
    assert len(STALLS) >= 40 and set(STALLS["dataflow"]) == {"os", "ws", "is"}
    assert STALLS["bandwidth"].min() == 1 and STALLS["bandwidth"].max() == 100
    assert STALLS["ifmap_sram_kb"].min() <= 2 and STALLS["ifmap_sram_kb"].max() >= 256
    assert (STALLS["stall_cycles"] > 0).sum() >= 20 and (STALLS["stall_cycles"] == 0).sum() >= 20
    assert (STALLS["bandwidth"] != STALLS["ofmap_bandwidth"]).any()  # OFMAP and bank bandwidths apart


@pytest.mark.numba  # the replay kernel of sim.models.systolic.scalesim_replay
def test_stall_parity_with_scalesim_user_bandwidth(tmp_path):
    """Total cycles (and incl. prefetch) in USER bandwidth mode against SCALE-Sim 3.0.0: median
    error <= 2 %, worst <= 10 % (README figures); compute cycles exact."""
    errors, incl_errors = [], []
    for i, case in enumerate(STALLS.to_dict("records")):
        report = pd.read_csv(convert(DATA / case["cfg"], DATA / case["topology"], tmp_path / str(i),
                                     gemm=case["mode"] == "gemm"))
        row = report.iloc[case["layer"]]
        assert row["Total Cycles"] - row["Stall Cycles"] == case["compute_cycles"], case["case"]
        errors.append(abs(row["Total Cycles"] / case["total_cycles"] - 1))
        incl_errors.append(abs(row["Total Cycles (incl. prefetch)"] / case["total_cycles_incl_prefetch"] - 1))
    errors, incl_errors = pd.Series(errors), pd.Series(incl_errors)
    assert errors.median() <= 0.02 and errors.max() <= 0.10, errors.describe()
    assert incl_errors.median() <= 0.02 and incl_errors.max() <= 0.10, incl_errors.describe()
    # no regression from the README figures: worst 0.20 % (incl. prefetch 0.76 %), 66 of 67 within 0.1 %
    assert errors.max() <= 0.005 and incl_errors.max() <= 0.01 and (errors <= 0.001).sum() >= 66


@pytest.mark.numba
@pytest.mark.parametrize("dims, array, sram_kb, bandwidth", [
    ((1, 1, 1), (1, 1), (1, 1, 1), 1),  # one MAC on one PE
    ((3, 700, 5), (4, 2), (1, 1, 1), 1 << 20),  # a huge bandwidth: no stall
    ((300, 2, 400), (2, 64), (1, 1, 1), 1),  # operands 100x the buffers, starved
])
def test_stall_model_extremes(dims, array, sram_kb, bandwidth):
    """Degenerate shapes and bandwidths: stalls >= 0, only a starved layer stalls, the prefetch
    lead and drain only lengthen the incl.-prefetch count."""
    from sim.models.systolic.scalesim_memory import Layer, layer_cycles

    layer = Layer("ws", *array, *dims)
    stalls, incl = layer_cycles(layer, tuple(kb * 1024 for kb in sram_kb), (bandwidth,) * 3)
    compute = layer.folds[0] * layer.folds[1] * layer.fold_rows - 1
    assert (stalls > 0) == (bandwidth == 1 and dims[0] > 1) and incl >= compute + stalls


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 12), st.integers(1, 12),
       st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=4),
       st.integers(2, 600))
def test_calc_drain_closed_form_matches_the_row_by_row_schedule(dataflow, R, C, gemms, ofmap_bytes):
    """CALC mode's last OFMAP drain, found in closed form, against the same rule applied row by row
    to the write schedule of every demand row (``_writes``, the USER-mode replay's input): drains of
    D = S - ceil(S/2) words start in the row where the written words first exceed D + (k - 1) r."""
    M, N, K = (np.array(v) for v in zip(*gemms))
    sizes = (64 * 1024, 64 * 1024, ofmap_bytes)
    got = calc_incl_prefetch(dataflow, R, C, M, N, K, M * K, K * N, sizes)
    drain = ofmap_bytes - math.ceil(ofmap_bytes / 2)
    lines = math.ceil(drain / C)
    removed = min(lines * C, drain + 1)
    for i, (m, n, k) in enumerate(gemms):
        written = np.cumsum(_writes(Layer(dataflow, R, C, m, n, k)))
        total = int(written[-1])
        drains = max((total - drain - 1) // removed + 1, 0)
        last = -math.inf
        if drains:
            last = int(np.searchsorted(written, drain + 1 + (drains - 1) * removed)) + lines - 1
        held = total - drains * removed
        if held > 0:
            last = max(last, len(written) - 1 + math.ceil(held / C) - 1)
        first_fill = min(_fill_start(m * k, R if dataflow == "ws" else 0), _fill_start(k * n, R if dataflow == "is" else 0))
        assert got[i] == last - first_fill


def _fill_start(unique, first_row):
    """Cycle the fill of a 64 kB read buffer starts: before cycle 0 for at most 50 sets, else a 50-set
    prefetch before the operand's first demand row (10 words/cycle)."""
    sets = min(math.ceil(unique / 655), 50)  # 64 kB buffers: sets of 655 elements
    return (first_row if sets == 50 else 0) - math.ceil(sets * 655 / 10)
