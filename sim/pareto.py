"""Objectives and Pareto fronts over sweep results.

``METRICS`` names the quantities a sweep may rank designs by (its ``objectives``): each is a
column of the result rows (``sim.point``) and a goal, ``min`` or ``max``; families may add their
own (``metrics()``). The default objectives
are latency and energy per work unit and area, plus the accuracy proxy where every point has one
and it differs between points (``default_objectives``).

``pareto_front`` flags the points no other point beats: ``a`` dominates ``b`` when ``a`` is no
worse in every objective and strictly better in one. With a relative ``tolerance`` ``t``, "no
worse" means worse by at most ``t`` (relative to ``b``) and "strictly better" means better by more
than ``t``; a point within ``t`` of a front point in every objective is flagged too, so that
near-ties share their flag. NaN rows are never on the front.

The exact front (``t = 0``) is found in lexicographic order against a growing archive of front
points (exact dominance is transitive, so a point is dominated exactly when a front point
dominates it); a point is ``t``-dominated exactly when an exact-front point ``t``-dominates it, so
the tolerance passes compare every point with the exact front only: O(n x front) in numpy blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """A result column and whether smaller (``min``) or larger (``max``) is better."""

    column: str
    goal: str
    label: str


METRICS: dict[str, Metric] = {
    "latency_per_unit": Metric("time_per_unit_s", "min", "latency per work unit"),
    "energy_per_unit": Metric("energy_per_unit_pj", "min", "energy per work unit"),
    "edp_per_unit": Metric("edp_per_unit_js", "min", "energy-delay product per work unit"),
    "area": Metric("area_mm2", "min", "area"),
    "accuracy": Metric("accuracy_sqnr_db", "max", "accuracy proxy (SQNR)"),
    "latency": Metric("time_s", "min", "latency of the whole trace"),
    "energy": Metric("energy_pj", "min", "energy of the whole trace"),
    "edp": Metric("edp_js", "min", "energy-delay product of the whole trace"),
    "throughput": Metric("units_per_s", "max", "work units per second"),
    "throughput_per_mm2": Metric("units_per_s_per_mm2", "max", "work units per second per mm²"),
    "tops": Metric("tops", "max", "attained TOPS"),
    "tops_per_w": Metric("tops_per_w", "max", "TOPS per watt"),
    "utilization": Metric("utilization", "max", "MAC utilization"),
}
DEFAULT_OBJECTIVES = ("latency_per_unit", "energy_per_unit", "area")
DEFAULT_TOLERANCE = 1e-3
_BLOCK_CELLS = 1 << 22  # comparisons per numpy block


def metrics() -> dict[str, Metric]:
    """``METRICS`` and the metrics registered families add (``sim.models.Family.metrics``)."""
    from sim.models import families

    known = dict(METRICS)
    for family in families().values():
        known.update(family.metrics)
    return known


def default_objectives(df) -> list[str]:
    """The default objectives, plus accuracy when every point has an accuracy proxy and they differ."""
    column = METRICS["accuracy"].column
    ranks = column in df.columns and df[column].notna().all() and df[column].nunique() > 1
    return [*DEFAULT_OBJECTIVES, *(["accuracy"] if ranks else [])]


def pareto_front(df, *columns: str, maximize: tuple[str, ...] = (), tolerance: float = 0.0) -> np.ndarray:
    """Boolean mask of the rows of ``df`` on the Pareto front of ``columns`` (all minimized except
    those in ``maximize``), near-ties within the relative ``tolerance`` included (module docstring)."""
    if not columns:
        raise ValueError("pareto_front needs at least one column")
    values = np.column_stack([df[c].to_numpy(float) * (-1.0 if c in maximize else 1.0) for c in columns])
    mask = np.zeros(len(values), bool)
    valid = np.flatnonzero(np.isfinite(values).all(axis=1))
    if valid.size:
        mask[valid] = _front(values[valid], float(tolerance))
    return mask


def objective_front(df, objectives: list[str], tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """``pareto_front`` over named metrics (``metrics()``)."""
    known = metrics()
    chosen = [known[name] for name in objectives]
    return pareto_front(df, *(m.column for m in chosen), maximize=tuple(m.column for m in chosen if m.goal == "max"),
                        tolerance=tolerance)


def _front(v: np.ndarray, tol: float) -> np.ndarray:
    exact = _exact_front(v)
    front = v[exact]
    if tol == 0:
        return exact
    slack = tol * np.abs(v)
    keep = ~_any_block(front, v, lambda f, x, s: np.all(f <= x + s, axis=2) & np.any(f < x - s, axis=2), slack)
    tied = _any_block(v[keep], v, lambda f, x, s: np.all(np.abs(f - x) <= np.maximum(s, tol * np.abs(f)), axis=2),
                      slack)
    return keep | tied


def _any_block(front: np.ndarray, v: np.ndarray, relation, slack: np.ndarray) -> np.ndarray:
    """For each row x of ``v``: does ``relation(f, x, slack of x)`` hold for some row f of ``front``?"""
    out = np.zeros(len(v), bool)
    if not len(front):
        return out
    step = max(1, _BLOCK_CELLS // (len(front) * v.shape[1]))
    for start in range(0, len(v), step):
        x, s = v[start:start + step, None, :], slack[start:start + step, None, :]
        out[start:start + step] = relation(front[None, :, :], x, s).any(axis=1)
    return out


def _dominates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[i, j]: row i of ``a`` exactly dominates row j of ``b``."""
    a, b = a[:, None, :], b[None, :, :]
    return np.all(a <= b, axis=2) & np.any(a < b, axis=2)


def _exact_front(v: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (exact ties all kept)."""
    order = np.lexsort(v.T[::-1])
    archive = np.empty((0, v.shape[1]))
    on_front = np.zeros(len(v), bool)
    step = 256
    for start in range(0, len(order), step):
        rows = order[start:start + step]
        block = v[rows]
        dominated = _dominates(archive, block).any(axis=0) if len(archive) else np.zeros(len(rows), bool)
        dominated |= _dominates(block, block).any(axis=0)  # only earlier rows can dominate in lexicographic order
        on_front[rows[~dominated]] = True
        archive = np.vstack([archive, block[~dominated]])
    return on_front
