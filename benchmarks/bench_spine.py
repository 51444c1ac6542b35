"""Speed of the family-neutral spine against an earlier revision of this project, side by side.

Measures, in the current tree and in a git worktree of ``--baseline`` (default: the last commit
before the family registry), each in a fresh interpreter, alternating between the two so that
machine load hits both alike:

- one LLaMA-2-7B decode step (32 layers + LM head, 2K context) on ``edge-128``: the engine alone
  (``run``; target within 10 % of the baseline) and one sweep point (``evaluate_point``, which also
  builds the result row with its per-op series);
- the 1000-point sweep of ``bench_sweep.py`` on ``--jobs`` workers (target within 10 %).

Prints the median of ``--repeats`` rounds of each and the ratio current / baseline.

Run: ``python benchmarks/bench_spine.py [--baseline REV] [--repeats 3] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BASELINE = "771c3ad"
TARGET_RATIO = 1.10
ROOT = Path(__file__).resolve().parent.parent
DECODE = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048}


def measure(jobs: int) -> dict[str, float]:
    """Seconds for each measured task in the tree this interpreter imports ``sim`` from."""
    from bench_sweep import SPEC

    from sim.config import load_config
    from sim.engine import run
    from sim.models import build_model
    from sim.point import canonical_point, evaluate_point
    from sim.sweep import run_sweep
    from timing import median_time, timed
    from workloads import build

    trace, model = build(DECODE), build_model(load_config("edge-128"))
    point = canonical_point("edge-128", {}, DECODE)
    evaluate_point(point)  # warm caches, as a sweep worker does once
    with tempfile.TemporaryDirectory() as tmp:
        _, sweep_s = timed(lambda: run_sweep(SPEC, Path(tmp) / "sweep", n_jobs=jobs, progress=False))
    return {"engine run (ms)": median_time(lambda: run(trace, model), 50) * 1e3,
            "evaluate_point (ms)": median_time(lambda: evaluate_point(point), 50) * 1e3,
            f"1000-point sweep, {jobs} jobs (s)": sweep_s}


def _in_tree(tree: Path, jobs: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, __file__, "--measure", "--jobs", str(jobs)], cwd=tree, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


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
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, capture_output=True)
        try:
            rounds = {"baseline": [], "current": []}
            for _ in range(args.repeats):
                rounds["baseline"].append(_in_tree(worktree, args.jobs))
                rounds["current"].append(_in_tree(ROOT, args.jobs))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=True)
    print(f"current tree vs {args.baseline}, median of {args.repeats} rounds, load average {os.getloadavg()[0]:.1f}")
    print(f"{'task':<34} {'baseline':>10} {'current':>10} {'ratio':>7}  target <= {TARGET_RATIO:.2f}")
    worst = 0.0
    for task in rounds["current"][0]:
        base = statistics.median(r[task] for r in rounds["baseline"])
        now = statistics.median(r[task] for r in rounds["current"])
        worst = max(worst, now / base)
        print(f"{task:<34} {base:10.3f} {now:10.3f} {now / base:7.3f}  {'PASS' if now / base <= TARGET_RATIO else 'MISS'}")
    print(f"worst ratio {worst:.3f}")


if __name__ == "__main__":
    main()
