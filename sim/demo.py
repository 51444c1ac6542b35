"""``dse demo``: the main job on an embedded default.

Built-in sweeps on the ``edge-128`` preset, each with its PPA report, and a landing page:

- array shape (rows x cols in {16, 32, 64, 128, 256}) x dataflow (OS, WS, IS) for one LLaMA-2-7B
  decode step at 2K context (memory-bound) and for the first PointPillars block on a KITTI
  pseudo-image (compute-bound);
- memory x batch: the DRAM presets (DDR4, LPDDR5X, GDDR6, HBM2E, HBM3; one device each) x decode
  batch 1, 8, 32, ranked per token;
- the number-format study (``sim.formats_study``): LLaMA-2-7B decode and prefill on equal-MAC
  arrays of every format-aware PE;
- SPADE on the ``spade-16`` preset: PointPillars (KITTI) on the default synthetic scene, its
  sparse variants (regular, SubM, DVP-pruned, SD-Conv at t = 2 %) x square arrays of 16 and 32,
  each point beside its ideal dense baseline.
"""

from __future__ import annotations

from pathlib import Path

SIZES = [16, 32, 64, 128, 256]
GRID = {"array.rows": SIZES, "array.cols": SIZES, "array.dataflow": ["os", "ws", "is"]}
DECODE = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048}
MEMORIES = ["ddr4", "lpddr5x", "gddr6", "hbm2e", "hbm3"]
SWEEPS = {
    "llama-2-7b-decode": {"workload": DECODE, "grid": GRID,
                          "what": "LLaMA-2-7B, one decode step, batch 1, 2048-token context: array shape x dataflow"},
    "pointpillars-block1": {"workload": {"model": "pointpillars-kitti", "layers": ["block1.conv0", "block1.conv1"]},
                            "grid": GRID,
                            "what": "PointPillars (KITTI) backbone block 1 (stride-2 and first stride-1 3x3 conv): "
                                    "array shape x dataflow"},
    "llama-2-7b-memory-batch": {"workload": DECODE,
                                "grid": {"dram.kind": MEMORIES, "workload.batch": [1, 8, 32]},
                                "what": "LLaMA-2-7B decode at 2K context: DRAM kind x batch, per token"},
    "pointpillars-spade": {"config": "spade-16", "workload": {"model": "pointpillars-kitti", "variant": "subm"},
                           "grid": {"workload.variant": ["spconv", "subm", "spconv-p", "sd-conv"],
                                    "array.rows": [16, 32], "array.cols": [16, 32]},
                           "what": "SPADE: PointPillars (KITTI, synthetic scene) sparse variants x array shape, "
                                   "against the ideal dense array"},
}


def demo_specs() -> dict[str, dict]:
    """The built-in sweep specs, keyed by sweep name."""
    from sim.formats_study import study_specs

    specs = {name: {"name": name, "config": s.get("config", "edge-128"), "workload": s["workload"], "grid": s["grid"]}
             for name, s in SWEEPS.items()}
    return {**specs, **study_specs()}


def _describe(name: str) -> str:
    if name in SWEEPS:
        return SWEEPS[name]["what"]
    phase = name.rsplit("-", 1)[1]
    return f"Number formats (INT8, INT4, dINT4, MXFP4, AMXFP4 PEs): LLaMA-2-7B {phase}, equal-MAC arrays"


def run_demo(out_dir: str | Path = "reports/demo", n_jobs: int = -1, progress: bool = True) -> Path:
    """Run the demo sweeps (cached under ``out_dir/sweeps``), write their reports and a landing page."""
    from sim.report import write_index, write_report
    from sim.sweep import run_sweep

    out = Path(out_dir)
    pages = []
    for name, spec in demo_specs().items():
        run_sweep(spec, out / "sweeps" / name, n_jobs=n_jobs, progress=progress)
        pages.append(write_report(out / "sweeps" / name, out / name, title=f"Demo: {_describe(name)}"))
    intro = ("<p>Sweeps on the <code>edge-128</code> preset (128 x 128 weight-stationary array, 16 nm, 1 GHz, "
             "4 MiB of SRAM, one DDR4-3200 channel unless swept), and SPADE on <code>spade-16</code>. Each card links "
             "a PPA report; its numbers are those of the best point by energy-delay product per work unit.</p>")
    return write_index(out, pages, "accel-dse demo", intro)
