"""Parameter sweeps: grid and random sampling, joblib or Dask, a resumable per-point Parquet cache.

A spec (YAML or dict) names a base ``config`` (preset, YAML path relative to the spec file, or
mapping), a ``workload`` mapping, and the parameters to vary: ``grid`` (lists, crossed in order)
and/or ``random`` (``n`` samples of ``choices`` or ``low``/``high`` ranges, optionally ``log`` and
``integer``, reproducible by ``seed``); every grid combination is crossed with every random sample.
``cases`` names settings whose parameters change together (a label -> {parameter: value}); each
grid combination is crossed with every case, and the point records ``case`` = the label.
A parameter is a dotted config path (``array.rows``) or ``workload.<key>``. ``objectives`` names
the metrics reports rank designs by (``sim.pareto.metrics()``; default: latency and energy per work
unit, area, and the accuracy proxy where every point has one) and ``tolerance`` the relative
difference below which two points tie (default 0.001)::

    name: shapes
    config: edge-128
    workload: {model: llama-2-7b, phase: decode, batch: 1, context: 2048}
    grid: {array.rows: [32, 64, 128], array.dataflow: [os, ws]}
    random: {n: 4, seed: 1, params: {dram.bandwidth_gbs: {low: 8, high: 256, log: true}}}
    objectives: [latency_per_unit, energy_per_unit, area]

A sweep folder holds ``sweep.json`` (spec, code version, point list), ``points/<key>.parquet``
(one row per finished point, written atomically the moment it arrives), ``results.parquet`` (all
points in order, once complete) and ``runs.jsonl`` (one line per run: computed and cached counts).
Keys hash the resolved point and the code version, so a rerun computes only what is missing.
Every point is validated before anything runs, so a bad value fails at once, naming the point.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from joblib import Parallel, delayed, parallel_config
from pydantic import Field, ValidationError, field_validator, model_validator
from tqdm.auto import tqdm

from sim.config import load_config, presets
from sim.errors import ConfigError, DSEError, field_error, suggest
from sim.pareto import DEFAULT_TOLERANCE, metrics
from sim.point import canonical_point, code_version, evaluate_point, flat_param, point_key
from sim.result import work_metrics
from sim.validation import Strict, one_line

PARAM_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class RandomParam(Strict):
    """One sampled parameter: uniform over ``choices``, or over [low, high] (log-uniform if ``log``)."""

    choices: Annotated[list[Any], Field(min_length=1)] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _consistent(self):
        if (self.choices is None) == (self.low is None or self.high is None):
            raise ValueError("either choices or both low and high")
        if self.choices is None:
            if self.low > self.high:
                raise ValueError("low <= high")
            if self.log and self.low <= 0:
                raise ValueError("low > 0 with log")
            if self.integer and not (self.low.is_integer() and self.high.is_integer()):
                raise ValueError("whole-number low and high with integer")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> list:
        """``n`` values; integers are the floor of a draw over [low, high + 1), so both ends occur."""
        if self.choices is not None:
            return [self.choices[i] for i in rng.integers(len(self.choices), size=n)]
        low, high = self.low, self.high + 1 if self.integer else self.high
        values = np.exp(rng.uniform(np.log(low), np.log(high), n)) if self.log else rng.uniform(low, high, n)
        if self.integer:
            return [int(v) for v in np.minimum(np.floor(values), self.high)]
        return [float(v) for v in values]


class RandomSpec(Strict):
    """``n`` random samples of ``params`` drawn with numpy's generator seeded by ``seed``."""

    n: int = Field(ge=1, le=1_000_000)
    seed: int = 0
    params: Annotated[dict[str, RandomParam], Field(min_length=1)]


class SweepSpec(Strict):
    """A validated sweep spec (see the module docstring)."""

    name: str
    config: Any
    workload: dict[str, Any]
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}
    cases: dict[str, Annotated[dict[str, Any], Field(min_length=1)]] = {}
    random: RandomSpec | None = None
    objectives: Annotated[list[str], Field(min_length=1)] | None = None
    tolerance: float = Field(DEFAULT_TOLERANCE, ge=0, lt=1)

    @field_validator("config")
    @classmethod
    def _config_source(cls, value):
        if not isinstance(value, (str, dict)):
            raise ValueError("a preset name, a YAML path or a mapping")
        return value


@dataclass(frozen=True)
class Point:
    """One expanded design point: its position, varied parameters, canonical point and cache key."""

    index: int
    params: dict[str, Any]
    point: dict
    key: str


def validate_spec(spec: dict | SweepSpec) -> SweepSpec:
    """A validated spec; errors name the field, the value and what is allowed, on one line."""
    if not isinstance(spec, SweepSpec):
        try:
            spec = SweepSpec.model_validate(spec)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, "sweep spec", SweepSpec)) from None
    known = metrics()
    for i, name in enumerate(spec.objectives or ()):
        if name not in known or name in spec.objectives[:i]:
            raise field_error(f"sweep spec: objectives[{i}]", name, "one of each of " + ", ".join(known) + suggest(name, known))
    random = spec.random.params if spec.random else {}
    sections = [("grid", spec.grid), ("random.params", random)]
    sections += [(f"cases.{label}", params) for label, params in spec.cases.items()]
    for section, names in sections:
        for name in names:
            if not PARAM_NAME.fullmatch(name) or (name.startswith("workload.") and name.count(".") != 1):
                raise field_error(f"sweep spec: {section}.{name}", name, "a dotted config path or workload.<key>")
            if section != "grid" and name in spec.grid:
                raise field_error(f"sweep spec: {section}.{name}", name, "a parameter not also in grid")
            if name == "case" or (section == "random.params" and any(name in c for c in spec.cases.values())):
                raise field_error(f"sweep spec: {section}.{name}", name, "a parameter not also in cases")
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec YAML; a config path is taken relative to the spec file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"sweep spec {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"sweep spec {path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"sweep spec {path}: top level must be a mapping; got {type(raw).__name__}")
    config = raw.get("config")
    if isinstance(config, str) and config not in presets():
        raw["config"] = str((path.parent / config).resolve())
    return validate_spec(raw)


def expand(spec: dict | SweepSpec) -> list[Point]:
    """All points in order (grid combinations, each crossed with the random samples), validated."""
    spec = validate_spec(spec)
    combos = [dict(zip(spec.grid, values)) for values in itertools.product(*spec.grid.values())]
    if spec.cases:
        combos = [{**combo, "case": label, **params} for combo in combos for label, params in spec.cases.items()]
    samples = [{}]
    if spec.random:
        rng = np.random.default_rng(spec.random.seed)
        drawn = {name: p.sample(rng, spec.random.n) for name, p in spec.random.params.items()}
        samples = [{name: values[i] for name, values in drawn.items()} for i in range(spec.random.n)]
    points = []
    for index, (combo, sample) in enumerate(itertools.product(combos, samples)):
        params = {**combo, **sample}
        overrides = {k: v for k, v in params.items() if not k.startswith("workload.") and k != "case"}
        varied = {k.removeprefix("workload."): v for k, v in params.items() if k.startswith("workload.")}
        workload = {**spec.workload, **varied}
        try:
            point = canonical_point(spec.config, overrides, workload)
            load_config(point["config"])
        except DSEError as exc:
            raise type(exc)(f"sweep point {index} {params}: {exc}") from None
        points.append(Point(index, params, point, point_key(point)))
    _check_workloads(points)
    return points


def _check_workloads(points: list[Point]) -> None:
    """Build each distinct workload once, so a bad workload value fails before anything runs."""
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


def _runtime_families(points: list[Point]) -> tuple:
    """The non-built-in families the points use: sent with every task, so that worker processes
    know families registered at run time (in a notebook or a test) as well as installed ones."""
    from sim.models import BUILTIN, families

    known = families()
    used = dict.fromkeys(p.point["config"].get("model") for p in points)
    return tuple(known[m] for m in used if m in known and m not in BUILTIN)


def _evaluate(p: Point, families: tuple = ()) -> tuple[str, bytes] | DSEError:
    """One point's row as Parquet bytes (encoded here, in the worker, so the parent only writes
    files), or its DSEError (returned, so the parent can name the point and stop)."""
    from sim.models import ensure_registered

    for family in families:
        ensure_registered(family)
    try:
        row = {"point": p.index, "key": p.key, **evaluate_point(p.point, p.params)}
    except DSEError as exc:
        return type(exc)(f"sweep point {p.index} {p.params}: {exc}")
    # Dictionaries and statistics buy nothing in a one-row file; leaving them out saves ~30 %.
    return p.key, _parquet_bytes(pa.Table.from_pylist([row]), use_dictionary=False, write_statistics=False)


def _parquet_bytes(table: pa.Table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary name in the same folder, so a kill never leaves a partial file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def run_sweep(spec: dict | SweepSpec, out_dir: str | Path, n_jobs: int = -1, dask_address: str | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Run (or resume) a sweep into ``out_dir``; return its results in point order.

    Points run as one joblib task each; joblib's automatic batching groups cheap points into
    batches of 0.2-2 s, so overhead stays small and a kill loses at most one batch per worker.
    With ``dask_address`` the same tasks run on that Dask cluster. The table's ``attrs`` hold
    ``computed`` and ``cached`` counts (also logged in ``runs.jsonl``).
    """
    started = time.time()
    spec = validate_spec(spec)
    points = expand(spec)
    out = Path(out_dir)
    points_dir = out / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    for stale in [out / "results.parquet", *points_dir.glob(".*.tmp")]:
        stale.unlink(missing_ok=True)
    meta = {"spec": spec.model_dump(), "code_version": code_version(),
            "points": [[p.index, p.key, p.params] for p in points]}
    _write_atomic(out / "sweep.json", json.dumps(meta, default=str).encode())

    todo: dict[str, Point] = {}
    for p in points:
        if not (points_dir / f"{p.key}.parquet").exists():
            todo.setdefault(p.key, p)
    cached = len({p.key for p in points}) - len(todo)
    computed = 0
    bar = tqdm(total=cached + len(todo), initial=cached, desc=spec.name, unit="pt",
               disable=not progress or not (sys.stderr.isatty() or "ipykernel" in sys.modules))
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", r"\d+ tasks which were still being processed")  # joblib, on cancel
            if dask_address and todo:
                from distributed import Client

                stack.enter_context(Client(dask_address))
                stack.enter_context(parallel_config(backend="dask"))
            shipped = _runtime_families(points)
            results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_evaluate)(p, shipped) for p in todo.values())
            stack.callback(results.close)  # on an error, cancel what is still queued
            for result in results:
                if isinstance(result, DSEError):
                    raise result
                key, data = result
                _write_atomic(points_dir / f"{key}.parquet", data)
                computed += 1
                bar.update()
    finally:
        bar.close()
        with open(out / "runs.jsonl", "a") as log:
            log.write(json.dumps({"start": started, "end": time.time(), "computed": computed, "cached": cached,
                                  "points": len(points), "n_jobs": n_jobs, "dask": dask_address}) + "\n")
    table = _assemble(points_dir, meta["points"])
    _write_atomic(out / "results.parquet", _parquet_bytes(pa.Table.from_pandas(table, preserve_index=False)))
    table.attrs.update(computed=computed, cached=cached)
    if progress:
        print(f"sweep {spec.name}: {len(points)} points, {computed} computed, {cached} cached -> {out}",
              file=sys.stderr)
    return table


def _assemble(points_dir: Path, points: list) -> pd.DataFrame:
    """The finished points in point order, with their per-work-unit metrics; index and ``p.*``
    columns come from the current spec, since one cached row may serve several points (or the
    same point under another spec)."""
    order = pd.DataFrame([{"point": i, "key": k, **{f"p.{n}": flat_param(v) for n, v in params.items()}}
                          for i, k, params in points])
    files = [points_dir / f"{k}.parquet" for k in order["key"].unique()]
    tables = [pq.ParquetFile(f).read(use_threads=False) for f in files if f.exists()]  # 2x faster than read_table
    if not tables:
        return order.iloc[:0]
    rows = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    rows = rows.drop(columns=[c for c in rows.columns if c == "point" or c.startswith("p.")])
    table = order.merge(rows, on="key", how="inner")
    return table.assign(**work_metrics(table))


def load_results(out_dir: str | Path) -> pd.DataFrame:
    """A sweep's results: ``results.parquet`` when complete, else the points finished so far."""
    out = Path(out_dir)
    if not (out / "sweep.json").is_file():
        raise DSEError(f"sweep folder {out}: no sweep.json; allowed: a folder written by `dse sweep`")
    if (out / "results.parquet").is_file():
        return pd.read_parquet(out / "results.parquet")
    table = _assemble(out / "points", json.loads((out / "sweep.json").read_text())["points"])
    if table.empty:
        raise DSEError(f"sweep folder {out}: no finished points yet")
    return table
