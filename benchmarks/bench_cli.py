"""Cost of a CLI call: ``dse --help``, and ``dse scalesim`` on a 10-layer topology beyond it, beside
SCALE-Sim 3.0.0's time for the same layers.

Prints:

- ``dse --help`` wall time (target <= 0.3 s) and a bare ``python -c pass`` for scale;
- ``dse scalesim`` on a 10-layer CIFAR-style conv topology (32x32 WS array): wall time of the whole
  call, and beyond ``--help`` (target <= 0.5 s);
- the same work in-process (``sim.scalesim.convert``: read the files, run the model, write both CSVs)
  against SCALE-Sim's in-process time for the same cfg and topology (construction and ``run_scale``,
  imports excluded; target >= 10^4x), and both whole calls (process start-up and imports included);
- the in-process time of every case of the committed reference ``tests/data/scalesim/reference.csv``
  against the SCALE-Sim times recorded there (``sim_s`` per case), summed.

Times are medians of repeated runs; each call is a fresh interpreter, as a user's call is. The
targets assume an idle 2-core machine: on a loaded one, wall times grow with the load.
SCALE-Sim runs in ``benchmarks/.scalesim-venv`` (created on first use from PyPI, see
``scalesim_env.py``); ``--no-scalesim`` skips that run (the committed reference is still compared).

Run: ``python benchmarks/bench_cli.py [--repeats N] [--no-scalesim]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from scalesim_reference import DATA, write_case
from sim.scalesim import convert
from timing import median_time, timed

ROOT = Path(__file__).resolve().parent.parent
# name, (H, W, R, S, C, K, stride): a CIFAR-style network (3x3 convs halving the map every other layer)
LAYERS = ((32, 32, 3, 3, 3, 16, 1), (32, 32, 3, 3, 16, 16, 1), (32, 32, 3, 3, 16, 32, 2), (16, 16, 3, 3, 32, 32, 1),
          (16, 16, 3, 3, 32, 64, 2), (8, 8, 3, 3, 64, 64, 1), (8, 8, 3, 3, 64, 128, 2), (4, 4, 3, 3, 128, 128, 1),
          (4, 4, 1, 1, 128, 256, 1), (1, 1, 1, 1, 256, 10, 1))
ARRAY = (32, 32, "ws")
TARGETS = {"help_s": 0.3, "scalesim_beyond_help_s": 0.5, "in_process_ratio": 1e4}


def cli_seconds(args: list[str], repeats: int) -> float:
    """Median wall time of ``python -m sim.cli ARGS`` in a fresh interpreter (``[]``: ``python -c pass``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sim.cli", *args] if args else [sys.executable, "-c", "pass"]

    def call():
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)

    call()  # warm the file cache
    return statistics.median(timed(call)[1] for _ in range(repeats))


def reference_ratio() -> tuple[int, int, float, float]:
    """(cases, layers, SCALE-Sim's recorded seconds, our in-process seconds) over the committed reference."""
    table = pd.read_csv(DATA / "reference.csv")
    cases = table.groupby("case", sort=False).agg(cfg=("cfg", "first"), topology=("topology", "first"),
                                                  mode=("mode", "first"), layers=("layer", "size"),
                                                  sim_s=("sim_s", "first"))
    ours = 0.0
    with tempfile.TemporaryDirectory() as out:
        for case in cases.itertuples():
            ours += median_time(lambda: convert(DATA / case.cfg, DATA / case.topology, out, gemm=case.mode == "gemm"),
                                repeats=5)
    return len(cases), int(cases.layers.sum()), float(cases.sim_s.sum()), ours


def verdict(value: float, target: float, at_most: bool = True) -> str:
    return "meets" if (value <= target if at_most else value >= target) else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per measurement (default 7)")
    parser.add_argument("--no-scalesim", action="store_true", help="do not run the real SCALE-Sim")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg, topo = write_case("bench_cli", "conv", LAYERS, *ARRAY, Path(tmp))
        out = Path(tmp) / "out"
        bare = cli_seconds([], args.repeats)
        help_s = cli_seconds(["--help"], args.repeats)
        call_s = cli_seconds(["scalesim", "-c", str(cfg), "-t", str(topo), "-o", str(out)], args.repeats)
        in_process_s = median_time(lambda: convert(cfg, topo, out), repeats=20)
        print(f"python -c pass:            {bare * 1e3:7.0f} ms (interpreter start-up, for scale)")
        print(f"dse --help:                {help_s * 1e3:7.0f} ms   target <= {TARGETS['help_s'] * 1e3:.0f} ms: "
              f"{verdict(help_s, TARGETS['help_s'])}")
        beyond = call_s - help_s
        print(f"dse scalesim, {len(LAYERS)} layers:   {call_s * 1e3:7.0f} ms, {beyond * 1e3:.0f} ms beyond --help   "
              f"target <= {TARGETS['scalesim_beyond_help_s'] * 1e3:.0f} ms: "
              f"{verdict(beyond, TARGETS['scalesim_beyond_help_s'])}")
        print(f"  in-process (convert):    {in_process_s * 1e3:7.2f} ms")
        if not args.no_scalesim:
            from scalesim_env import run_scalesim

            report, their_s = run_scalesim(cfg, topo)
            ratio = their_s / in_process_s
            print(f"SCALE-Sim 3.0.0, same {len(report)} layers: {their_s:.3f} s in-process, "
                  f"{report.attrs['wall_s']:.3f} s whole call")
            print(f"  ratio in-process:        {ratio:9.0f}x   target >= {TARGETS['in_process_ratio']:.0e}: "
                  f"{verdict(ratio, TARGETS['in_process_ratio'], at_most=False)}")
            print(f"  ratio whole call:        {report.attrs['wall_s'] / call_s:9.1f}x")

    cases, layers, theirs, ours = reference_ratio()
    print(f"committed reference ({cases} cases, {layers} layers): SCALE-Sim {theirs:.2f} s recorded, "
          f"ours {ours * 1e3:.1f} ms in-process: {theirs / ours:.0f}x")


if __name__ == "__main__":
    main()
