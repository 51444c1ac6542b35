"""The engine: runs a trace on a hardware model, one vectorized call per op kind.

A single unit executes ops in trace order, so each op starts when the previous one ends
(multi-unit systems with dependencies and shared links are composed in ``sim.system``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import UnsupportedOpError
from sim.result import COLUMNS, IDENTITY, Result
from sim.trace import Trace


def evaluate_ops(trace: Trace, model) -> pd.DataFrame:
    """Per-op cost table (identity columns + model columns), in trace order, without timing."""
    unsupported = [k for k in trace.kinds() if k not in model.kinds]
    if unsupported:
        kind = unsupported[0]
        op = trace.ops.loc[trace.ops["kind"] == kind].iloc[0]
        raise UnsupportedOpError(f"model {model.name!r} cannot run op {op['id']} ({op['name']!r}) of kind "
                                 f"{kind!r}; it runs: {', '.join(model.kinds)}")
    n = len(trace)
    columns: dict[str, np.ndarray] = {}
    for kind in trace.kinds():
        rows, dims = trace.dims(kind)
        for col, values in model.evaluate(kind, dims, trace.formats(rows)).items():
            if col not in columns:
                columns[col] = np.full(n, np.nan)
            columns[col][rows] = values
    table = trace.ops[list(IDENTITY)].copy()
    for col in COLUMNS:
        table[col] = columns.pop(col, np.full(n, np.nan))
    energy = sorted(c for c in columns if c.startswith("energy_"))
    for col in energy:
        table[col] = np.nan_to_num(columns.pop(col))
    table["energy_pj"] = table[energy].sum(axis=1)
    for col, values in columns.items():
        table[col] = values
    for col in ("cycles", "compute_cycles", "stall_cycles"):
        table[col] = table[col].astype(np.int64)
    table["macs"] = np.nan_to_num(table["macs"]).astype(np.int64)
    return table


def run(trace: Trace, model) -> Result:
    """Run ``trace`` on ``model`` serially and return the per-op table with timing and totals."""
    table = evaluate_ops(trace, model)
    end = np.cumsum(table["cycles"].to_numpy())
    table.insert(len(IDENTITY), "start_cycle", end - table["cycles"].to_numpy())
    table.insert(len(IDENTITY) + 1, "end_cycle", end)
    table["time_s"] = table["cycles"] / model.clock_hz
    pes = model.config.array.rows * model.config.array.cols
    return Result(table, model.area(), model.basis, pes, model.clock_hz, dict(trace.meta))
