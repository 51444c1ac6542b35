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

A sweep folder holds ``sweep.json`` (spec, code version, point list), ``points/*.parquet``
(chunks of finished points, one row per point with its ``key``, each written atomically the moment
its worker returns it), ``results.parquet`` (all points in order, once complete) and
``runs.jsonl`` (one line per run: computed and cached counts). Keys hash the resolved point and
the code version, so a rerun computes only the points no chunk holds.
Every point is validated before anything runs, so a bad value fails at once, naming the point.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from joblib import Parallel, delayed, effective_n_jobs, parallel_config
from pydantic import Field, ValidationError, field_validator, model_validator
from tqdm.auto import tqdm

from sim.config import load_config, presets, raw_config
from sim.errors import ConfigError, DSEError, field_error, suggest
from sim.files import read_yaml
from sim.pareto import DEFAULT_TOLERANCE, metrics
from sim.point import canonical_point, code_version, evaluate_point, flat_param, point_key
from sim.result import WORK_METRICS, work_metrics
from sim.validation import Strict, one_line

CHUNK_SECONDS = 0.25  # work per chunk a worker returns: what a kill can lose, per worker
PARAM_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class RandomParam(Strict):
    """One sampled parameter: uniform over ``choices``, or over [low, high] (log-uniform if ``log``)."""

    choices: Annotated[list[Any], Field(min_length=1)] | None = None
    low: float | None = Field(None, allow_inf_nan=False)
    high: float | None = Field(None, allow_inf_nan=False)
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _consistent(self):
        if (self.choices is None) == (self.low is None or self.high is None):
            raise ValueError("either choices or both low and high")
        if self.choices is None:
            if self.low > self.high:
                raise ValueError("low <= high")
            if not np.isfinite(self.high - self.low):
                raise ValueError("low and high whose difference is a finite number")
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
    seed: int = Field(0, ge=0)  # numpy's generators take non-negative seeds
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
    raw = read_yaml(path, "sweep spec")
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
    try:
        base = raw_config(spec.config)  # read once, copied per point
    except DSEError as exc:
        raise type(exc)(f"sweep spec: {exc}") from None
    points = []
    for index, (combo, sample) in enumerate(itertools.product(combos, samples)):
        params = {**combo, **sample}
        overrides = {k: v for k, v in params.items() if not k.startswith("workload.") and k != "case"}
        varied = {k.removeprefix("workload."): v for k, v in params.items() if k.startswith("workload.")}
        workload = {**spec.workload, **varied}
        try:
            point = canonical_point(base, overrides, workload)
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


def _evaluate_chunk(points: list[Point], families: tuple = ()) -> tuple[list[str], bytes | None, float,
                                                                          DSEError | None]:
    """Evaluate ``points`` in order; return their keys, their rows as one Parquet file (encoded here,
    in the worker, so the parent only writes files), the seconds taken, and the first DSEError
    naming its point (returned, so the parent keeps the points before it and stops)."""
    from sim.models import ensure_registered

    for family in families:
        ensure_registered(family)
    started = time.perf_counter()
    rows, error = [], None
    for p in points:
        try:
            rows.append({"key": p.key, **evaluate_point(p.point)})
        except DSEError as exc:
            error = type(exc)(f"sweep point {p.index} {p.params}: {exc}")
            break
    data = _parquet_bytes(_rows_table(rows)) if rows else None
    return [row["key"] for row in rows], data, time.perf_counter() - started, error


def _rows_table(rows: list[dict]) -> pa.Table:
    """Result rows as one Arrow table (columns: the union of the rows' keys, null where a row has
    none); per-op series (numpy arrays) become list columns without a detour through Python lists."""
    columns = {}
    for name in dict.fromkeys(k for row in rows for k in row):
        values = [row.get(name) for row in rows]
        if all(isinstance(v, np.ndarray) for v in values):
            offsets = np.cumsum([0, *map(len, values)], dtype=np.int32)
            columns[name] = pa.ListArray.from_arrays(offsets, pa.array(np.concatenate(values)))
        else:
            columns[name] = pa.array(values)
    return pa.table(columns)


def _parquet_bytes(table: pa.Table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary name in the same folder, so a kill never leaves a partial file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _chunks(todo: list[Point], workers: int, pace: list) -> Iterator[list[Point]]:
    """``todo`` in chunks of about ``CHUNK_SECONDS`` of work, by ``pace[0]`` (seconds per point of
    the last finished chunk; single points until one has finished), and at most the remaining
    points / (2 x workers), so that the chunks shrink towards the end and every worker stays busy."""
    i = 0
    while i < len(todo):
        size = 1 if pace[0] is None else int(CHUNK_SECONDS / max(pace[0], 1e-9))
        size = max(1, min(size, (len(todo) - i) // (2 * workers)))
        yield todo[i:i + size]
        i += size


def _connect_dask(address: str, timeout: float):
    """A Dask client of the scheduler at ``address``, or one DSEError if none answers within ``timeout`` s."""
    if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
        raise field_error("--dask-timeout", timeout, "a number of seconds > 0")
    try:
        from distributed import Client
    except ImportError:
        raise DSEError("--dask: needs the distributed package; allowed: run without --dask, or "
                       "pip install distributed") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DSEError(f"--dask: got {address!r}, which could not be reached ({reason}); allowed: the address of a "
                       f"running Dask scheduler that answers within --dask-timeout ({timeout:g} s), e.g. "
                       "tcp://host:8786") from None


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: ``finished`` of ``total`` distinct points are on disk in ``out``."""

    def __init__(self, out: Path, finished: int, total: int):
        super().__init__(f"{finished} of {total} points finished and kept in {out}")
        self.out, self.finished, self.total = out, finished, total


def run_sweep(spec: dict | SweepSpec, out_dir: str | Path, n_jobs: int = -1, dask_address: str | None = None,
              progress: bool = True, dask_timeout: float = 5.0) -> pd.DataFrame:
    """Run (or resume) a sweep into ``out_dir``; return its results in point order.

    Workers evaluate chunks of points (``_chunks``) and return each as one Parquet file, which the
    parent writes atomically to ``points/``: a kill loses at most the chunks in flight, about
    ``CHUNK_SECONDS`` of work per worker. With ``dask_address`` the chunks run on that Dask
    cluster; a scheduler that does not answer within ``dask_timeout`` seconds is a DSEError raised
    before anything is written. Ctrl-C raises :class:`SweepInterrupted` after the finished chunks
    are written. The table's ``attrs`` hold ``computed`` and ``cached`` counts (also logged in
    ``runs.jsonl``).
    """
    started = time.time()
    spec = validate_spec(spec)
    points = expand(spec)
    out = Path(out_dir)
    points_dir = out / "points"
    finished = _finished_keys(points_dir)
    todo: dict[str, Point] = {}
    for p in points:
        if p.key not in finished:
            todo.setdefault(p.key, p)
    total = len({p.key for p in points})
    cached, done = total - len(todo), []
    with contextlib.ExitStack() as stack:
        if dask_address and todo:
            stack.enter_context(_connect_dask(dask_address, dask_timeout))
            stack.enter_context(parallel_config(backend="dask"))
        points_dir.mkdir(parents=True, exist_ok=True)
        for stale in [out / "results.parquet", *points_dir.glob(".*.tmp")]:
            stale.unlink(missing_ok=True)
        meta = {"spec": spec.model_dump(), "code_version": code_version(),
                "points": [[p.index, p.key, p.params] for p in points]}
        _write_atomic(out / "sweep.json", json.dumps(meta, default=str).encode())
        bar = stack.enter_context(tqdm(total=total, initial=cached, desc=spec.name, unit="pt", disable=not progress
                                       or not (sys.stderr.isatty() or "ipykernel" in sys.modules)))
        try:
            _compute(list(todo.values()), _runtime_families(points), points_dir, n_jobs, done, bar)
        except KeyboardInterrupt:
            raise SweepInterrupted(out, cached + len(done), total) from None
        finally:
            with open(out / "runs.jsonl", "a") as log:
                log.write(json.dumps({"start": started, "end": time.time(), "computed": len(done), "cached": cached,
                                      "points": len(points), "n_jobs": n_jobs, "dask": dask_address}) + "\n")
    results = _assemble(points_dir, meta["points"])
    _write_atomic(out / "results.parquet", _parquet_bytes(results))
    table = results.to_pandas()
    table.attrs.update(computed=len(done), cached=cached)
    if progress:
        print(f"sweep {spec.name}: {len(points)} points, {len(done)} computed, {cached} cached -> {out}",
              file=sys.stderr)
    return table


def _compute(todo: list[Point], families: tuple, points_dir: Path, n_jobs: int, done: list[str], bar) -> None:
    """Evaluate ``todo`` in chunks on the active joblib backend, writing each finished chunk to
    ``points_dir`` and appending its keys to ``done``; the first point error is raised after the
    points finished before it are written."""
    pace = [None]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"\d+ tasks which were still being processed")  # joblib, on cancel
        results = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator_unordered")(
            delayed(_evaluate_chunk)(chunk, families) for chunk in _chunks(todo, effective_n_jobs(n_jobs), pace))
        try:
            for keys, data, seconds, error in results:
                if keys:
                    _write_atomic(points_dir / f"{_digest(keys)}.parquet", data)
                    done.extend(keys)
                    bar.update(len(keys))
                    pace[0] = seconds / len(keys)
                if error is not None:
                    raise error
        finally:
            results.close()  # on an error or Ctrl-C, cancel what is still queued


def _digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:20]


def _read(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One chunk file of ``points/``, or a DSEError naming it (a file this module did not write)."""
    try:
        return pq.ParquetFile(path).read(columns=columns, use_threads=False)  # 2x faster than read_table
    except (pa.ArrowException, OSError) as exc:
        raise DSEError(f"sweep point file {path}: not readable ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                       "allowed: files written by `dse sweep` (delete it to recompute its points)") from None


def _finished_keys(points_dir: Path) -> set[str]:
    """Keys of the points already stored in ``points_dir``'s chunk files."""
    return {key for f in sorted(points_dir.glob("*.parquet")) for key in _read(f, ["key"]).column("key").to_pylist()}


def _assemble(points_dir: Path, points: list) -> pa.Table:
    """The finished points in point order, with their per-work-unit metrics; index and ``p.*``
    columns come from the current spec, since one stored row may serve several points (or the
    same point under another spec)."""
    order = pa.Table.from_pandas(pd.DataFrame(
        [{"point": i, "key": k, **{f"p.{n}": flat_param(v) for n, v in params.items()}} for i, k, params in points]),
        preserve_index=False)
    tables = [_read(f) for f in sorted(points_dir.glob("*.parquet"))]
    if not tables:
        return order.slice(0, 0)
    rows = pa.concat_tables(tables, promote_options="permissive")
    rows = rows.drop_columns([c for c in rows.column_names if c == "point" or c.startswith("p.") or c in WORK_METRICS])
    position = {}
    for i, key in enumerate(rows["key"].to_pylist()):
        position.setdefault(key, i)  # a point stored twice (two runs at once) counts once
    found = [position.get(key) for key in order["key"].to_pylist()]
    keep = np.array([i is not None for i in found], dtype=bool)
    table = order.filter(keep)
    for name, column in zip(rows.column_names, rows.take([i for i in found if i is not None]).columns):
        if name != "key":
            table = table.append_column(name, column)
    metrics = work_metrics({c: table[c].to_numpy() for c in ("work_units", "time_s", "energy_pj", "macs", "area_mm2")})
    for name, values in metrics.items():
        table = table.append_column(name, pa.array(values))
    return table


def load_results(out_dir: str | Path) -> pd.DataFrame:
    """A sweep's results: ``results.parquet`` when complete, else the points finished so far."""
    out = Path(out_dir)
    if not (out / "sweep.json").is_file():
        raise DSEError(f"sweep folder {out}: no sweep.json; allowed: a folder written by `dse sweep`")
    if (out / "results.parquet").is_file():
        return pd.read_parquet(out / "results.parquet")
    table = _assemble(out / "points", json.loads((out / "sweep.json").read_text())["points"]).to_pandas()
    if table.empty:
        raise DSEError(f"sweep folder {out}: no finished points yet")
    return table
