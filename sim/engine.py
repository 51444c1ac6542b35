"""The engine: runs a trace on a hardware model, one vectorized call per op kind.

The engine knows no family. It hands the ops of each kind, with their dims, formats and payloads
(``sim.models.OpBatch``), to ``model.evaluate``; checks the returned columns against the protocol
of ``sim.models`` (a required column that is missing, non-finite, negative or, for cycles and
MACs, fractional, a cost column given as NaN, and a column named like one the engine computes are
each a ``ModelError``, never a silent 0); and adds, per op, utilization against ``model.peak_macs_per_cycle`` and the bound
classification: ``memory`` when the op's transfer time alone (``memory_cycles``, else its stall
cycles) exceeds its compute cycles, else ``compute``. A single unit executes ops in trace order,
so each op starts when the previous one ends (multi-unit systems are composed in ``sim.system``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ModelError, UnsupportedOpError
from sim.models import OpBatch
from sim.result import ENERGY, IDENTITY, Result
from sim.trace import Trace

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = ("cycles", "compute_cycles", "stall_cycles", "macs")
RESERVED = (*IDENTITY, "start_cycle", "end_cycle", "time_s", "utilization", "bound", "energy_pj", "energy_per_unit_pj")


def required_columns(model) -> tuple[str, ...]:
    """The columns ``model.evaluate`` must return for every op."""
    return REQUIRED + tuple(f"bytes_{level.name}_{rw}" for level in model.memory_levels for rw in ("read", "write"))


def _batch(trace: Trace, kind: str) -> tuple[np.ndarray, OpBatch]:
    rows, dims = trace.dims(kind)
    return rows, OpBatch(kind, trace.column("id")[rows], trace.column("name")[rows], dims, trace.formats(rows),
                         trace.payloads)


def _check_batch(model, batch: OpBatch, out: dict, required: tuple[str, ...]) -> None:
    """Every required column present, none reserved, one value per op."""
    where = f"model {model.name!r}, op kind {batch.kind!r}"
    for col in required:
        if col not in out:
            raise ModelError(f"{where}: evaluate returned no {col!r}; a model returns {', '.join(required)} "
                             "for every op (see sim.models)")
    n = len(batch)
    for col, values in out.items():
        if col in RESERVED:
            raise ModelError(f"{where}: evaluate returned {col!r}, which the engine computes; allowed: other names")
        shape = values.shape if isinstance(values, np.ndarray) else np.shape(values)
        if shape != (n,):
            raise ModelError(f"{where}: column {col!r} has shape {shape}; allowed: ({n},), one value per op")


def _check_values(model, trace: Trace, costs: dict[str, np.ndarray], given: dict[str, list],
                  integral: set[str], required: tuple[str, ...]) -> None:
    """Cost columns finite and >= 0 wherever a kind gives them (required ones: every op), cycle and MAC
    counts whole numbers. ``given`` holds the rows each column came back for (NaN elsewhere);
    ``integral`` the columns every kind returned as integers. One pass over all checked columns."""
    checked = [c for c in costs if c in required or c == "memory_cycles" or ENERGY.fullmatch(c)]
    for col in checked:
        if costs[col].dtype == object:
            raise ModelError(f"model {model.name!r}: column {col!r} holds non-numbers; allowed: numbers")
    block = np.vstack([costs[c] for c in checked])
    missing = np.array([len(trace) - sum(len(rows) for rows in given[c]) for c in checked])
    with np.errstate(invalid="ignore"):
        bad = (np.isnan(block).sum(axis=1) != missing) | np.isinf(block).any(axis=1) | (block < 0).any(axis=1)
        for j, col in enumerate(checked):
            if col in REQUIRED and col not in integral:
                bad[j] |= bool((block[j] != np.floor(block[j])).any())
    if bad.any():
        col = checked[int(np.flatnonzero(bad)[0])]
        values = costs[col]
        mask = np.zeros(len(trace), bool)
        mask[np.concatenate(given[col])] = True
        good = np.isfinite(values) & (values >= 0) & ((values == np.floor(values)) if col in REQUIRED else True)
        i = np.flatnonzero(mask & ~good)[0]
        allowed = "a whole number >= 0" if col in REQUIRED else "a finite number >= 0"
        raise ModelError(f"model {model.name!r}, op {trace.column('id')[i]} ({trace.column('name')[i]!r}) of kind "
                         f"{trace.column('kind')[i]!r}: {col} = {values[i]}; allowed: {allowed}")


def _cost_columns(trace: Trace, model) -> dict[str, np.ndarray]:
    """Identity, cost, utilization and bound columns of every op, in trace order."""
    unsupported = [k for k in trace.kinds() if k not in model.kinds]
    if unsupported:
        kind = unsupported[0]
        row = int(np.flatnonzero(trace.column("kind") == kind)[0])
        op = {c: trace.column(c)[row] for c in ("id", "name")}
        raise UnsupportedOpError(f"model {model.name!r} cannot run op {op['id']} ({op['name']!r}) of kind "
                                 f"{kind!r}; it runs: {', '.join(model.kinds)}")
    n = len(trace)
    required = required_columns(model)
    costs: dict[str, np.ndarray] = {}
    given: dict[str, list] = {}  # the rows each column was returned for (NaN elsewhere)
    fractional: set[str] = set()  # columns some kind returned as floats
    for kind in trace.kinds():
        rows, batch = _batch(trace, kind)
        out = model.evaluate(batch)
        _check_batch(model, batch, out, required)
        for col, values in out.items():
            dtype = (values if isinstance(values, np.ndarray) else np.asarray(values)).dtype.kind
            if col not in costs:
                costs[col] = np.full(n, np.nan) if dtype in "fiub" else np.full(n, None, object)
                given[col] = []
            elif (dtype in "fiub") != (costs[col].dtype != object):
                raise ModelError(f"model {model.name!r}, op kind {kind!r}: column {col!r} is numeric for some op "
                                 "kinds and not for others; allowed: one type per column")
            if dtype == "f":
                fractional.add(col)
            costs[col][rows] = values
            given[col].append(rows)
    _check_values(model, trace, costs, given, set(costs) - fractional, required)
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
    energy = sorted(c for c in costs if ENERGY.fullmatch(c))
    for c in energy:  # a kind without a component spends 0 on it
        values = columns[c] = costs.pop(c)
        values[np.isnan(values)] = 0.0
    columns["energy_pj"] = np.sum([columns[c] for c in energy], axis=0) if energy else np.zeros(n)
    columns.update(costs)
    return columns


def evaluate_ops(trace: Trace, model) -> pd.DataFrame:
    """Per-op cost table (identity columns + model columns), in trace order, without timing."""
    import pandas as pd

    return pd.DataFrame(_cost_columns(trace, model))


def run(trace: Trace, model) -> Result:
    """Run ``trace`` on ``model`` serially and return the per-op table with timing and totals."""
    columns = _cost_columns(trace, model)
    end = np.cumsum(columns["cycles"])
    timing = {"start_cycle": end - columns["cycles"], "end_cycle": end, "time_s": columns["cycles"] / model.clock_hz}
    identity = {c: columns.pop(c) for c in IDENTITY}
    return Result({**identity, **timing, **columns}, model.area(), model.basis, model.clock_hz,
                  model.peak_macs_per_cycle, tuple(model.memory_levels), dict(model.formulas), dict(trace.meta),
                  tuple(getattr(model, "summed_columns", ())), tuple(getattr(model, "op_series", ())))
