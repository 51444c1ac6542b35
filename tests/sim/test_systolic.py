"""Systolic array model: fold arithmetic, SCALE-Sim parity rows, traffic, stalls, energy."""

import math

import numpy as np
import pytest

from sim.config import load_config
from sim.engine import run
from sim.errors import UnsupportedOpError
from sim.models import build_model
from sim.trace import TraceBuilder

INF = float("inf")


def config(rows, cols, dataflow, mode="default", bandwidth=INF, sram_kb=(1024, 1024, 1024), **extra):
    raw = {"model": "systolic", "name": "t", "mode": mode, "clock_ghz": 1.0,
           "array": {"rows": rows, "cols": cols, "dataflow": dataflow},
           "sram": dict(zip(("ifmap_kb", "filter_kb", "ofmap_kb"), sram_kb)),
           "dram": {"kind": "ddr4", "bandwidth_gbs": bandwidth}, "tech": {"node_nm": 45}, **extra}
    return load_config(raw)


def one_op(kind, dims, formats=None):
    b = TraceBuilder(formats=formats or {"W": "int8", "A": "int8", "O": "int8", "KV": "int8"})
    b.add(kind, "op", dims)
    return b.build()


def gemm(M, N, K, **kw):
    return one_op("gemm", {"M": M, "N": N, "K": K}, **kw)


def conv(H, W, R, S, C, K, stride):
    return one_op("conv2d", {"H": H, "W": W, "R": R, "S": S, "C": C, "K": K, "stride": stride})


# SCALE-Sim 3.0.0 regression table: total cycles measured with SCALE-Sim 3.0.0 itself
# (benchmarks/scalesim_reference.py reruns the first seven rows and asserts them).
PARITY_ROWS = [
    (gemm(20, 40, 30), (8, 8, "os"), 659),
    (gemm(20, 40, 30), (8, 8, "ws"), 839),
    (gemm(20, 40, 30), (8, 8, "is"), 743),
    (conv(10, 10, 3, 3, 4, 20, 1), (16, 8, "os"), 695),
    (conv(10, 10, 3, 3, 4, 20, 1), (16, 8, "ws"), 917),
    (conv(10, 10, 3, 3, 4, 20, 1), (16, 8, "is"), 1391),
    (conv(224, 224, 11, 11, 3, 96, 4), (32, 32, "ws"), 112_283),
    (gemm(64, 64, 256), (8, 8, "ws"), 22_015),
    (conv(498, 434, 3, 3, 64, 64, 2), (32, 32, "ws"), 1_948_571),
    (conv(250, 218, 3, 3, 64, 64, 1), (128, 128, "ws"), 269_749),
]


@pytest.mark.parametrize("trace, array, cycles", PARITY_ROWS)
def test_scalesim_regression_table(trace, array, cycles):
    ops = run(trace, build_model(config(*array, mode="scalesim"))).ops
    assert ops["compute_cycles"].iloc[0] == cycles
    assert ops["compute_cycles_true"].iloc[0] == cycles + 1
    assert ops["stall_cycles"].iloc[0] == 0  # infinite bandwidth = SCALE-Sim's CALC mode


def test_alexnet_conv1_metrics():
    ops = run(conv(224, 224, 11, 11, 3, 96, 4), build_model(config(32, 32, "ws", mode="scalesim"))).ops
    row = ops.iloc[0]
    assert row["mapping_efficiency"] == pytest.approx(363 / 384)
    overall = row["macs"] / (row["cycles"] * 32 * 32)
    assert 100 * overall == pytest.approx(91.68, abs=0.005)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_default_mode_folds(dataflow):
    # GEMM 100 x 70 x 50 on 16 x 32. OS: Sr=M, Sc=N, T=K; WS: K, N, M; IS: K, M, N.
    M, N, K, R, C = 100, 70, 50, 16, 32
    Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    folds = math.ceil(Sr / R) * math.ceil(Sc / C)
    overlap = run(gemm(M, N, K), build_model(config(R, C, dataflow))).ops.iloc[0]
    assert overlap["compute_cycles"] == 2 * R + C - 2 + folds * max(T, R)
    serial = run(gemm(M, N, K), build_model(config(R, C, dataflow, fold_overlap=False))).ops.iloc[0]
    assert serial["compute_cycles"] == folds * (2 * R + C + T - 2)
    assert overlap["macs"] == M * N * K
    assert overlap["utilization"] == pytest.approx(M * N * K / (overlap["cycles"] * R * C))


def test_standard_conv_uses_padding():
    t = one_op("conv2d", {"H": 496, "W": 432, "R": 3, "S": 3, "C": 64, "K": 64, "stride": 2, "pad": 1})
    ops = run(t, build_model(config(32, 32, "ws"))).ops
    assert ops["macs"].iloc[0] == 248 * 216 * 9 * 64 * 64


def test_dram_traffic_when_operands_fit():
    # WS, everything fits in half-buffers: each operand crosses DRAM exactly once.
    M, N, K = 64, 96, 80
    row = run(gemm(M, N, K), build_model(config(16, 16, "ws"))).ops.iloc[0]
    assert row["bytes_dram_read"] == M * K + K * N
    assert row["bytes_dram_write"] == M * N


def test_dram_refetch_when_ifmap_does_not_fit():
    # WS with a 1 KiB ifmap buffer (512 B usable): the 4 KiB activation matrix is re-read per column fold.
    M, N, K = 64, 96, 64
    row = run(gemm(M, N, K), build_model(config(16, 16, "ws", sram_kb=(1, 1024, 1024)))).ops.iloc[0]
    assert row["bytes_dram_read"] == M * K * math.ceil(N / 16) + K * N


def test_stalls_follow_double_buffered_pipeline():
    # 1 GB/s at 1 GHz = 1 byte/cycle: DRAM-bound. cycles = max(C, D) + min(C, D) / folds.
    M, N, K, R = 1, 256, 256, 16
    cfg = config(R, R, "ws", bandwidth=1.0)
    row = run(gemm(M, N, K), build_model(cfg)).ops.iloc[0]
    folds = (K // R) * (N // R)
    compute = 2 * R + R - 2 + folds * max(M, R)
    dram = M * K + K * N + M * N
    assert row["compute_cycles"] == compute
    assert row["cycles"] == math.ceil(max(compute, dram) + min(compute, dram) / folds)
    assert row["stall_cycles"] == row["cycles"] - compute


def test_formats_change_traffic():
    wide_mac = config(8, 8, "ws", mac={"operand_bits": 16})
    fp16 = run(gemm(8, 64, 64, formats={"W": "fp16", "A": "fp16", "O": "fp16"}), build_model(wide_mac)).ops
    mx4 = run(gemm(8, 64, 64, formats={"W": "mxfp4", "A": "int8", "O": "int8"}), build_model(config(8, 8, "ws"))).ops
    assert fp16["bytes_dram_read"].iloc[0] == 2 * (8 * 64 + 64 * 64)
    assert mx4["bytes_dram_read"].iloc[0] == 8 * 64 + 64 * 64 * 4.25 / 8


def test_vector_and_kv_ops():
    b = TraceBuilder(formats={"A": "int8", "KV": "fp16"})
    b.add("softmax", "sm", {"B": 2, "H": 4, "Q": 1, "T": 100})
    b.add("kv_append", "kv", {"B": 2, "G": 4, "Q": 1, "D": 64})
    cfg = config(8, 8, "ws", bandwidth=2.0, vector={"lanes": 16, "softmax_ops_per_element": 5})
    ops = run(b.build(), build_model(cfg)).ops
    assert ops["cycles"].iloc[0] == math.ceil(2 * 4 * 100 * 5 / 16)
    assert ops["bytes_dram_write"].iloc[1] == 2 * 2 * 4 * 64 * 2
    assert ops["cycles"].iloc[1] == 2 * 2 * 4 * 64 * 2 / 2  # 2 bytes/cycle


def test_unsupported_kind_names_model_and_op():
    b = TraceBuilder()
    b.add("softmax", "probs", {"B": 1, "H": 1, "Q": 1, "T": 4})
    with pytest.raises(UnsupportedOpError, match=r"model 't' cannot run op 0 \('probs'\) of kind 'softmax'"):
        run(b.build(), build_model(config(8, 8, "ws", vector={"lanes": 0})))


def test_energy_components_are_unit_costs_times_counts():
    model = build_model(config(16, 16, "os"))
    row = run(gemm(32, 32, 32), model).ops.iloc[0]
    assert row["energy_mac_pj"] == pytest.approx(32 ** 3 * model.basis["mac_pj"].value)
    bits = (row["bytes_dram_read"] + row["bytes_dram_write"]) * 8
    assert row["energy_dram_pj"] == pytest.approx(bits * model.basis["dram_pj_per_bit"].value)
    leak_w = 256 * model.basis["pe_leakage_uw"].value * 1e-6
    assert row["energy_leakage_pj"] == pytest.approx(leak_w * row["cycles"] * 1e-9 * 1e12)
    parts = [c for c in row.index if c.startswith("energy_") and c != "energy_pj"]
    assert row["energy_pj"] == pytest.approx(sum(row[c] for c in parts))
    assert np.isfinite(row[parts].astype(float)).all()


def test_cost_basis_follows_every_config_part_it_reads():
    """Models built in one process get the basis of their own buffers, DRAM and MAC (each an own
    dict: changing one model's basis leaves the next model's alone)."""
    first = build_model(load_config("edge-128"))
    first.basis.clear()
    again = build_model(load_config("edge-128"))
    assert again.basis["sram_ifmap_area_mm2"].value > 0
    for override, key in (({"sram.ifmap_kb": 64}, "sram_ifmap_area_mm2"), ({"dram.kind": "hbm2"}, "dram_pj_per_bit"),
                          ({"mac.operand_bits": 16}, "mac_pj")):
        other = build_model(load_config("edge-128", override))
        assert other.basis[key].value != again.basis[key].value, override


def mixed_trace():
    """Every kind the systolic model runs, interleaved. Operand widths differ between the kinds of a
    group while each kind's are uniform (W side: int8 GEMMs, int4 then int8 KV; vector A: int4
    softmax, int8 elementwise), and between ops of one kind (GEMM activations)."""
    b = TraceBuilder(formats={"W": "int8", "A": "int8", "O": "int8", "KV": "int8"})
    b.add("gemm", "g0", {"M": 40, "N": 300, "K": 70})
    b.add("attention_score", "s0", {"B": 2, "H": 8, "G": 2, "Q": 3, "T": 500, "D": 64}, formats={"KV": "int4"})
    b.add("softmax", "p0", {"B": 2, "H": 8, "Q": 3, "T": 500}, formats={"A": "int4"})
    b.add("attention_context", "c0", {"B": 2, "H": 8, "G": 2, "Q": 3, "T": 500, "D": 64})
    b.add("kv_append", "a0", {"B": 2, "G": 2, "Q": 3, "D": 64}, formats={"KV": "int4"})
    b.add("conv2d", "v0", {"H": 20, "W": 20, "R": 3, "S": 3, "C": 16, "K": 32, "stride": 1})
    b.add("elementwise", "e0", {"E": 5000, "F": 2})
    b.add("gemm", "g1", {"M": 1, "N": 4096, "K": 4096}, formats={"A": "int4"})
    b.add("kv_read", "r0", {"B": 2, "G": 2, "T": 500, "D": 64})
    b.add("deconv2d", "d0", {"H": 8, "W": 8, "R": 2, "S": 2, "C": 16, "K": 8, "stride": 2})
    b.add("elementwise", "e1", {"E": 7, "F": 1})
    return b.build()


@pytest.mark.parametrize("cfg", [
    config(16, 8, "ws", bandwidth=4.0, vector={"lanes": 16}),
    config(8, 32, "os", sram_kb=(1, 2, 1), vector={"lanes": 8}, fold_overlap=False),
    config(32, 32, "is", bandwidth=8.0, sram_kb=(4, 4, 4), vector={"lanes": 4}),
    config(16, 16, "ws", mode="scalesim", vector={"lanes": 16}),
    config(8, 8, "os", mode="scalesim", bandwidth=10.0, sram_kb=(1, 1, 1), vector={"lanes": 16}),
], ids=["ws", "os-serial", "is-spill", "scalesim-calc", "scalesim-user"])
def test_fused_kinds_cost_what_each_kind_costs_alone(cfg):
    """Evaluating the GEMM, vector and DMA kinds in one call per group gives every column, exactly,
    that evaluating each kind on its own gives."""
    trace, fused = mixed_trace(), build_model(cfg)
    alone = build_model(cfg)
    alone.fused_kinds = ()
    got, want = run(trace, fused).columns, run(trace, alone).columns
    assert list(got) == list(want)
    for col, values in want.items():
        assert got[col].dtype == values.dtype, col
        np.testing.assert_array_equal(got[col], values, err_msg=col)
