"""The engine: runs a trace on a hardware model, one vectorized call per op kind.

The engine knows no family. It hands the ops of each kind, with their dims, formats and payloads
(``sim.models.OpBatch``), to ``model.evaluate``; checks the returned columns against the protocol
of ``sim.models`` (a required column that is missing, non-finite or negative is a ``ModelError``,
never 0); and adds, per op, utilization against ``model.peak_macs_per_cycle`` and the bound
classification: ``memory`` when the op's transfer time alone (``memory_cycles``, else its stall
cycles) exceeds its compute cycles, else ``compute``. A single unit executes ops in trace order,
so each op starts when the previous one ends (multi-unit systems are composed in ``sim.system``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import ModelError, UnsupportedOpError
from sim.models import OpBatch
from sim.result import IDENTITY, Result
from sim.trace import Trace

REQUIRED = ("cycles", "compute_cycles", "stall_cycles", "macs")


def required_columns(model) -> tuple[str, ...]:
    """The columns ``model.evaluate`` must return for every op."""
    return REQUIRED + tuple(f"bytes_{level.name}_{rw}" for level in model.memory_levels for rw in ("read", "write"))


def _batch(trace: Trace, kind: str) -> tuple[np.ndarray, OpBatch]:
    rows, dims = trace.dims(kind)
    return rows, OpBatch(kind, trace.column("id")[rows], trace.column("name")[rows], dims, trace.formats(rows),
                         trace.payloads)


def _check_shapes(model, batch: OpBatch, out: dict, required: tuple[str, ...]) -> None:
    where = f"model {model.name!r}, op kind {batch.kind!r}"
    for col in required:
        if col not in out:
            raise ModelError(f"{where}: evaluate returned no {col!r}; a model returns {', '.join(required)} "
                             "for every op (see sim.models)")
    n = len(batch)
    for col, values in out.items():
        shape = values.shape if isinstance(values, np.ndarray) else np.shape(values)
        if shape != (n,):
            raise ModelError(f"{where}: column {col!r} has shape {shape}; allowed: ({n},), one value per op")


def _check_values(model, trace: Trace, costs: dict[str, np.ndarray], required: tuple[str, ...]) -> None:
    """Required columns finite and >= 0 for every op; energies too where a kind gives them (NaN elsewhere)."""
    for col, values in costs.items():
        if col in required:
            bad = not (np.isfinite(values).all() and (values >= 0).all())
        elif col.startswith("energy_"):
            bad = bool(np.isinf(values).any() or (values < 0).any())
        else:
            continue
        if bad:
            i = np.flatnonzero(~np.isfinite(values) | (values < 0) if col in required else np.isinf(values) | (values < 0))[0]
            raise ModelError(f"model {model.name!r}, op {trace.column('id')[i]} ({trace.column('name')[i]!r}) of kind "
                             f"{trace.column('kind')[i]!r}: {col} = {values[i]}; allowed: a finite number >= 0")


def _cost_columns(trace: Trace, model) -> dict[str, np.ndarray]:
    """Identity, cost, utilization and bound columns of every op, in trace order."""
    unsupported = [k for k in trace.kinds() if k not in model.kinds]
    if unsupported:
        kind = unsupported[0]
        op = trace.ops.loc[trace.ops["kind"] == kind].iloc[0]
        raise UnsupportedOpError(f"model {model.name!r} cannot run op {op['id']} ({op['name']!r}) of kind "
                                 f"{kind!r}; it runs: {', '.join(model.kinds)}")
    n = len(trace)
    required = required_columns(model)
    costs: dict[str, np.ndarray] = {}
    for kind in trace.kinds():
        rows, batch = _batch(trace, kind)
        out = model.evaluate(batch)
        _check_shapes(model, batch, out, required)
        for col, values in out.items():
            if col not in costs:
                numeric = np.asarray(values).dtype.kind in "fiub"
                costs[col] = np.full(n, np.nan) if numeric else np.full(n, None, object)
            costs[col][rows] = values
    _check_values(model, trace, costs, required)
    columns = {c: trace.column(c) for c in IDENTITY}
    for col in required:  # every op of every kind returned them
        columns[col] = costs.pop(col)
    for col in REQUIRED:
        columns[col] = columns[col].astype(np.int64)
    cycles, compute = columns["cycles"], columns["compute_cycles"]
    peak = model.peak_macs_per_cycle
    if peak is not None:
        columns["utilization"] = np.divide(columns["macs"], cycles * float(peak), out=np.zeros(n), where=cycles > 0)
    memory = costs.pop("memory_cycles", np.full(n, np.nan))
    memory = np.where(np.isnan(memory), columns["stall_cycles"], memory)  # kinds that did not give it
    columns["bound"] = np.where(memory > compute, "memory", "compute")
    energy = sorted(c for c in costs if c.startswith("energy_"))
    columns.update({c: np.nan_to_num(costs.pop(c)) for c in energy})  # a kind without a component spends 0 on it
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
    return Result({**identity, **timing, **columns}, model.area(), model.basis, model.clock_hz,
                  model.peak_macs_per_cycle, tuple(model.memory_levels), dict(model.formulas), dict(trace.meta))
