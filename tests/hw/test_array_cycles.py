"""The systolic model's default-mode compute cycles against the Amaranth ``PEArray`` run in
simulation (``hw.array_gemm``): GEMM tiles smaller than, equal to and larger than the array, each
product checked against numpy at the cycles the array signals done.

The array is output stationary (operands flow through, every PE keeps its own sum), so only the
model's OS dataflow has this reference. Its accumulators are read in parallel, so it has no
preload/drain phase: the model charges exactly R cycles more per serial fold, and R more per layer
of back-to-back folds while T >= R; with T < R the array finishes a fold every T cycles where the
model charges R to drain the outputs.
"""

import numpy as np
import pytest

from hw.array_gemm import run_gemm
from sim.config import load_config
from sim.engine import run
from sim.models import build_model
from sim.trace import TraceBuilder

# (rows R, cols C) of the array, GEMM (M, N, K); OS maps M to rows, N to columns, T = K
CASES = [
    ((4, 3), (3, 2, 5)),  # smaller than the array: one partial fold
    ((4, 3), (4, 3, 4)),  # exactly the array, T = R
    ((4, 3), (9, 7, 6)),  # larger: 3 x 3 folds, partial at both edges
    ((4, 3), (6, 4, 2)),  # larger, T < R: 2 x 2 folds
    ((2, 5), (5, 11, 3)),  # wide array, 3 x 3 folds
]
IDS = [f"{R}x{C}-gemm{M}x{N}x{K}" for (R, C), (M, N, K) in CASES]


def model_cycles(R, C, M, N, K, fold_overlap):
    """Default-mode compute cycles and folds of one int8 GEMM on an R x C OS array."""
    config = load_config({"model": "systolic", "mode": "default", "fold_overlap": fold_overlap,
                          "array": {"rows": R, "cols": C, "dataflow": "os"},
                          "sram": {"ifmap_kb": 64, "filter_kb": 64, "ofmap_kb": 64}, "tech": {"node_nm": 45}})
    trace = TraceBuilder(formats={"W": "int8", "A": "int8", "O": "int8", "KV": "int8"})
    trace.add("gemm", "tile", {"M": M, "N": N, "K": K})
    row = run(trace.build(), build_model(config)).ops.iloc[0]
    return int(row["compute_cycles"]), int(row["folds"])


def operands(M, N, K):
    rng = np.random.default_rng(M * 10_000 + N * 100 + K)
    return rng.integers(-128, 128, (M, K)), rng.integers(-128, 128, (K, N))


@pytest.mark.parametrize("array, gemm", CASES, ids=IDS)
def test_serial_folds_take_R_cycles_less_than_the_model(array, gemm):
    (R, C), (M, N, K) = array, gemm
    a, w = operands(M, N, K)
    rtl = run_gemm(a, w, R, C, back_to_back=False)
    np.testing.assert_array_equal(rtl.product, a @ w)
    assert rtl.first_result == K  # PE (0, 0) has no skew: the edge of its K-th step writes its sum
    compute, folds = model_cycles(R, C, M, N, K, fold_overlap=False)
    assert len(rtl.fold_cycles) == folds
    assert rtl.fold_cycles == [compute // folds - R] * folds
    assert rtl.layer_cycles == compute - folds * R


@pytest.mark.parametrize("array, gemm", CASES, ids=IDS)
def test_back_to_back_layer_takes_R_cycles_less_while_T_covers_the_drain(array, gemm):
    (R, C), (M, N, K) = array, gemm
    a, w = operands(M, N, K)
    rtl = run_gemm(a, w, R, C, back_to_back=True)
    np.testing.assert_array_equal(rtl.product, a @ w)
    compute, folds = model_cycles(R, C, M, N, K, fold_overlap=True)
    assert len(rtl.fold_cycles) == folds
    assert rtl.layer_cycles == compute - R - folds * max(0, R - K)
