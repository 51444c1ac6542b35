"""The engine: runs a trace on a hardware model, one vectorized call per op kind (or group of kinds).

The engine knows no family. It hands the ops of each kind, with their dims, formats and payloads
(``sim.models.OpBatch``), to ``model.evaluate``, or the batches of each of the model's
``fused_kinds`` groups together to ``model.evaluate_fused``; checks the returned columns against
the protocol of ``sim.models`` (a required column that is missing, non-finite, negative or, for cycles and
MACs, fractional, a cost column given as NaN, and a column named like one the engine computes are
each a ``ModelError``, never a silent 0); and adds, per op, utilization against ``model.peak_macs_per_cycle`` and the bound
classification: ``memory`` when the op's transfer time alone (``memory_cycles``, else its stall
cycles) exceeds its compute cycles, else ``compute``. A single unit executes ops in trace order,
so each op starts when the previous one ends (multi-unit systems are composed in ``sim.system``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
BOUND = np.array(["compute", "memory"])  # by whether an op is memory-bound


def required_columns(model) -> tuple[str, ...]:
    """The columns ``model.evaluate`` must return for every op."""
    return REQUIRED + tuple(f"bytes_{level.name}_{rw}" for level in model.memory_levels for rw in ("read", "write"))


@dataclass(frozen=True)
class _Part:
    """Ops the model costs in one call: one kind's batch (``evaluate``) or the batches of several
    kinds of one of its ``fused_kinds`` groups (``evaluate_fused``); ``rows``: their trace rows,
    batch after batch; ``span``: their slice of the part-grouped order."""

    batches: tuple[OpBatch, ...]
    rows: np.ndarray
    span: slice

    @property
    def label(self) -> str:
        """'op kind 'gemm'' or 'op kinds 'gemm', 'softmax'', for messages."""
        return f"op kind{'s' if len(self.batches) > 1 else ''} " + ", ".join(repr(b.kind) for b in self.batches)


@dataclass(frozen=True)
class _Plan:
    """What the engine derives from a trace and a model's kind groups: the parts, and ``order``
    mapping part-grouped positions to trace positions."""

    parts: list[_Part]
    order: np.ndarray
    layouts: dict = field(default_factory=dict)  # of the models run on it, by checked _signature


# per trace (not modified after it is built): its batches by kind, and plans by kind grouping
_batches: WeakKeyDictionary[Trace, dict[str, tuple[np.ndarray, OpBatch]]] = WeakKeyDictionary()
_plans: WeakKeyDictionary[Trace, dict[tuple, _Plan]] = WeakKeyDictionary()


def _kind_batches(trace: Trace) -> dict[str, tuple[np.ndarray, OpBatch]]:
    """Each kind's trace rows and batch, arrays read-only (so no model can alter a later run's input)."""
    batches = _batches.get(trace)
    if batches is None:
        batches = _batches[trace] = {}
        for kind in trace.kinds():
            rows, dims = trace.dims(kind)
            batch = OpBatch(kind, trace.column("id")[rows], trace.column("name")[rows], dims, trace.formats(rows),
                            trace.payloads)
            for array in (rows, batch.ids, batch.names, *dims.values(), *batch.formats.values()):
                array.flags.writeable = False
            batches[kind] = rows, batch
    return batches


def _plan(trace: Trace, groups: tuple[tuple[str, ...], ...]) -> _Plan:
    plans = _plans.setdefault(trace, {})
    plan = plans.get(groups)
    if plan is None:
        batches = _kind_batches(trace)
        grouped = [[k for k in group if k in batches] for group in groups]
        single = [[k] for k in batches if not any(k in group for group in groups)]
        parts, start = [], 0
        for kinds in [g for g in grouped if g] + single:
            rows = np.concatenate([batches[k][0] for k in kinds])
            rows.flags.writeable = False
            parts.append(_Part(tuple(batches[k][1] for k in kinds), rows, slice(start, start + len(rows))))
            start += len(rows)
        order = np.argsort(np.concatenate([p.rows for p in parts]), kind="stable")
        plan = plans[groups] = _Plan(parts, order)
    return plan


def _check_part(model, part: _Part, out: dict, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every required column present, none reserved, one value per op; the columns as arrays."""
    n = len(part.rows)
    where = f"model {model.name!r}, {part.label}"
    for col in required:
        if col not in out:
            raise ModelError(f"{where}: evaluate returned no {col!r}; a model returns {', '.join(required)} "
                             "for every op (see sim.models)")
    for col, values in out.items():
        if col in RESERVED:
            raise ModelError(f"{where}: evaluate returned {col!r}, which the engine computes; allowed: other names")
        shape = values.shape if isinstance(values, np.ndarray) else np.shape(values)
        if shape != (n,):
            raise ModelError(f"{where}: column {col!r} has shape {shape}; allowed: ({n},), one value per op")
    return {col: np.asarray(values) for col, values in out.items()}


@dataclass(frozen=True)
class _Layout:
    """How the parts' columns merge, which depends only on the plan, the required columns and each
    part's column names and dtypes (so it is kept per plan and ``_signature``): numeric columns are
    the rows of one float block (``index``), the others object arrays; per part, the block rows and
    names of its numeric columns and the names of its other ones; ``absent``: per block row, the
    ops with no value (NaN); ``checked``: the block rows of cost columns, ``whole``: of REQUIRED
    ones some part returned as floats; ``energy``: the energy components' names and rows, sorted
    by name."""

    names: list[str]
    index: dict[str, int]
    objects: list[str]
    per_part: list[tuple[list[int], list[str], list[str]]]
    absent: np.ndarray
    checked: list[int]
    whole: list[int]
    energy: list[tuple[str, int]]


def _signature(outs: list[dict], required: tuple[str, ...]) -> tuple | None:
    """The required columns, and each part's column names with their dtype kinds and shapes (None
    unless every value is an array)."""
    try:
        return required, tuple((tuple(out), tuple((v.dtype.kind, v.shape) for v in out.values())) for out in outs)
    except AttributeError:
        return None


def _layout(model, plan: _Plan, outs: list[dict], required: tuple[str, ...]) -> tuple[_Layout, list[dict]]:
    """The layout of the parts' columns, and the columns: checked (``_check_part``) unless a run of
    another model with the same signature was (``plan.layouts`` keeps only checked signatures)."""
    key = _signature(outs, required)
    layout = plan.layouts.get(key) if key is not None else None
    if layout is not None:
        return layout, outs
    outs = [_check_part(model, part, out, required) for part, out in zip(plan.parts, outs)]
    key = _signature(outs, required)
    layout = plan.layouts.get(key)
    if layout is None:
        signature = key[1]
        names = list(dict.fromkeys(c for out in outs for c in out))
        numeric, other = set(), set()  # columns returned as numbers / as anything else
        for part, (cols, kinds) in zip(plan.parts, signature):
            for col, (kind, _) in zip(cols, kinds):
                flag = kind in "fiub"
                if col in (other if flag else numeric):
                    raise ModelError(f"model {model.name!r}, {part.label}: column {col!r} is numeric for some "
                                     "op kinds and not for others; allowed: one type per column")
                (numeric if flag else other).add(col)
        checked = [c for c in names if c in required or c == "memory_cycles" or is_energy(c)]
        for col in checked:
            if col in other:
                raise ModelError(f"model {model.name!r}: column {col!r} holds non-numbers; allowed: numbers")
        numbers = [c for c in names if c in numeric]
        index = {c: i for i, c in enumerate(numbers)}
        absent = np.full(len(numbers), len(plan.order))
        per_part, fractional = [], set()
        for part, (cols, kinds) in zip(plan.parts, signature):
            mine = [c for c in cols if c in numeric]
            absent[[index[c] for c in mine]] -= len(part.rows)
            per_part.append(([index[c] for c in mine], mine, [c for c in cols if c in other]))
            fractional.update(c for c, (kind, _) in zip(cols, kinds) if kind == "f")
        layout = plan.layouts[key] = _Layout(
            names, index, [c for c in names if c in other], per_part, absent, [index[c] for c in checked],
            [index[c] for c in REQUIRED if c in fractional], [(c, index[c]) for c in sorted(checked) if is_energy(c)])
    return layout, outs


def _merge(plan: _Plan, layout: _Layout, outs: list[dict]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The numeric columns as the rows of one block in trace order (each part's stacked into its
    slice of a part-grouped block, reordered once), and the other columns one by one."""
    n = len(plan.order)
    grouped = np.full((len(layout.index), n), np.nan)
    objects = {c: np.full(n, None, object) for c in layout.objects}
    for part, out, (rows, numbers, others) in zip(plan.parts, outs, layout.per_part):
        if rows:
            grouped[rows, part.span] = [out[c] for c in numbers]
        for c in others:
            objects[c][part.rows] = out[c]
    return grouped.take(plan.order, axis=1), objects


def _check_values(model, trace: Trace, plan: _Plan, layout: _Layout, outs: list[dict], block: np.ndarray) -> None:
    """Cost columns finite and >= 0 wherever a part gives them (required ones: every op), cycle and
    MAC counts whole numbers (unless every part returned them as integers), in one pass."""
    checked = block[layout.checked]
    bad = ((checked >= 0) & (checked < np.inf)).sum(axis=1) != len(plan.order) - layout.absent[layout.checked]
    whole = block[layout.whole] if layout.whole else None
    if not bad.any() and (whole is None or not (whole != np.floor(whole)).any()):
        return
    rows = [i for i, b in zip(layout.checked, bad) if b] + [i for i, w in zip(layout.whole, block[layout.whole])
                                                           if (w != np.floor(w)).any()]
    col = list(layout.index)[rows[0]]
    values = block[rows[0]]
    mask = np.zeros(len(trace), bool)
    mask[np.concatenate([part.rows for part, out in zip(plan.parts, outs) if col in out])] = True
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
    plan = _plan(trace, getattr(model, "fused_kinds", ()))
    outs = [model.evaluate(part.batches[0]) if len(part.batches) == 1 else model.evaluate_fused(part.batches)
            for part in plan.parts]
    layout, outs = _layout(model, plan, outs, required)
    block, objects = _merge(plan, layout, outs)
    _check_values(model, trace, plan, layout, outs, block)
    columns = {c: trace.column(c) for c in IDENTITY}
    for col in required:  # every op of every kind returned them
        columns[col] = block[layout.index[col]]
    for col in REQUIRED:
        columns[col] = columns[col].astype(np.int64)
    cycles, compute = columns["cycles"], columns["compute_cycles"]
    peak = model.peak_macs_per_cycle
    if peak is not None:
        columns["utilization"] = np.divide(columns["macs"], cycles * float(peak), out=np.zeros(n), where=cycles > 0)
    memory = block[layout.index["memory_cycles"]] if "memory_cycles" in layout.index else np.full(n, np.nan)
    memory = np.where(np.isnan(memory), columns["stall_cycles"], memory)  # kinds that did not give it
    columns["bound"] = BOUND.take(memory > compute)
    energy = block[[row for _, row in layout.energy]]
    energy[np.isnan(energy)] = 0.0  # a kind without a component spends 0 on it
    columns.update({c: energy[j] for j, (c, _) in enumerate(layout.energy)})
    columns["energy_pj"] = energy.sum(axis=0)
    done = set(columns) | {"memory_cycles"}
    columns.update({c: objects[c] if c in objects else block[layout.index[c]] for c in layout.names if c not in done})
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
    summed, series = tuple(getattr(model, "summed_columns", ())), tuple(getattr(model, "op_series", ()))
    for col in (*summed, *series):  # a family column no op kind of this trace produces: NaN for every op
        columns.setdefault(col, np.full(len(end), np.nan))
    return Result({**identity, **timing, **columns}, model.area(), model.basis, model.clock_hz,
                  model.peak_macs_per_cycle, tuple(model.memory_levels), dict(model.formulas), dict(trace.meta),
                  summed, series, tuple(dict(getattr(model, "ratio_columns", {})).items()))
