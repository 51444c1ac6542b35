"""Cost of a CLI call: ``dse --help``, and ``dse scalesim`` on a 10-layer topology beyond it, beside
SCALE-Sim 3.0.0's time for the same layers.

Prints:

- ``dse --help`` (target <= 0.3 s) and a bare ``python -c pass`` for scale;
- ``dse scalesim`` on the first 10 conv layers of ResNet-20 for CIFAR-10 (32x32 WS array, 39,931
  cycles): the whole call, and beyond ``--help`` (target <= 0.5 s);
- the same work in-process (``sim.scalesim.convert``: read both files, run the model, write both
  CSVs into a new folder; and the model alone, ``run`` + ``compute_report`` on a built model and
  trace) against SCALE-Sim's in-process time for the same cfg and topology (construction and
  ``run_scale``, imports excluded; target >= 10^4x), and both whole calls (process start-up and
  imports included). SCALE-Sim's time grows with the simulated cycles (about 3,000 cycles/s on a
  32x32 array), ours hardly: the ratio is smaller on small layers;
- the in-process time of every case of the committed reference ``tests/data/scalesim/reference.csv``
  against the SCALE-Sim times recorded there (``sim_s`` per case), summed.

Times are medians of repeated runs (CLI calls: wall and CPU time; each call is a fresh interpreter,
as a user's call is; in-process: also the best run). The targets assume an idle 2-core machine: on a
loaded one, wall times of short runs grow with the load (the CPU time and the best run much less).
SCALE-Sim runs in ``benchmarks/.scalesim-venv`` (created on first use from PyPI, see
``scalesim_env.py``); ``--no-scalesim`` skips that run (the committed reference is still compared).

Run: ``python benchmarks/bench_cli.py [--repeats N] [--no-scalesim]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from scalesim_reference import DATA, write_case
from sim.engine import run
from sim.models import build_model
from sim.scalesim import compute_report, convert, read_cfg, read_topology
from timing import median_time, timed

ROOT = Path(__file__).resolve().parent.parent
# (H, W, R, S, C, K, stride), inputs padded as SCALE-Sim topologies give them (3x3 convs: pad 1).
# ResNet-20 for CIFAR-10 (He et al., CVPR 2016, Section 4.2, n = 3): conv1, the six 3x3 convs of the
# 16-filter stage, then the first block of the 32-filter stage (3x3 stride 2, 3x3, and the 1x1 stride-2
# projection shortcut).
LAYERS = ((34, 34, 3, 3, 3, 16, 1), *[(34, 34, 3, 3, 16, 16, 1)] * 6, (33, 33, 3, 3, 16, 32, 2),
          (18, 18, 3, 3, 32, 32, 1), (33, 33, 1, 1, 16, 32, 2))
ARRAY = (32, 32, "ws")
TARGETS = {"help_s": 0.3, "scalesim_beyond_help_s": 0.5, "in_process_ratio": 1e4}


def cli_seconds(args: list[str], repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``python -m sim.cli ARGS`` in a fresh interpreter (``[]``: ``python -c
    pass``). On an idle machine the two agree; on a loaded one the wall time grows and the CPU time does not."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sim.cli", *args] if args else [sys.executable, "-c", "pass"]

    def call() -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        _, wall = timed(lambda: subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    call()  # warm the file cache
    walls, cpus = zip(*(call() for _ in range(repeats)))
    return statistics.median(walls), statistics.median(cpus)


def in_process_seconds(cfg: Path, topology: Path, out: Path, gemm: bool = False, repeats: int = 20) -> list[float]:
    """Times of ``repeats`` calls of ``convert``, each writing into a new folder (as a first run does; on
    some file systems rewriting an existing file costs milliseconds)."""
    return [timed(lambda: convert(cfg, topology, out / f"run{i}", gemm=gemm))[1] for i in range(repeats)]


def reference_ratio() -> tuple[int, int, float, float]:
    """(cases, layers, SCALE-Sim's recorded seconds, our in-process seconds) over the committed reference."""
    table = pd.read_csv(DATA / "reference.csv")
    cases = table.groupby("case", sort=False).agg(cfg=("cfg", "first"), topology=("topology", "first"),
                                                  mode=("mode", "first"), layers=("layer", "size"),
                                                  sim_s=("sim_s", "first"))
    ours = 0.0
    with tempfile.TemporaryDirectory() as out:
        for case in cases.itertuples():
            ours += statistics.median(in_process_seconds(DATA / case.cfg, DATA / case.topology, Path(out) / case.Index,
                                                         gemm=case.mode == "gemm", repeats=5))
    return len(cases), int(cases.layers.sum()), float(cases.sim_s.sum()), ours


def verdict(value: float, target: float, at_most: bool = True) -> str:
    return "meets" if (value <= target if at_most else value >= target) else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per measurement (default 7)")
    parser.add_argument("--no-scalesim", action="store_true", help="do not run the real SCALE-Sim")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg, topo = write_case("resnet20_first10", "conv", LAYERS, *ARRAY, Path(tmp))
        bare = cli_seconds([], args.repeats)
        help_s = cli_seconds(["--help"], args.repeats)
        call_s = cli_seconds(["scalesim", "-c", str(cfg), "-t", str(topo), "-o", f"{tmp}/cli"], args.repeats)
        beyond = [c - h for c, h in zip(call_s, help_s)]
        times = in_process_seconds(cfg, topo, Path(tmp))
        ours, best = statistics.median(times), min(times)
        model, trace = build_model(read_cfg(cfg)), read_topology(topo)
        model_s = median_time(lambda: compute_report(run(trace, model)))
        print("wall time (CPU time), medians:")
        print(f"python -c pass:           {bare[0] * 1e3:5.0f} ms ({bare[1] * 1e3:.0f} ms), interpreter start-up")
        print(f"dse --help:               {help_s[0] * 1e3:5.0f} ms ({help_s[1] * 1e3:.0f} ms)   target <= "
              f"{TARGETS['help_s'] * 1e3:.0f} ms: {verdict(help_s[0], TARGETS['help_s'])}")
        print(f"dse scalesim, {len(LAYERS)} layers:  {call_s[0] * 1e3:5.0f} ms ({call_s[1] * 1e3:.0f} ms), "
              f"{beyond[0] * 1e3:.0f} ms ({beyond[1] * 1e3:.0f} ms) beyond --help   target <= "
              f"{TARGETS['scalesim_beyond_help_s'] * 1e3:.0f} ms: {verdict(beyond[0], TARGETS['scalesim_beyond_help_s'])}")
        print(f"  in-process: {ours * 1e3:.2f} ms (best {best * 1e3:.2f} ms) with files in and out, "
              f"{model_s * 1e3:.2f} ms for the model alone")
        if not args.no_scalesim:
            from scalesim_env import run_scalesim

            report, theirs = run_scalesim(cfg, topo)
            ratio = theirs / ours
            print(f"SCALE-Sim 3.0.0, same {len(report)} layers: {theirs:.3f} s in-process, "
                  f"{report.attrs['wall_s']:.3f} s whole call")
            print(f"  ratio in-process: {ratio:.0f}x (best {theirs / best:.0f}x; target >= "
                  f"{TARGETS['in_process_ratio']:.0e}: {verdict(ratio, TARGETS['in_process_ratio'], at_most=False)}); "
                  f"model alone {theirs / model_s:.0f}x; "
                  f"whole call {report.attrs['wall_s'] / call_s[0]:.1f}x")

    cases, layers, theirs, ours = reference_ratio()
    print(f"committed reference ({cases} cases, {layers} layers): SCALE-Sim {theirs:.2f} s recorded, "
          f"ours {ours * 1e3:.1f} ms in-process: {theirs / ours:.0f}x")


if __name__ == "__main__":
    main()
