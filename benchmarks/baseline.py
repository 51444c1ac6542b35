"""Measure the current tree and an earlier revision side by side, in the same benchmark run.

The earlier revision is checked out into a temporary git worktree. A benchmark script runs its
own ``--measure`` mode once per round in each tree, alternating, each in a fresh interpreter whose
``sim`` comes from that tree, so that machine load hits both alike; the medians over rounds and
their ratios are what the scripts print.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BASELINE = "771c3ad"  # the last commit before the family registry
ROOT = Path(__file__).resolve().parent.parent


def _measure_in(tree: Path, script: str, args: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, script, "--measure", *args], cwd=tree, env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def compare(script: str, args: list[str], baseline: str = BASELINE, repeats: int = 3) -> dict[str, tuple[float, float]]:
    """``{task: (baseline median, current median)}`` of ``script --measure ARGS`` over ``repeats`` rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), baseline],
                       check=True, capture_output=True)
        try:
            rounds = {"baseline": [], "current": []}
            for _ in range(repeats):
                rounds["baseline"].append(_measure_in(worktree, script, args))
                rounds["current"].append(_measure_in(ROOT, script, args))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=True)
    return {task: (statistics.median(r[task] for r in rounds["baseline"]),
                   statistics.median(r[task] for r in rounds["current"])) for task in rounds["current"][0]}


def print_comparison(results: dict[str, tuple[float, float]], targets: dict[str, tuple[str, float]], baseline: str,
                     repeats: int) -> None:
    """One line per task: baseline, current, current / baseline and, where a task has a target
    (``{task: ("<=" or ">=", value)}``), whether the current value meets it."""
    print(f"current tree vs {baseline}, median of {repeats} rounds, load average {os.getloadavg()[0]:.1f}")
    print(f"{'task':<36} {'baseline':>10} {'current':>10} {'ratio':>7}  target")
    for task, (base, now) in results.items():
        verdict = ""
        if task in targets:
            op, value = targets[task]
            met = now <= value if op == "<=" else now >= value
            verdict = f"{op} {value:g}: {'met' if met else 'NOT met'}"
        print(f"{task:<36} {base:10.3f} {now:10.3f} {now / base:7.3f}  {verdict}")
