"""Speed of one SPADE design point on a full PointPillars (KITTI) sparse backbone, and SCALE-Sim
on one of its layers for scale.

Timed in this process, numba warmed up first (compile time printed apart), medians of
``--repeats`` calls:

- the trace build: ray casting the default synthetic scan, pillarizing it (``workloads.lidar``),
  every layer's rulebook (``sim.sparse``) and its ops; the scene alone is printed too;
- model: ``sim.engine.run`` of the trace on a freshly built SPADE model (``--config``, default
  ``spade-16``).

Target: rules + model < 1 s, checked on the whole trace build (scene included) + model. For scale, the real SCALE-Sim 3.0.0 (``benchmarks/.scalesim-venv``,
see ``scalesim_env.py``) runs one sparse layer the only way it can: one GEMM per kernel offset
with M = that offset's pairs, K = Cin, N = Cout (``-i gemm``) on the same array and dataflow; it
knows nothing of rules, gathers or scatters, so its cycles are a dense lower bound of the same
MACs, not a reference. ``--no-scalesim`` skips it.

Run: ``python benchmarks/bench_spade_speed.py [--variant subm] [--layer block2.conv1] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_time, timed  # noqa: E402

from sim.config import load_config  # noqa: E402
from sim.engine import run  # noqa: E402
from sim.models import build_model  # noqa: E402
from workloads import build, lidar  # noqa: E402

TARGET_S = 1.0


def scalesim_layer(pairs: np.ndarray, cin: int, cout: int, rows: int, cols: int, dataflow: str) -> tuple[int, float]:
    """SCALE-Sim's total cycles and simulation seconds for one GEMM per kernel offset."""
    from scalesim_env import run_scalesim
    from scalesim_reference import write_case

    gemms = tuple((int(n), cout, cin) for n in pairs if n > 0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, topo = write_case("sparse_layer", "gemm", gemms, rows, cols, dataflow, case_dir=Path(tmp))
        report, seconds = run_scalesim(cfg, topo, gemm=True)
    return int(report["Total Cycles"].sum()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="spade-16")
    parser.add_argument("--variant", default="subm")
    parser.add_argument("--layer", default="block2.conv1", help="the layer SCALE-Sim runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-scalesim", action="store_true")
    args = parser.parse_args()
    spec = {"model": "pointpillars-kitti", "variant": args.variant}
    config = load_config(args.config)

    trace, first = timed(lambda: build(spec))  # compiles the numba kernels
    scene_s = median_time(lambda: lidar.pillarize(lidar.scene(0).points, lidar.KITTI, 0), args.repeats)
    build_s = median_time(lambda: build(spec), args.repeats)
    result, first_run = timed(lambda: run(trace, build_model(config)))
    model_s = median_time(lambda: run(trace, build_model(config)), args.repeats)
    sparse = trace.ops["kind"].str.startswith("sparse_")
    print(f"PointPillars KITTI, variant {args.variant}: {int(sparse.sum())} sparse layers, "
          f"{trace.meta['pillars']} pillars, {sum(len(trace.payloads[int(i)]['pairs']) for i in trace.ops['id'][sparse])} pairs")
    print(f"first build (numba compile included) {first:6.3f} s; first run {first_run:6.3f} s")
    print(f"trace build (scene, rules, ops)       {build_s:6.3f} s, of which the scene {scene_s:.3f} s")
    print(f"model ({args.config})                    {model_s:6.3f} s")
    total = build_s + model_s
    print(f"trace build + model                   {total:6.3f} s; target (rules + model) < {TARGET_S} s: "
          f"{'met' if total < TARGET_S else 'NOT met'} (ratio {total / TARGET_S:.2f})")

    if args.no_scalesim:
        return
    ops = trace.ops.reset_index(drop=True)
    row = ops.index[ops["name"] == args.layer]
    if not len(row):
        raise SystemExit(f"--layer: got {args.layer!r}; allowed: {', '.join(ops['name'][sparse])}")
    op = ops.loc[row[0]]
    pairs = trace.payloads[int(op["id"])]["pair_count"]
    ours_cycles = float(result.columns["cycles"][row[0]])
    ours_s = median_time(lambda: run(trace, build_model(config)), args.repeats) / len(ops)
    dataflow = config.array.dataflow.subm if "subm" in args.variant else config.array.dataflow.conv
    theirs_cycles, theirs_s = scalesim_layer(pairs, int(op["C"]), int(op["K"]), config.array.rows,
                                             config.array.cols, dataflow)
    print(f"\n{args.layer} ({int(op['C'])} -> {int(op['K'])}, {int(pairs.sum())} pairs over {int((pairs > 0).sum())} offsets):")
    print(f"  ours (whole layer: rules, gather, GEMMs, scatter)  {ours_cycles:12.0f} cycles")
    print(f"  SCALE-Sim 3.0.0, one GEMM per offset ({dataflow})   {theirs_cycles:12d} cycles, {theirs_s:.3f} s "
          f"({theirs_s / ours_s:,.0f}x our mean time per op of the backbone, {ours_s * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
