"""``dse demo``: the main job on an embedded default.

Two built-in sweeps over array shape (rows x cols in {16, 32, 64, 128, 256}) and dataflow (OS, WS,
IS) on the ``edge-128`` preset: one LLaMA-2-7B decode step at 2K context (memory-bound) and the
first PointPillars block on a KITTI pseudo-image (compute-bound). Then the number-format study
(``sim.formats_study``): LLaMA-2-7B decode and prefill on equal-MAC arrays of every format-aware PE.
Each sweep gets its PPA report; an index page links them.
"""

from __future__ import annotations

import html
from pathlib import Path

SIZES = [16, 32, 64, 128, 256]
GRID = {"array.rows": SIZES, "array.cols": SIZES, "array.dataflow": ["os", "ws", "is"]}
SWEEPS = {
    "llama-2-7b-decode": {"workload": {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048},
                          "what": "LLaMA-2-7B, one decode step, batch 1, 2048-token context (all 32 layers + LM head)"},
    "pointpillars-block1": {"workload": {"model": "pointpillars-kitti", "layers": ["block1.conv0", "block1.conv1"]},
                            "what": "PointPillars (KITTI) backbone block 1: the stride-2 and the first stride-1 3x3 conv"},
}


def demo_specs() -> dict[str, dict]:
    """The built-in sweep specs, keyed by sweep name."""
    from sim.formats_study import study_specs

    specs = {name: {"name": name, "config": "edge-128", "workload": s["workload"], "grid": GRID}
             for name, s in SWEEPS.items()}
    return {**specs, **study_specs()}


def _describe(name: str) -> str:
    if name in SWEEPS:
        return SWEEPS[name]["what"]
    phase = name.rsplit("-", 1)[1]
    return f"Number formats (INT8, INT4, dINT4, MXFP4, AMXFP4 PEs): LLaMA-2-7B {phase}, equal-MAC arrays"


def run_demo(out_dir: str | Path = "reports/demo", n_jobs: int = -1, progress: bool = True) -> Path:
    """Run the demo sweeps (cached under ``out_dir/sweeps``), write their reports and an index page."""
    from sim.report import write_report
    from sim.sweep import run_sweep

    out = Path(out_dir)
    links = []
    for name, spec in demo_specs().items():
        run_sweep(spec, out / "sweeps" / name, n_jobs=n_jobs, progress=progress)
        page = write_report(out / "sweeps" / name, out / name, title=f"Demo: {_describe(name)}")
        links.append(f'<li><a href="{name}/{page.name}">{html.escape(_describe(name))}</a></li>')
    index = out / "index.html"
    index.write_text("<!doctype html><meta charset=utf-8><title>accel-dse demo</title>"
                     "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
                     "<h1>accel-dse demo</h1><p>Array shape (rows x cols in "
                     f"{SIZES}) x dataflow (OS/WS/IS) on the <code>edge-128</code> preset, and the "
                     "number formats side by side:</p>"
                     f"<ul>{''.join(links)}</ul></body>")
    return index
