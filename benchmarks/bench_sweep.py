"""Speed of a 1000-point sweep of the systolic model (target: under 60 s on 2 cores).

Grid: array rows (10) x cols (10) x dataflow (os, ws) x DRAM bandwidth (5) on LLaMA-2-7B, one
decode step at 2K context, edge-128 preset. Prints the sweep's wall time, points/s and the ratio to
the 60 s target; the baseline (sequential in-process ``evaluate_point``) and the sweep's speed-up
over it; where the time goes (expansion, trace building, evaluation, Parquet encoding and writing,
assembling results); and the longest gap between two point files landing on disk, which bounds
the work a kill can lose. CPU times are printed beside wall times because a shared machine's load
inflates wall time.

Run: ``python benchmarks/bench_sweep.py [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.point import evaluate_point
from sim.sweep import _evaluate, _write_atomic, expand, run_sweep
from workloads import build

TARGET_S = 60.0
SIZES = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256]
SPEC = {"name": "bench-1000", "config": "edge-128",
        "workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
        "grid": {"array.rows": SIZES, "array.cols": SIZES, "array.dataflow": ["os", "ws"],
                 "dram.bandwidth_gbs": [12.8, 25.6, 51.2, 102.4, 204.8]}}


def timed(fn, *args, **kwargs):
    """(value, wall seconds, parent CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline-points", type=int, default=200, help="points timed sequentially")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    points, t_expand, _ = timed(expand, SPEC)
    _, t_build, _ = timed(build, SPEC["workload"])
    sample = points[:: len(points) // args.baseline_points][: args.baseline_points]
    evaluate_point(sample[0].point, sample[0].params)  # warm the trace cache, as every worker does once
    _, t_eval, c_eval = timed(lambda: [evaluate_point(p.point, p.params) for p in sample])
    _, t_task, c_task = timed(lambda: [_evaluate(p) for p in sample])  # evaluation + Parquet encoding
    per_point, per_task = t_eval / len(sample), t_task / len(sample)
    baseline = per_point * len(points)

    with tempfile.TemporaryDirectory() as tmp:
        data = _evaluate(points[0])[1]
        _, t_write, _ = timed(lambda: [_write_atomic(Path(tmp) / f"{i}.parquet", data) for i in range(200)])
        started = time.time()
        table, t_sweep, c_sweep = timed(run_sweep, SPEC, Path(tmp) / "sweep", n_jobs=args.jobs, progress=False)
        landed = np.sort([f.stat().st_mtime for f in (Path(tmp) / "sweep" / "points").glob("*.parquet")])
        cached, t_cached, _ = timed(run_sweep, SPEC, Path(tmp) / "sweep", n_jobs=args.jobs, progress=False)
    assert len(table) == len(points) and table.attrs["computed"] == len(points) and cached.attrs["computed"] == 0

    print(f"{len(points)} points, {args.jobs} jobs, load average {load:.1f} at start")
    print(f"  sweep wall time        {t_sweep:8.2f} s   {len(points) / t_sweep:7.1f} points/s"
          f"   ratio to {TARGET_S:.0f} s target: {t_sweep / TARGET_S:.3f} ({'PASS' if t_sweep < TARGET_S else 'MISS'})")
    print(f"  baseline (sequential)  {baseline:8.2f} s   {per_point * 1e3:7.2f} ms/point wall, "
          f"{c_eval / len(sample) * 1e3:.2f} ms CPU (from {len(sample)} points)"
          f"   sweep speed-up: {baseline / t_sweep:.2f}x")
    print("where the time goes, per point unless noted:")
    print(f"  expand + validate      {t_expand / len(points) * 1e3:8.3f} ms   ({t_expand:.2f} s total, parent)")
    print(f"  trace build            {t_build * 1e3:8.1f} ms   (once to validate, once per worker)")
    print(f"  evaluate_point         {per_point * 1e3:8.3f} ms   (worker)")
    print(f"  Parquet encoding       {(per_task - per_point) * 1e3:8.3f} ms   (worker; CPU "
          f"{(c_task - c_eval) / len(sample) * 1e3:.3f} ms)")
    print(f"  point file write       {t_write / 200 * 1e3:8.3f} ms   (parent: bytes to temp file + os.replace)")
    print(f"  parent CPU in sweep    {c_sweep / len(points) * 1e3:8.3f} ms   ({c_sweep:.2f} s total: expand, writes, "
          f"assembly)")
    print(f"  cached rerun           {t_cached:8.2f} s    (expand + read {len(points)} point files + results.parquet)")
    print(f"  sweep minus ideal {args.jobs}-way split of evaluation: {t_sweep - baseline / args.jobs:.2f} s")
    gaps = np.diff(landed)
    print(f"  first point on disk    {landed[0] - started:8.2f} s    (expand + worker start-up + first batch)")
    print(f"kill exposure: longest gap between point writes {gaps.max():.2f} s (median {np.median(gaps) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
