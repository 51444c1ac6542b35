"""Parameter sweeps: grid and random sampling, joblib or Dask, a resumable per-point Parquet cache.

A spec (YAML or dict) names a base ``config`` (preset, YAML path relative to the spec, or mapping),
a ``workload`` mapping, and the parameters to vary: ``grid`` (lists, crossed in order) and/or
``random`` (``n`` samples from ``choices`` or ``low``/``high`` ranges, ``log`` and ``integer``
optional, reproducible by ``seed``), crossed with the grid. A parameter is a dotted config path
(``array.rows``) or ``workload.<key>``.

Layout of a sweep folder: ``sweep.json`` (spec + code version), ``points/<key>.parquet`` (one row
per finished point, written atomically as soon as its chunk returns), ``results.parquet`` (all
points in order, when complete) and ``runs.jsonl`` (one line per run: computed and cached counts).
Keys hash the resolved point and the code version, so a rerun computes only what is missing.
Every point is validated before anything runs, so a bad grid value fails at once.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from joblib import Parallel, delayed, parallel_config
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tqdm.auto import tqdm

from sim.config import load_config
from sim.errors import ConfigError, DSEError
from sim.point import canonical_point, code_version, evaluate_point, point_key

CHUNK_SECONDS = 0.5  # target work per task: small enough that a kill loses little
POINT_SECONDS_GUESS = 0.01


class RandomParam(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.choices is None) == (self.low is None or self.high is None):
            raise ValueError("give either choices or both low and high")
        if self.low is not None and not self.low <= self.high:
            raise ValueError(f"low {self.low} must be <= high {self.high}")
        if self.log and self.low is not None and self.low <= 0:
            raise ValueError("log sampling needs low > 0")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> list:
        if self.choices is not None:
            return [self.choices[i] for i in rng.integers(len(self.choices), size=n)]
        lo, hi = (np.log(self.low), np.log(self.high)) if self.log else (self.low, self.high)
        values = rng.uniform(lo, hi, size=n)
        values = np.exp(values) if self.log else values
        return [int(round(v)) for v in values] if self.integer else [float(v) for v in values]


class RandomSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=1, le=1_000_000)
    seed: int = 0
    params: dict[str, RandomParam]


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    config: str | dict[str, Any]
    workload: dict[str, Any]
    grid: dict[str, list[Any]] = {}
    random: RandomSpec | None = None


@dataclass(frozen=True)
class Point:
    index: int
    params: dict[str, Any]
    point: dict
    key: str


def validate_spec(spec: dict | SweepSpec) -> SweepSpec:
    """A validated spec; errors name the field, the value and what is allowed, on one line."""
    if isinstance(spec, SweepSpec):
        return spec
    try:
        return SweepSpec.model_validate(spec)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in e["loc"])
        what = "unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
        raise ConfigError(f"sweep spec: {field}: {what} (got {e.get('input')!r})") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec YAML; a relative config path is taken relative to the spec file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"sweep spec {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"sweep spec {path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"sweep spec {path}: top level must be a mapping")
    config = raw.get("config")
    if isinstance(config, str) and (path.parent / config).is_file():
        raw["config"] = str((path.parent / config).resolve())
    return validate_spec(raw)


def expand(spec: dict | SweepSpec) -> list[Point]:
    """All points of a sweep in order (grid crossed with random samples), each validated."""
    spec = validate_spec(spec)
    names = list(spec.grid)
    combos = list(itertools.product(*spec.grid.values())) if names else [()]
    samples: list[dict] = [{}]
    if spec.random:
        rng = np.random.default_rng(spec.random.seed)
        drawn = {p: r.sample(rng, spec.random.n) for p, r in spec.random.params.items()}
        samples = [{p: drawn[p][i] for p in drawn} for i in range(spec.random.n)]
    points = []
    for combo in combos:
        for sample in samples:
            params = {**dict(zip(names, combo)), **sample}
            overrides = {k: v for k, v in params.items() if not k.startswith("workload.")}
            workload = {**spec.workload, **{k[len("workload."):]: v for k, v in params.items() if k.startswith("workload.")}}
            try:
                point = canonical_point(spec.config, overrides, workload)
                load_config(point["config"])
            except DSEError as exc:
                raise type(exc)(f"sweep point {len(points)} {params}: {exc}") from None
            points.append(Point(len(points), params, point, point_key(point)))
    _check_workloads(points)
    return points


def _check_workloads(points: list[Point]) -> None:
    from workloads import build

    seen = set()
    for p in points:
        blob = json.dumps(p.point["workload"], sort_keys=True)
        if blob not in seen:
            seen.add(blob)
            try:
                build(p.point["workload"])
            except DSEError as exc:
                raise type(exc)(f"sweep point {p.index} {p.params}: {exc}") from None


def _evaluate_chunk(chunk: list[Point]) -> list[dict]:
    return [{"point": p.index, "key": p.key, **evaluate_point(p.point, p.params)} for p in chunk]


def _write_point(points_dir: Path, row: dict) -> None:
    tmp = points_dir / f".{row['key']}.tmp"
    pq.write_table(pa.Table.from_pylist([row]), tmp)
    os.replace(tmp, points_dir / f"{row['key']}.parquet")


def _chunks(todo: list[Point], workers: int) -> list[list[Point]]:
    size = max(1, min(int(CHUNK_SECONDS / POINT_SECONDS_GUESS), len(todo) // (4 * max(workers, 1)) or 1))
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def run_sweep(spec: dict | SweepSpec, out_dir: str | Path, n_jobs: int = -1, dask_address: str | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Run (or resume) a sweep into ``out_dir`` and return its results table in point order."""
    spec = validate_spec(spec)
    points = expand(spec)
    out = Path(out_dir)
    points_dir = out / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"spec": spec.model_dump(), "code_version": code_version(),
                                                "points": len(points)}, indent=1, default=str))
    todo = [p for p in points if not (points_dir / f"{p.key}.parquet").exists()]
    started = time.time()
    workers = os.cpu_count() if n_jobs == -1 else max(n_jobs, 1)
    bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=spec.name, unit="pt",
               disable=not progress or not sys.stderr.isatty())
    if todo:
        _execute(todo, points_dir, n_jobs, workers, dask_address, bar)
    bar.close()
    with open(out / "runs.jsonl", "a") as log:
        log.write(json.dumps({"start": started, "end": time.time(), "computed": len(todo),
                              "cached": len(points) - len(todo), "n_jobs": n_jobs, "dask": dask_address}) + "\n")
    table = _read_points(points_dir, [p.key for p in points])
    table.to_parquet(out / "results.parquet", index=False)
    return table


def _execute(todo: list[Point], points_dir: Path, n_jobs: int, workers: int, dask_address: str | None, bar) -> None:
    tasks = (delayed(_evaluate_chunk)(chunk) for chunk in _chunks(todo, workers))
    if dask_address:
        from distributed import Client

        with Client(dask_address), parallel_config(backend="dask"):
            _collect(Parallel(return_as="generator_unordered")(tasks), points_dir, bar)
    else:
        _collect(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks), points_dir, bar)


def _collect(results, points_dir: Path, bar) -> None:
    for rows in results:
        for row in rows:
            _write_point(points_dir, row)
        bar.update(len(rows))


def _read_points(points_dir: Path, keys: list[str]) -> pd.DataFrame:
    tables = [pq.read_table(points_dir / f"{k}.parquet") for k in keys if (points_dir / f"{k}.parquet").exists()]
    if not tables:
        return pd.DataFrame()
    return pa.concat_tables(tables, promote_options="default").to_pandas().sort_values("point", ignore_index=True)


def load_results(out_dir: str | Path) -> pd.DataFrame:
    """A sweep's results: ``results.parquet`` when complete, else the points finished so far."""
    out = Path(out_dir)
    if not (out / "sweep.json").is_file():
        raise DSEError(f"sweep folder {out}: no sweep.json; allowed: a folder written by `dse sweep`")
    if (out / "results.parquet").is_file():
        return pd.read_parquet(out / "results.parquet")
    keys = [p.stem for p in (out / "points").glob("*.parquet")]
    table = _read_points(out / "points", keys)
    if table.empty:
        raise DSEError(f"sweep folder {out}: no finished points yet")
    return table
