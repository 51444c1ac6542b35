"""Speed of one LLaMA-2-7B decode point and of a 1000-point sweep, against an earlier revision.

Measures, in the current tree and in a git worktree of ``--baseline`` (default 771c3ad, the last
commit before the family registry; see ``baseline.py``), alternating so that machine load hits
both alike:

- one LLaMA-2-7B decode step (32 layers + LM head, 2K context) on ``edge-128``: the engine alone
  (``run``) and one sweep point (``evaluate_point``: config, model, engine and the result row with
  its per-op series); target <= 0.5 ms per point;
- the 1000-point sweep of ``bench_sweep.py`` on ``--jobs`` workers, in points per minute
  (target >= 10,000 on 2 cores).

Prints the median of ``--repeats`` rounds of each, the ratio current / baseline and whether the
targets are met.

Run: ``python benchmarks/bench_spine.py [--baseline REV] [--repeats 3] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import json

from baseline import BASELINE, compare, print_comparison

DECODE = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048}
POINT_MS, SWEEP_PER_MIN = "decode point, evaluate_point (ms)", "1000-point sweep (points/min)"
TARGETS = {POINT_MS: ("<=", 0.5), SWEEP_PER_MIN: (">=", 10_000)}


def measure(jobs: int) -> dict[str, float]:
    """The tasks' speeds in the tree this interpreter imports ``sim`` from."""
    from bench_sweep import sweep_points_per_minute

    from sim.config import load_config
    from sim.engine import run
    from sim.models import build_model
    from sim.point import canonical_point, evaluate_point
    from timing import median_time
    from workloads import build

    trace, model = build(DECODE), build_model(load_config("edge-128"))
    point = canonical_point("edge-128", {}, DECODE)
    evaluate_point(point)  # warm caches, as a sweep worker does once
    return {"decode point, engine run (ms)": median_time(lambda: run(trace, model), 50) * 1e3,
            POINT_MS: median_time(lambda: evaluate_point(point), 50) * 1e3,
            SWEEP_PER_MIN: sweep_points_per_minute(jobs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.jobs)))
        return
    results = compare(__file__, ["--jobs", str(args.jobs)], args.baseline, args.repeats)
    print_comparison(results, TARGETS, args.baseline, args.repeats)


if __name__ == "__main__":
    main()
