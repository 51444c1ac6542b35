"""Speed of a 1000-point sweep of the systolic model (target: >= 10,000 points a minute on 2 cores).

Grid: array rows (10) x cols (10) x dataflow (os, ws) x DRAM bandwidth (5) on LLaMA-2-7B, one
decode step at 2K context, edge-128 preset. Prints points per minute in the current tree and in
``--baseline`` (``baseline.py``: alternating runs, medians), their ratio and whether the target is
met; then, in the current tree, where the time goes (expansion, trace building, evaluation,
Parquet encoding of chunks, assembling results, a cached rerun) and the kill exposure: the
longest gap between two chunk files landing on disk and the largest chunk, which bound the work
a kill can lose. CPU times are printed beside wall times because a shared machine's load inflates
wall time.

Run: ``python benchmarks/bench_sweep.py [--jobs 2] [--repeats 3] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from baseline import BASELINE, compare, print_comparison

TARGET_PER_MIN = 10_000
SIZES = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256]
SPEC = {"name": "bench-1000", "config": "edge-128",
        "workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
        "grid": {"array.rows": SIZES, "array.cols": SIZES, "array.dataflow": ["os", "ws"],
                 "dram.bandwidth_gbs": [12.8, 25.6, 51.2, 102.4, 204.8]}}
TASK = "1000-point sweep (points/min)"


def timed(fn, *args, **kwargs):
    """(value, wall seconds, parent CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def sweep_points_per_minute(jobs: int) -> float:
    """Points per minute of a fresh run of ``SPEC`` (start-up, expansion and assembly included)."""
    from sim.sweep import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        table, wall, _ = timed(run_sweep, SPEC, Path(tmp) / "sweep", n_jobs=jobs, progress=False)
    return len(table) / wall * 60


def breakdown(jobs: int, sample_size: int) -> None:
    """Where a sweep's time goes in the current tree (see the module docstring)."""
    from sim.point import evaluate_point
    from sim.sweep import _evaluate_chunk, expand, run_sweep
    from workloads import build

    points, t_expand, _ = timed(expand, SPEC)
    _, t_build, _ = timed(build, SPEC["workload"])
    sample = points[:: len(points) // sample_size][:sample_size]
    evaluate_point(sample[0].point)  # warm the trace cache, as every worker does once
    _, t_eval, c_eval = timed(lambda: [evaluate_point(p.point) for p in sample])
    _, t_chunk, c_chunk = timed(_evaluate_chunk, sample)  # evaluation + one Parquet chunk
    n = len(sample)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        started = time.time()
        table, t_sweep, c_sweep = timed(run_sweep, SPEC, out, n_jobs=jobs, progress=False)
        chunks = sorted(out.glob("points/*.parquet"), key=lambda f: f.stat().st_mtime)
        landed = np.array([f.stat().st_mtime for f in chunks])
        import pyarrow.parquet as pq

        sizes = [pq.read_metadata(f).num_rows for f in chunks]
        cached, t_cached, _ = timed(run_sweep, SPEC, out, n_jobs=jobs, progress=False)
    assert len(table) == len(points) and table.attrs["computed"] == len(points) and cached.attrs["computed"] == 0
    print(f"where the time goes in the current tree ({len(points)} points, {jobs} jobs), per point unless noted:")
    print(f"  sweep wall time        {t_sweep:8.2f} s    ({len(points) / t_sweep * 60:,.0f} points/min)")
    print(f"  expand + validate      {t_expand / len(points) * 1e3:8.3f} ms   ({t_expand:.2f} s total, parent)")
    print(f"  trace build            {t_build * 1e3:8.1f} ms   (once to validate, once per worker)")
    print(f"  evaluate_point         {t_eval / n * 1e3:8.3f} ms   (worker; CPU {c_eval / n * 1e3:.3f} ms; "
          f"from {n} points)")
    print(f"  chunk Parquet encoding {(t_chunk - t_eval) / n * 1e3:8.3f} ms   (worker; CPU "
          f"{(c_chunk - c_eval) / n * 1e3:.3f} ms; one chunk of {n} points)")
    print(f"  parent CPU in sweep    {c_sweep / len(points) * 1e3:8.3f} ms   ({c_sweep:.2f} s total: expand, chunk "
          f"writes, assembly)")
    print(f"  cached rerun           {t_cached:8.2f} s    (expand + read {len(chunks)} chunk files + results.parquet)")
    print(f"  first chunk on disk    {landed[0] - started:8.2f} s    (expand + worker start-up + first chunk)")
    gaps = np.diff(landed) if len(landed) > 1 else np.zeros(1)
    print(f"kill exposure: {len(chunks)} chunks of 1 to {max(sizes)} points; longest gap between chunk writes "
          f"{gaps.max():.2f} s (median {np.median(gaps) * 1e3:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the baseline comparison")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    parser.add_argument("--sample", type=int, default=200, help="points timed sequentially in the breakdown")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps({TASK: sweep_points_per_minute(args.jobs)}))
        return
    results = compare(__file__, ["--jobs", str(args.jobs)], args.baseline, args.repeats)
    print_comparison(results, {TASK: (">=", TARGET_PER_MIN)}, args.baseline, args.repeats)
    breakdown(args.jobs, args.sample)


if __name__ == "__main__":
    main()
