"""Pareto fronts on declared objectives: brute force with and without tolerance, goals, defaults."""

import numpy as np
import pandas as pd
import pytest

from sim.pareto import METRICS, default_objectives, objective_front, pareto_front


def brute(values: np.ndarray, tol: float) -> np.ndarray:
    """The definition, pair by pair: not tol-dominated by any row, or within tol of such a row."""
    ok = np.isfinite(values).all(axis=1)
    n = len(values)
    dominated = [any(ok[i] and np.all(values[i] <= values[j] + tol * abs(values[j]))
                     and np.any(values[i] < values[j] - tol * abs(values[j])) for i in range(n)) for j in range(n)]
    front = ok & ~np.array(dominated, bool)
    tied = [ok[j] and any(np.all(abs(values[f] - values[j]) <= tol * np.maximum(abs(values[f]), abs(values[j])))
                          for f in np.flatnonzero(front)) for j in range(n)]
    return front | np.array(tied, bool)


@pytest.mark.parametrize("seed", range(60))
def test_front_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 70)), int(rng.integers(1, 5))
    if seed % 3 == 0:  # many exact ties and duplicates
        values = rng.integers(0, 5, (n, k)).astype(float)
    else:
        values = rng.lognormal(size=(n, k))
    if seed % 5 == 0:
        values[rng.integers(0, n), rng.integers(0, k)] = np.nan
    tol = (0.0, 1e-3, 0.05, 0.3)[seed % 4]
    df = pd.DataFrame(values, columns=[f"c{i}" for i in range(k)])
    mask = pareto_front(df, *df.columns, tolerance=tol)
    assert mask.dtype == bool and (mask == brute(values, tol)).all()


def test_two_objective_edge_cases():
    df = pd.DataFrame({"x": [1.0, 1.0, 2.0, 0.5, 3.0], "y": [1.0, 1.0, 0.5, 2.0, 0.5]})
    assert pareto_front(df, "x", "y").tolist() == [True, True, True, True, False]
    assert pareto_front(df.iloc[:0], "x", "y").tolist() == []


def test_maximized_objective_flips_the_goal():
    df = pd.DataFrame({"energy": [1.0, 2.0, 3.0], "accuracy": [6.0, 29.0, 28.0]})
    assert pareto_front(df, "energy").tolist() == [True, False, False]
    assert pareto_front(df, "energy", "accuracy", maximize=("accuracy",)).tolist() == [True, True, False]


def test_near_ties_share_their_flag():
    """Two points 0.01 % apart: without tolerance one dominates the other; within 0.1 % they tie."""
    df = pd.DataFrame({"t": [1.0, 1.0001, 0.5], "e": [1.0, 1.0001, 2.0]})
    assert pareto_front(df, "t", "e").tolist() == [True, False, True]
    assert pareto_front(df, "t", "e", tolerance=1e-3).tolist() == [True, True, True]


def test_objective_front_and_defaults():
    df = pd.DataFrame({"time_per_unit_s": [1.0, 2.0, 1.0], "energy_per_unit_pj": [2.0, 1.0, 2.0],
                       "area_mm2": [1.0, 1.0, 0.5], "accuracy_sqnr_db": [20.0, 20.0, 6.0]})
    assert default_objectives(df) == ["latency_per_unit", "energy_per_unit", "area", "accuracy"]
    assert objective_front(df, ["latency_per_unit", "energy_per_unit"]).tolist() == [True, True, True]
    assert objective_front(df, ["latency_per_unit", "energy_per_unit", "area"]).tolist() == [False, True, True]
    assert objective_front(df, default_objectives(df)).tolist() == [True, True, True]
    assert default_objectives(df.drop(columns="accuracy_sqnr_db")) == ["latency_per_unit", "energy_per_unit", "area"]
    assert default_objectives(df.assign(accuracy_sqnr_db=28.8)) == ["latency_per_unit", "energy_per_unit", "area"]
    assert {m.goal for m in METRICS.values()} == {"min", "max"}


def test_large_front_is_computed_in_blocks():
    values = np.random.default_rng(3).lognormal(size=(3000, 3))
    df = pd.DataFrame(values, columns=list("abc"))
    mask = pareto_front(df, "a", "b", "c", tolerance=1e-3)
    front = values[mask]
    slack = 1e-3 * np.abs(values)
    dominated = [np.any(np.all(front <= v + s, axis=1) & np.any(front < v - s, axis=1)) for v, s in zip(values, slack)]
    assert not np.any(np.array(dominated)[mask])  # no front point is beaten by another
    # every point off the front is beaten by one on it, checked exactly on a sample
    for j in np.random.default_rng(4).choice(np.flatnonzero(~mask), 50, replace=False):
        assert dominated[j]
    assert 5 < mask.sum() < 300
