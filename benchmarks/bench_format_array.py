"""Speed of the format-aware MAC array model, and the number-format table it produces.

For every case of ``sim.formats_study`` (one per format-aware PE): the time to run one full
LLaMA-2-7B decode step (32 layers + LM head, 2K context) on its design point, beside the target
(< 50 ms per design point) and beside the generic integer PE on the same preset in the same
process (the ratio shows what the format-aware PE costs). Then the side-by-side table for decode
and prefill.

Run: ``python benchmarks/bench_format_array.py`` (a few seconds).
"""

from __future__ import annotations

import tempfile

import pandas as pd

from sim.config import load_config
from sim.engine import run
from sim.formats_study import BASE, WORKLOADS, cases, formats_table, study_specs
from sim.models import build_model
from sim.sweep import run_sweep
from timing import median_time
from workloads import build

TARGET_S = 50e-3


def decode_times() -> pd.DataFrame:
    generic_trace = build(WORKLOADS["decode"])
    generic_model = build_model(load_config(BASE))
    generic = median_time(lambda: run(generic_trace, generic_model))
    rows = []
    for pe, case in cases().items():
        trace = build({**WORKLOADS["decode"], "formats": case["workload.formats"]})
        model = build_model(load_config(BASE, {k: v for k, v in case.items() if not k.startswith("workload.")}))
        seconds = median_time(lambda: run(trace, model))
        rows.append({"pe": pe, "ops": len(trace), "ms_per_point": seconds * 1e3, "target_ms": TARGET_S * 1e3,
                     "margin": TARGET_S / seconds, "vs_generic_pe": seconds / generic})
    return pd.DataFrame(rows)


def main() -> None:
    pd.set_option("display.width", 220)
    times = decode_times()
    print("LLaMA-2-7B decode step per design point:")
    print(times.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    with tempfile.TemporaryDirectory() as out:
        for name, spec in study_specs().items():
            table = formats_table(run_sweep(spec, f"{out}/{name}", n_jobs=1, progress=False))
            print(f"\n{name}:")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if (times["ms_per_point"] > TARGET_S * 1e3).any():
        raise SystemExit("a design point took longer than the 50 ms target")


if __name__ == "__main__":
    main()
