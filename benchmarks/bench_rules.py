"""Speed: ``sim.sparse.conv_rules`` against spconv 2.3.8's CPU rule generation on a 12k-pillar KITTI scene.

Times the rule generation of the four layer kinds of a PointPillars sparse backbone (3x3 stride 1
pad 1, 3x3 stride 2 pad 1, 2x2 stride 2, SubM 3x3) on the same sites, ours in this process and
spconv's ``ops.get_indice_pairs`` (``ConvAlgo.Native``, CPU) in its venv (``spconv_reference.py``
creates it) as a subprocess in the same run. Both single-threaded (``torch.set_num_threads(1)``; the
numba kernels are serial). Prints median times, the per-offset counts of both (they must agree) and
the ratio spconv / ours. numba's compile time is measured apart, in a fresh cache directory, and
excluded from the timings.

Scenes (``--scene``): ``uniform`` (default), ``--pillars`` sites drawn uniformly on the KITTI grid,
the realistic count (the original PointPillars' P = 12000) spread as evenly as possible, which
makes every dilating layer grow the most; ``lidar``, the pillars of the synthetic 64-beam scan
``workloads.lidar.scene(--seed)`` (about 8.7k pillars for seed 0, clustered along surfaces).

Run: ``python benchmarks/bench_rules.py [--scene uniform|lidar] [--pillars 12000] [--repeats 30]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spconv_reference import KITTI, venv_python

LAYERS = {"conv3_s1_p1": (3, 1, 1, False), "conv3_s2_p1": (3, 2, 1, False), "conv2_s2": (2, 2, 0, False),
          "subm3": (3, 1, 1, True)}

# Runs in the spconv venv: argv = coords .npy, H, W, repeats, layers JSON. Prints JSON
# {layer: [median seconds, per-offset counts]} (SubM counts read as ops.indice_conv reads them).
DRIVER = """
import json, statistics, sys, time
import numpy as np, torch
from spconv.core import ConvAlgo
from spconv.pytorch import ops
torch.set_num_threads(1)
coords = np.load(sys.argv[1]); h, w, repeats = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
indices = torch.from_numpy(np.concatenate([np.zeros((len(coords), 1), np.int32), coords], axis=1))
result = {}
for name, (k, s, p, subm) in json.loads(sys.argv[5]).items():
    call = lambda: ops.get_indice_pairs(indices, 1, [h, w], ConvAlgo.Native, [k, k], [s, s], [p, p], [1, 1],
                                        [0, 0], subm, False)
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); _, _, num = call(); times.append(time.perf_counter() - start)
    num = num.tolist()
    if subm:
        c = len(num) // 2
        num = [num[i] if i < c else len(coords) if i == c else num[len(num) - 1 - i] for i in range(len(num))]
    result[name] = [statistics.median(times), num]
print(json.dumps(result))
"""


def scene_coords(pillars: int, seed: int = 0, scene: str = "uniform") -> np.ndarray:
    """The benchmark scene (int32 (y, x)): ``pillars`` distinct sites drawn uniformly on the KITTI grid,
    or the pillars of synthetic LiDAR scan ``seed``."""
    if scene == "lidar":
        from workloads import lidar

        return lidar.pillarize(lidar.scene(seed).points, lidar.KITTI, seed).coords
    rng = np.random.default_rng(seed)
    cells = rng.choice(KITTI[0] * KITTI[1], pillars, replace=False)
    return np.stack([cells // KITTI[1], cells % KITTI[1]], axis=1).astype(np.int32)


def spconv_times(coords: np.ndarray, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coords.npy"
        np.save(path, coords)
        proc = subprocess.run([str(venv_python()), "-c", DRIVER, str(path), str(KITTI[0]), str(KITTI[1]),
                               str(repeats), json.dumps(LAYERS)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"spconv run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pillars", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--scene", choices=("uniform", "lidar"), default="uniform")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-rules-numba-")  # a real compile, not a cache load
    from sim.sparse import conv_rules

    coords = scene_coords(args.pillars, args.seed, args.scene)
    start = time.perf_counter()
    for k, s, p, subm in LAYERS.values():
        conv_rules(coords, KITTI, k, s, p, subm=subm)
    print(f"numba compile (first call of every kind, fresh cache): {time.perf_counter() - start:.2f} s")
    theirs = spconv_times(coords, args.repeats)
    print(f"{args.scene} scene: {len(coords)} pillars on {KITTI[0]}x{KITTI[1]}; median of {args.repeats} runs; single thread")
    print(f"{'layer':<12} {'n_out':>7} {'pairs':>7} {'ours ms':>8} {'spconv ms':>9} {'spconv/ours':>11}")
    total_ours = total_theirs = 0.0
    for name, (k, s, p, subm) in LAYERS.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            rules = conv_rules(coords, KITTI, k, s, p, subm=subm)
            times.append(time.perf_counter() - start)
        ours, (spconv_s, spconv_counts) = float(np.median(times)), theirs[name]
        if rules.pair_count.tolist() != spconv_counts:
            raise SystemExit(f"{name}: per-offset counts differ: ours {rules.pair_count.tolist()}, "
                             f"spconv {spconv_counts}")
        total_ours, total_theirs = total_ours + ours, total_theirs + spconv_s
        print(f"{name:<12} {rules.n_out:>7} {len(rules.pairs):>7} {ours * 1e3:>8.2f} {spconv_s * 1e3:>9.2f} "
              f"{spconv_s / ours:>10.2f}x")
    print(f"{'all four':<12} {'':>7} {'':>7} {total_ours * 1e3:>8.2f} {total_theirs * 1e3:>9.2f} "
          f"{total_theirs / total_ours:>10.2f}x  ({'faster' if total_ours < total_theirs else 'SLOWER'} than spconv)")


if __name__ == "__main__":
    sys.exit(main())
