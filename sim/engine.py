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


def _cost_columns(trace: Trace, model) -> dict[str, np.ndarray]:
    """Identity and cost columns of every op, in trace order (NaN where a kind lacks a column)."""
    unsupported = [k for k in trace.kinds() if k not in model.kinds]
    if unsupported:
        kind = unsupported[0]
        op = trace.ops.loc[trace.ops["kind"] == kind].iloc[0]
        raise UnsupportedOpError(f"model {model.name!r} cannot run op {op['id']} ({op['name']!r}) of kind "
                                 f"{kind!r}; it runs: {', '.join(model.kinds)}")
    n = len(trace)
    costs: dict[str, np.ndarray] = {}
    for kind in trace.kinds():
        rows, dims = trace.dims(kind)
        for col, values in model.evaluate(kind, dims, trace.formats(rows)).items():
            if col not in costs:
                costs[col] = np.full(n, np.nan)
            costs[col][rows] = values
    columns = {c: trace.column(c) for c in IDENTITY}
    columns.update({c: costs.pop(c, np.full(n, np.nan)) for c in COLUMNS})
    for col in ("cycles", "compute_cycles", "stall_cycles", "macs"):
        columns[col] = np.nan_to_num(columns[col]).astype(np.int64)
    energy = sorted(c for c in costs if c.startswith("energy_"))
    columns.update({c: np.nan_to_num(costs.pop(c)) for c in energy})
    columns["energy_pj"] = np.sum([columns[c] for c in energy], axis=0) if energy else np.zeros(n)
    columns.update(costs)
    return columns


def evaluate_ops(trace: Trace, model) -> pd.DataFrame:
    """Per-op cost table (identity columns + model columns), in trace order, without timing."""
    return pd.DataFrame(_cost_columns(trace, model))


def run(trace: Trace, model) -> Result:
    """Run ``trace`` on ``model`` serially and return the per-op table with timing and totals."""
    columns = _cost_columns(trace, model)
    end = np.cumsum(columns["cycles"])
    timing = {"start_cycle": end - columns["cycles"], "end_cycle": end, "time_s": columns["cycles"] / model.clock_hz}
    identity = {c: columns.pop(c) for c in IDENTITY}
    array_macs = model.config.array.rows * model.config.array.cols * getattr(model, "macs_per_pe", 1)
    return Result({**identity, **timing, **columns}, model.area(), model.basis, array_macs, model.clock_hz,
                  dict(trace.meta))
