"""The real SCALE-Sim 3.0.0, in its own venv (it needs numpy<2), driven through its Python API.

``scalesim_python()`` creates ``benchmarks/.scalesim-venv`` once (PyPI ``scalesim==3.0.0``,
``numpy==1.26.4``). ``run_scalesim`` runs one cfg + topology with traces off
(``save_disk_space=True``) and the topology doubling as the layout file (its rows parse as a
layout, and layouts are ignored when ``IfmapCustomLayout``/``FilterCustomLayout`` are false),
which avoids the 3.0.0 CLI's "Layout file not found" exit.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

VENV = Path(__file__).parent / ".scalesim-venv"
PACKAGES = ["scalesim==3.0.0", "numpy==1.26.4"]
DRIVER = """
import sys
from scalesim.scale_sim import scalesim
cfg, topo, out, gemm = sys.argv[1:5]
sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=topo,
               input_type_gemm=gemm == "1")
sim.run_scale(top_path=out)
"""


def scalesim_python() -> Path:
    """Python of the SCALE-Sim venv, created on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def run_scalesim(cfg: Path, topology: Path, gemm: bool = False) -> tuple[pd.DataFrame, float]:
    """COMPUTE_REPORT of the real SCALE-Sim for ``cfg`` + ``topology``, and its wall time (s)."""
    python = scalesim_python()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([str(python), "-c", DRIVER, str(cfg), str(topology), out, "1" if gemm else "0"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(f"SCALE-Sim failed on {cfg} {topology}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        report = next(Path(out).rglob("COMPUTE_REPORT.csv"))
        table = pd.read_csv(report, skipinitialspace=True)
    table.columns = [c.strip() for c in table.columns]
    return table.loc[:, [c for c in table.columns if not c.startswith("Unnamed")]], wall
