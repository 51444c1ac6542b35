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

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np

from sim.errors import ModelError, UnsupportedOpError
from sim.models import OpBatch
from sim.result import IDENTITY, Result, is_energy
from sim.trace import Trace

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = ("cycles", "compute_cycles", "stall_cycles", "macs")
RESERVED = (*IDENTITY, "start_cycle", "end_cycle", "time_s", "utilization", "bound", "energy_pj", "energy_per_unit_pj")
_RESERVED = frozenset(RESERVED)


def required_columns(model) -> tuple[str, ...]:
    """The columns ``model.evaluate`` must return for every op."""
    return REQUIRED + tuple(f"bytes_{level.name}_{rw}" for level in model.memory_levels for rw in ("read", "write"))


@dataclass(frozen=True)
class _Plan:
    """What the engine derives from a trace alone: per kind, the trace rows of its ops, their slice
    of the kind-grouped order and their batch (arrays read-only, so no model can alter a later run's
    input); ``order`` maps kind-grouped positions to trace positions."""

    kinds: list[str]
    rows: list[np.ndarray]
    slices: list[slice]
    batches: list[OpBatch]
    order: np.ndarray


_plans: WeakKeyDictionary[Trace, _Plan] = WeakKeyDictionary()  # a trace is not modified after it is built


def _plan(trace: Trace) -> _Plan:
    plan = _plans.get(trace)
    if plan is None:
        kinds, rows, slices, batches, start = trace.kinds(), [], [], [], 0
        for kind in kinds:
            kind_rows, dims = trace.dims(kind)
            batch = OpBatch(kind, trace.column("id")[kind_rows], trace.column("name")[kind_rows], dims,
                            trace.formats(kind_rows), trace.payloads)
            for array in (kind_rows, batch.ids, batch.names, *dims.values(), *batch.formats.values()):
                array.flags.writeable = False
            rows.append(kind_rows)
            slices.append(slice(start, start + len(kind_rows)))
            batches.append(batch)
            start += len(kind_rows)
        order = np.argsort(np.concatenate(rows), kind="stable")
        plan = _plans[trace] = _Plan(kinds, rows, slices, batches, order)
    return plan


def _check_batch(model, batch: OpBatch, out: dict, required: tuple[str, ...]) -> None:
    """Every required column present, none reserved, one value per op."""
    where = f"model {model.name!r}, op kind {batch.kind!r}"
    for col in required:
        if col not in out:
            raise ModelError(f"{where}: evaluate returned no {col!r}; a model returns {', '.join(required)} "
                             "for every op (see sim.models)")
    n = len(batch)
    if _RESERVED.isdisjoint(out) and all(type(v) is np.ndarray and v.shape == (n,) for v in out.values()):
        return
    for col, values in out.items():
        if col in RESERVED:
            raise ModelError(f"{where}: evaluate returned {col!r}, which the engine computes; allowed: other names")
        shape = values.shape if isinstance(values, np.ndarray) else np.shape(values)
        if shape != (n,):
            raise ModelError(f"{where}: column {col!r} has shape {shape}; allowed: ({n},), one value per op")


@dataclass
class _Merged:
    """The per-kind outputs as whole-trace columns in trace order: numeric columns as the rows of one
    float ``block`` (NaN where a kind has no value; ``absent`` counts those ops per row), the others
    in ``objects`` (None where a kind has no value); ``fractional``: the columns some kind returned
    as floats."""

    names: list[str]
    index: dict[str, int]
    block: np.ndarray
    absent: np.ndarray
    objects: dict[str, np.ndarray]
    fractional: set[str]
    rows: list[np.ndarray]
    outs: list[dict]

    def given(self, col: str) -> list[np.ndarray]:
        """The trace rows ``col`` came back for, one array per kind that returned it."""
        return [rows for rows, out in zip(self.rows, self.outs) if col in out]

    def columns(self) -> dict[str, np.ndarray]:
        """Every column by name, in order of first appearance."""
        return {c: self.objects[c] if c in self.objects else self.block[self.index[c]] for c in self.names}


def _check_values(model, trace: Trace, merged: _Merged, required: tuple[str, ...]) -> None:
    """Cost columns finite and >= 0 wherever a kind gives them (required ones: every op), cycle and MAC
    counts whole numbers (unless every kind returned them as integers). One pass over all checked
    columns."""
    checked = [c for c in merged.names if c in required or c == "memory_cycles" or is_energy(c)]
    for col in checked:
        if col in merged.objects:
            raise ModelError(f"model {model.name!r}: column {col!r} holds non-numbers; allowed: numbers")
    rows = [merged.index[c] for c in checked]
    block = merged.block[rows]
    with np.errstate(invalid="ignore"):
        bad = ((np.isnan(block).sum(axis=1) != merged.absent[rows]) | np.isinf(block).any(axis=1)
               | (block < 0).any(axis=1))
        for j, col in enumerate(checked):
            if col in REQUIRED and col in merged.fractional:
                bad[j] |= bool((block[j] != np.floor(block[j])).any())
    if bad.any():
        col = checked[int(np.flatnonzero(bad)[0])]
        values = merged.block[merged.index[col]]
        mask = np.zeros(len(trace), bool)
        mask[np.concatenate(merged.given(col))] = True
        good = np.isfinite(values) & (values >= 0) & ((values == np.floor(values)) if col in REQUIRED else True)
        i = np.flatnonzero(mask & ~good)[0]
        allowed = "a whole number >= 0" if col in REQUIRED else "a finite number >= 0"
        raise ModelError(f"model {model.name!r}, op {trace.column('id')[i]} ({trace.column('name')[i]!r}) of kind "
                         f"{trace.column('kind')[i]!r}: {col} = {values[i]}; allowed: {allowed}")


def _merge(model, plan: _Plan, n: int, outs: list[dict]) -> _Merged:
    """Each kind's columns at its ops' trace rows: its numeric columns stacked into their slice of a
    kind-grouped block, reordered to trace order once; other columns one by one."""
    names = list(dict.fromkeys(c for out in outs for c in out))
    numeric, other, per_kind = set(), set(), []  # columns returned as numbers / as anything else
    for kind, out in zip(plan.kinds, outs):
        values = [v if type(v) is np.ndarray else np.asarray(v) for v in out.values()]
        flags = [v.dtype.kind in "fiub" for v in values]
        if all(flags) and other.isdisjoint(out):
            numeric.update(out)
        else:
            for col, flag in zip(out, flags):
                if col in (other if flag else numeric):
                    raise ModelError(f"model {model.name!r}, op kind {kind!r}: column {col!r} is numeric for some "
                                     "op kinds and not for others; allowed: one type per column")
                (numeric if flag else other).add(col)
        per_kind.append((values, flags))
    numbers = [c for c in names if c in numeric]
    index = {c: i for i, c in enumerate(numbers)}
    grouped = np.full((len(numbers), n), np.nan)
    absent = [n] * len(numbers)
    objects = {c: np.full(n, None, object) for c in names if c in other}
    fractional = set()
    for rows, part, out, (values, flags) in zip(plan.rows, plan.slices, outs, per_kind):
        cols = [index[c] for c, flag in zip(out, flags) if flag]
        if cols:
            grouped[cols, part] = np.array([v for v, flag in zip(values, flags) if flag], dtype=float)
        for i in cols:
            absent[i] -= len(rows)
        fractional.update(c for c, v in zip(out, values) if v.dtype.kind == "f")
        for c, v, flag in zip(out, values, flags):
            if not flag:
                objects[c][rows] = v
    return _Merged(names, index, grouped.take(plan.order, axis=1), np.array(absent), objects, fractional, plan.rows,
                   outs)


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
    plan, outs = _plan(trace), []
    for batch in plan.batches:
        out = model.evaluate(batch)
        _check_batch(model, batch, out, required)
        outs.append(out)
    merged = _merge(model, plan, n, outs)
    _check_values(model, trace, merged, required)
    costs = merged.columns()
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
    energy = sorted(c for c in costs if is_energy(c))
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
