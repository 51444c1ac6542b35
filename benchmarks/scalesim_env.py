"""The real SCALE-Sim 3.0.0 in its own venv (it needs numpy<2), driven through its Python API.

``scalesim_python()`` creates ``benchmarks/.scalesim-venv`` once (``python3 -m venv``, then PyPI
``scalesim==3.0.0`` and ``numpy==1.26.4``) and returns its interpreter.

``run_scalesim()`` runs one cfg + topology in that venv as a subprocess. It drives the API
``scalesim.scale_sim.scalesim(save_disk_space=True, ...)`` rather than ``python -m scalesim.scale``
because the 3.0.0 CLI always writes the per-cycle SRAM/DRAM trace CSVs (its ``-s`` flag is parsed
but ignored; AlexNet conv1 alone gives ~125 MB), while ``save_disk_space=True`` skips them. The
CLI's other trap, ``-l`` defaulting to ``./layouts/conv_nets/test.csv`` and exiting with "Layout file
not found", is avoided by passing a placeholder layout file written next to the outputs: SCALE-Sim
always parses a layout file (header line skipped, then ``name, <ints>...,`` rows), but only reads
its values when ``IfmapCustomLayout``/``FilterCustomLayout`` are true in the cfg (always false in
our cfgs), so its content does not change any result.
"""

from __future__ import annotations

import configparser
import fcntl
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

VENV = Path(__file__).resolve().parent / ".scalesim-venv"
PACKAGES = ["scalesim==3.0.0", "numpy==1.26.4"]

# Runs inside the venv: argv = cfg, topology, layout, outdir, gemm(0|1). Prints the simulation
# time (construction + run_scale, imports excluded) and the peak RSS of the process.
DRIVER = """
import resource, sys, time
from scalesim.scale_sim import scalesim
cfg, topo, layout, out, gemm = sys.argv[1:6]
start = time.perf_counter()
sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
               input_type_gemm=gemm == "1")
sim.run_scale(top_path=out)
print("SIM_SECONDS", time.perf_counter() - start)
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

# Placeholder layout (format of scalesim/layout_utils.py: a header line, then one row per layer of
# name + 20 integers and a trailing comma). Unused unless a cfg enables a custom layout.
LAYOUT = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, "
          "Filter Height Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, "
          "Num Filter Intraline Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, "
          "Channel Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, "
          "Channel Interline Order, Num Filter Intraline Order, Channel Intraline Order, "
          "Filter Height Intraline Order, Filter Width Intraline Order, Num Filter Interline Order, "
          "Channel Interline Order, Filter Height Interline Order, Filter Width Interline Order,\n"
          "placeholder, 1, 1, 1, 1, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 3,\n")


def _versions_ok(python: Path) -> bool:
    check = subprocess.run([str(python), "-c", "import numpy, importlib.metadata as m; "
                            "print(m.version('scalesim'), numpy.__version__)"], capture_output=True, text=True)
    return check.returncode == 0 and check.stdout.split() == ["3.0.0", "1.26.4"]


def scalesim_python(venv: Path = VENV) -> Path:
    """Interpreter of the SCALE-Sim venv; creates the venv and installs the pinned packages on
    first use (under a file lock, so concurrent callers install once). A marker file records a
    verified install; an existing venv without it is verified and reused, or rebuilt."""
    venv = Path(venv)
    python, marker = venv / "bin" / "python", venv / ".installed"
    if python.exists() and marker.exists() and marker.read_text().split() == PACKAGES:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(str(venv.resolve()).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"scalesim-venv-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (python.exists() and _versions_ok(python)):
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            *PACKAGES], check=True)
            if not _versions_ok(python):
                raise RuntimeError(f"{venv}: scalesim 3.0.0 / numpy 1.26.4 not importable after install")
        marker.write_text("\n".join(PACKAGES) + "\n")
    return python


def _run_name(cfg_path: Path) -> str:
    """``[general] run_name`` of a cfg: SCALE-Sim writes its reports to ``<outdir>/<run_name>/``."""
    parser = configparser.ConfigParser()
    parser.read(cfg_path)
    return parser.get("general", "run_name")


def run_scalesim(cfg_path: str | Path, topology_path: str | Path, outdir: str | Path | None = None,
                 gemm: bool = False) -> tuple[pd.DataFrame, float]:
    """Run the real SCALE-Sim 3.0.0 on ``cfg_path`` + ``topology_path`` (``gemm``: the topology
    holds ``name, M, N, K,`` rows, as ``-i gemm``) and return ``(compute_report, seconds)``.

    ``compute_report`` is ``COMPUTE_REPORT.csv`` with stripped column names (LayerID, Total Cycles
    (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute
    Util %). ``seconds`` is the simulation time measured inside the SCALE-Sim process (interpreter
    start-up and imports excluded). ``compute_report.attrs`` also holds ``wall_s`` (the whole
    subprocess), ``sim_s`` (= ``seconds``), ``peak_rss_mb`` and ``outdir`` (the run folder holding
    all four reports; ``None`` when ``outdir`` was not given, as a temporary folder is then used).
    """
    python = scalesim_python()
    cfg_path, topology_path = Path(cfg_path).resolve(), Path(topology_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(outdir).resolve() if outdir is not None else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        layout = out / "placeholder_layout.csv"
        layout.write_text(LAYOUT)
        start = time.perf_counter()
        proc = subprocess.run([str(python), "-c", DRIVER, str(cfg_path), str(topology_path), str(layout),
                               str(out), "1" if gemm else "0"], cwd=out, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode or "SIM_SECONDS" not in proc.stdout:
            raise RuntimeError(f"SCALE-Sim failed on {cfg_path} {topology_path} (exit {proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        values = dict(line.split() for line in proc.stdout.splitlines()
                      if line.startswith(("SIM_SECONDS", "PEAK_RSS_KB")))
        run_dir = out / _run_name(cfg_path)
        table = pd.read_csv(run_dir / "COMPUTE_REPORT.csv", skipinitialspace=True)
    table.columns = [c.strip() for c in table.columns]
    table = table.loc[:, [c for c in table.columns if c and not c.startswith("Unnamed")]]
    seconds = float(values["SIM_SECONDS"])
    table.attrs.update(wall_s=wall, sim_s=seconds, peak_rss_mb=int(values["PEAK_RSS_KB"]) / 1024,
                       outdir=run_dir if outdir is not None else None)
    return table, seconds
