"""Speed of the systolic model, side by side with the real SCALE-Sim 3.0.0 on the same files.

Prints, per layer: compute cycles of both (they must be equal), wall time of both, simulated
cycles per second and the speed-up ratio (target >= 1000x). Then: a full LLaMA-2-7B decode step
on one design point (target < 50 ms), a 1000-point sweep on all cores (target < 60 s), and peak
Python memory for layers of 1e3 vs 1e9 cycles (memory must not grow with simulated cycles).

Run: ``python benchmarks/bench_systolic.py [--full]`` (--full adds the 93 s / 3.6 GB PointPillars
layer to the SCALE-Sim comparison).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pandas as pd

from scalesim_env import run_scalesim
from scalesim_reference import write_case
from sim.config import load_config
from sim.engine import run
from sim.models import build_model
from sim.scalesim import compute_report, read_cfg, read_topology
from sim.sweep import run_sweep
from sim.trace import TraceBuilder
from timing import median_time, timed
from workloads import build

LAYERS = [
    ("alexnet_conv1_ws_32", "conv", (224, 224, 11, 11, 3, 96, 4), 32, 32, "ws"),
    ("resnet_3x3_os_32", "conv", (58, 58, 3, 3, 64, 64, 1), 32, 32, "os"),
    ("gemm_1k_ws_64", "gemm", (256, 512, 384), 64, 64, "ws"),
    ("conv_deep_ws_64x16", "conv", (9, 9, 3, 3, 40, 70, 1), 64, 16, "ws"),
    ("gemm_decode_is_128", "gemm", (1, 300, 260), 128, 128, "is"),
    # AlexNet's five conv layers (pre-padded inputs) as one topology: ours evaluates them in one call.
    ("alexnet_convs_is_32", "conv", ((224, 224, 11, 11, 3, 96, 4), (31, 31, 5, 5, 96, 256, 1),
                                     (15, 15, 3, 3, 256, 384, 1), (15, 15, 3, 3, 384, 384, 1),
                                     (15, 15, 3, 3, 384, 256, 1)), 32, 32, "is"),
]
FULL = [("pp_stride1_ws_128", "conv", (250, 218, 3, 3, 64, 64, 1), 128, 128, "ws")]


def versus_scalesim(layers, case_dir: Path) -> pd.DataFrame:
    """One row per topology: cycles of both simulators and their simulation time per layer."""
    rows = []
    for name, mode, dims, r, c, df in layers:
        cfg, topo = write_case(name, mode, dims, r, c, df, case_dir)
        gemm = mode == "gemm"
        theirs, their_s = run_scalesim(cfg, topo, gemm=gemm)
        model, trace = build_model(read_cfg(cfg)), read_topology(topo, gemm=gemm)
        ours = compute_report(run(trace, model))
        our_s = median_time(lambda: compute_report(run(trace, model)))
        n, cycles = len(ours["Total Cycles"]), int(theirs["Total Cycles"].sum())
        rows.append({"topology": name, "layers": n, "scalesim_cycles": cycles,
                     "equal": list(theirs["Total Cycles"]) == list(ours["Total Cycles"]),
                     "scalesim_s_per_layer": their_s / n, "our_s_per_layer": our_s / n,
                     "scalesim_cycles_per_s": cycles / their_s, "our_cycles_per_s": cycles / our_s,
                     "speedup": their_s / our_s})
    return pd.DataFrame(rows)


def llama_decode() -> float:
    trace = build({"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 4096})
    model = build_model(load_config("tpu-v1"))
    return median_time(lambda: run(trace, model))


def sweep_1000() -> float:
    sizes = [16, 32, 64, 128, 256]
    spec = {"name": "bench", "config": "edge-128",
            "workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
            "grid": {"array.rows": sizes, "array.cols": sizes, "array.dataflow": ["os", "ws", "is"],
                     "dram.bandwidth_gbs": [12.8, 25.6, 51.2, 102.4], "clock_ghz": [0.5, 0.75, 1.0, 1.5]}}
    with tempfile.TemporaryDirectory() as out:
        table, wall = timed(lambda: run_sweep(spec, out, n_jobs=-1, progress=False))
    assert len(table) == 1200
    return wall * 1000 / len(table)


def peak_memory(M: int) -> tuple[int, int]:
    """Peak traced Python memory of running one GEMM of M x 4096 x 4096, and its cycle count."""
    b = TraceBuilder(formats={"W": "int8", "A": "int8", "O": "int8"})
    b.add("gemm", "g", {"M": M, "N": 4096, "K": 4096})
    trace, model = b.build(), build_model(load_config("edge-32"))
    tracemalloc.start()
    result = run(trace, model)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, int(result.ops["cycles"].iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    with tempfile.TemporaryDirectory() as cases:
        table = versus_scalesim(LAYERS + (FULL if args.full else []), Path(cases))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    big = table[table["scalesim_cycles"] >= 1e5]
    print(f"speed-up over SCALE-Sim (simulation time, both in-process): min {table['speedup'].min():.0f}x, "
          f"median {table['speedup'].median():.0f}x; on topologies of >= 1e5 cycles min {big['speedup'].min():.0f}x "
          f"(target >= 1000x); identical cycles: {table['equal'].all()}")
    decode = llama_decode()
    print(f"LLaMA-2-7B decode, 32 layers, tpu-v1: {decode * 1e3:.2f} ms per design point "
          f"(target 50 ms: {50e-3 / decode:.1f}x margin)")
    per_1000 = sweep_1000()
    print(f"sweep: {per_1000:.1f} s per 1000 points on all cores (target 60 s: {60 / per_1000:.1f}x margin)")
    (small, small_cycles), (large, large_cycles) = peak_memory(1), peak_memory(1 << 20)
    print(f"peak Python memory: {small / 1e3:.0f} kB at {small_cycles:.3g} cycles, {large / 1e3:.0f} kB at "
          f"{large_cycles:.3g} cycles (ratio {large / small:.2f})")
    if not table["equal"].all():
        sys.exit("cycle counts differ from SCALE-Sim")


if __name__ == "__main__":
    main()
