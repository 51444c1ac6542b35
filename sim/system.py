"""Multi-unit systems: hardware models composed in SimPy, joined by links, fed through bounded buffers.

A :class:`System` has named units (any hardware model: ``name``, ``clock_hz``, ``kinds``,
``evaluate``), point-to-point :class:`Link` s between two endpoints (units, or memories: any link
endpoint that is not a unit) and optional input buffers (bytes per unit). ``System.run`` prices
every op with ``sim.engine.evaluate_ops`` on its unit's model (duration = cycles / clock_hz) and
simulates the trace; nothing in the scheduling core depends on the model family.

Assumptions:
- No preemption: a unit runs one op at a time, to completion.
- An op is ready when every dep has finished, every dep output from another unit has arrived and
  its memory fetches are done. A unit runs ready ops FIFO by the instant they became ready, ties
  broken by op id.
- A dep on another unit sends its output (what the dep writes to its unit's outermost memory level,
  ``bytes_<last memory level>_write``, or a ``transfer_bytes`` override) over the link between the
  two units, one transfer per (dep, op) edge: no multicast,
  no reuse of a tensor that already arrived for another consumer. Same-unit deps move nothing
  beyond the model's own DRAM traffic.
- Transfers are store-and-forward: a transfer holds its link for latency + bytes / bandwidth, one
  transfer at a time per link (both directions share it), FIFO in request order.
- Memory fetches (``fetch``: bytes an op reads from a memory before it runs, e.g. its weights)
  start once the op's dep outputs are present (no prefetch ahead of data readiness) and overlap
  whatever the unit is running.
- Buffers: a unit with a buffer of B bytes stores the inputs (transfers and fetches) of its ops
  there. A transfer first reserves space (waiting, FIFO, while the buffer is full); the space is
  freed when the consuming op finishes. A unit without a buffer has unbounded input storage.
- Back-pressure: a producer keeps its unit after an op until every cross-unit output of that op
  has reserved space at its consumer (blocking after service: one output register per unit).
- Costs: op energy and DRAM traffic are what each model reports; links add time, not energy.
- A run that leaves ops unfinished (a buffer too small for what its ops wait on) is a ConfigError.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import simpy
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter
from simpy.events import NORMAL

from sim.engine import evaluate_ops
from sim.errors import ConfigError, field_error
from sim.result import IDENTITY
from sim.trace import Trace

# Per-op inputs of System.run: a dict keyed by op id, or a callable on the trace's op row.
OpSpec = Mapping[int, object] | Callable[[pd.Series], object]
TIMELINE_COLUMNS = ("kind", "what", "resource", "op", "start_s", "end_s", "bytes")


@dataclass(frozen=True)
class Link:
    """A channel between two endpoints (unit or memory names) that carries one transfer at a time."""

    name: str
    a: str
    b: str
    bandwidth: float  # bytes/s
    latency: float = 0.0  # s

    def seconds(self, nbytes: float) -> float:
        """How long a transfer of ``nbytes`` holds the link."""
        return self.latency + nbytes / self.bandwidth


@dataclass
class SystemResult:
    """A run: timeline (one row per op and per transfer), per-op costs with unit and times, totals."""

    timeline: pd.DataFrame  # TIMELINE_COLUMNS; kind 'op' or 'transfer', resource = unit or link name
    ops: pd.DataFrame  # evaluate_ops columns + unit, duration_s, start_s, end_s
    makespan_s: float
    busy: pd.DataFrame  # per unit and link: busy_s, utilization (busy_s / makespan_s)
    energy_pj: float


class System:
    """Named units (hardware models), links between units or memories, optional input buffers (bytes)."""

    def __init__(self, units: Mapping[str, object], links: Iterable[Link] = (),
                 buffers: Mapping[str, float] | None = None):
        self.units = dict(units)
        self.links = list(links)
        self.buffers = dict(buffers or {})
        names = list(self.units) + [link.name for link in self.links]
        if len(set(names)) != len(names):
            raise ConfigError(f"system: unit and link names must be unique; got {names}")
        self._pairs: dict[frozenset, Link] = {}
        for link in self.links:
            if not link.bandwidth > 0:
                raise field_error(f"link {link.name!r} bandwidth", link.bandwidth, "bytes/s > 0")
            if not link.latency >= 0:
                raise field_error(f"link {link.name!r} latency", link.latency, "seconds >= 0")
            pair = frozenset((link.a, link.b))
            if pair in self._pairs:
                raise ConfigError(f"link {link.name!r}: {link.a!r} and {link.b!r} are already joined by "
                                  f"link {self._pairs[pair].name!r}")
            self._pairs[pair] = link
        for unit, capacity in self.buffers.items():
            if unit not in self.units:
                raise field_error("buffers", unit, f"a unit ({', '.join(self.units)})")
            if not capacity > 0:
                raise field_error(f"buffers.{unit}", capacity, "bytes > 0")

    def link_between(self, a: str, b: str, need: str) -> Link:
        """The link joining ``a`` and ``b``; ``need`` says which op needs it, for the error."""
        link = self._pairs.get(frozenset((a, b)))
        if link is None:
            have = ", ".join(f"{k.name} ({k.a}-{k.b})" for k in self.links) or "none"
            raise ConfigError(f"{need}: no link between {a!r} and {b!r}; links: {have}")
        return link

    def run(self, trace: Trace, assign: OpSpec, *, transfer_bytes: OpSpec | None = None,
            fetch: OpSpec | None = None) -> SystemResult:
        """Simulate ``trace`` with op ``i`` on unit ``assign[i]`` (or ``assign(op_row)``).

        ``transfer_bytes`` (op id -> bytes, or a callable) sets the size of an op's output sent
        to other units; ``fetch`` (op id -> {memory: bytes}, or a callable) lists what an op reads
        over a link before it runs.
        """
        rows = [row for _, row in trace.ops.iterrows()]
        unit = np.array([self._unit_of(row, assign) for row in rows], dtype=object)
        costs = self._costs(trace, unit)
        out_bytes = [_per_op(transfer_bytes, row, b) for row, b in zip(rows, costs["output_bytes"])]
        fetches = [dict(_per_op(fetch, row, {})) for row in rows]
        sim = _Simulation(self, unit, trace.ops, costs["duration_s"].to_numpy(), out_bytes, fetches)
        timeline = sim.run()

        op_rows = timeline[timeline["kind"] == "op"].set_index("op")
        costs["start_s"] = op_rows["start_s"].reindex(costs["id"]).to_numpy()
        costs["end_s"] = op_rows["end_s"].reindex(costs["id"]).to_numpy()
        makespan = float(timeline["end_s"].max()) if len(timeline) else 0.0
        busy = (timeline.assign(busy_s=timeline["end_s"] - timeline["start_s"]).groupby("resource")["busy_s"].sum()
                .reindex(list(self.units) + [link.name for link in self.links], fill_value=0.0).to_frame())
        busy["utilization"] = busy["busy_s"] / makespan if makespan else 0.0
        return SystemResult(timeline, costs, makespan, busy, float(costs["energy_pj"].sum()))

    def _unit_of(self, row: pd.Series, assign: OpSpec) -> str:
        unit = _per_op(assign, row, None)
        if unit not in self.units:
            raise field_error(f"op {row['id']} ({row['name']!r}) unit", unit, ", ".join(self.units))
        return unit

    def _costs(self, trace: Trace, unit: np.ndarray) -> pd.DataFrame:
        """Per-op costs from each op's unit model, in trace order, with ``unit``, ``duration_s`` and
        ``output_bytes`` (what the op writes to its unit's outermost memory level)."""
        parts = []
        for name, model in self.units.items():
            mask = unit == name
            if mask.any():
                sub = Trace(trace.ops[mask].reset_index(drop=True), trace.payloads, trace.meta)
                table = evaluate_ops(sub, model)
                table.insert(len(IDENTITY), "unit", name)
                table["duration_s"] = table["cycles"] / model.clock_hz
                table["output_bytes"] = table[f"bytes_{model.memory_levels[-1].name}_write"]
                parts.append(table)
        return pd.concat(parts).sort_values("id").reset_index(drop=True)


def _per_op(spec: OpSpec | None, row: pd.Series, default):
    """An op's entry in a dict keyed by op id, or a callable's answer on its row; ``default`` if none."""
    if spec is None:
        return default
    if callable(spec):
        return spec(row)
    return spec.get(int(row["id"]), default)


class _Settle(simpy.Event):
    """Fires after every ordinary event of the current instant, so all ops ready now are queued."""

    def __init__(self, env: simpy.Environment):
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, priority=NORMAL + 1)


class _Simulation:
    """One run's SimPy state: a process per unit and per op, a Resource per link, a Container per buffer."""

    def __init__(self, system: System, unit, ops: pd.DataFrame, duration, out_bytes, fetches):
        self.env = env = simpy.Environment()
        self.system, self.unit, self.duration = system, unit, duration
        self.out_bytes, self.fetches = out_bytes, fetches
        self.names = list(ops["name"])
        self.deps = list(ops["deps"])
        n = len(ops)
        self.done = [env.event() for _ in range(n)]
        self.held = [0.0] * n  # buffer bytes reserved for each op's inputs
        self.consumers: list[list[int]] = [[] for _ in range(n)]  # ops on other units using each op's output
        self.arrived: dict[tuple[int, int], simpy.Event] = {}
        for i, deps in enumerate(self.deps):
            for d in deps:
                if unit[d] != unit[i]:
                    system.link_between(unit[d], unit[i], f"op {i} ({self.names[i]!r}) dep {d}")
                    if not (np.isfinite(out_bytes[d]) and out_bytes[d] >= 0):
                        raise field_error(f"op {d} ({self.names[d]!r}) transfer_bytes", out_bytes[d],
                                          "a finite number of bytes >= 0")
                    self.consumers[d].append(i)
                    self.arrived[(d, i)] = env.event()
            for memory in fetches[i]:
                system.link_between(memory, unit[i], f"op {i} ({self.names[i]!r}) fetch")
        self.links = {link.name: simpy.Resource(env, capacity=1) for link in system.links}
        self.buffers = {u: simpy.Container(env, capacity) for u, capacity in system.buffers.items()}
        self.ready: dict[str, list[tuple[float, int]]] = {u: [] for u in system.units}
        self.wake = {u: env.event() for u in system.units}
        self.rows: list[tuple] = []

    def run(self) -> pd.DataFrame:
        """Run to completion; the timeline sorted by start time."""
        for u in self.system.units:
            self.env.process(self._unit(u))
        for i in range(len(self.done)):
            self.env.process(self._op(i))
        self.env.run()
        stuck = [i for i, event in enumerate(self.done) if not event.triggered]
        if stuck:
            raise ConfigError(f"system deadlocked: ops {stuck[:8]} never ran; a buffer ({self.system.buffers}) "
                              "is too small for the inputs they wait on")
        timeline = pd.DataFrame(self.rows, columns=list(TIMELINE_COLUMNS))
        return timeline.sort_values(["start_s", "op"], kind="stable").reset_index(drop=True)

    def _unit(self, u: str):
        """A unit: run its ready ops one at a time, FIFO by ready instant, ties by op id."""
        env, ready = self.env, self.ready[u]
        while True:
            if not ready:
                self.wake[u] = env.event()
                yield self.wake[u]
            yield _Settle(env)
            _, i = heapq.heappop(ready)
            start = env.now
            yield env.timeout(self.duration[i])
            self.rows.append(("op", self.names[i], u, i, start, env.now, np.nan))
            self.done[i].succeed()
            if self.held[i]:
                yield self.buffers[u].get(self.held[i])
            for j in self.consumers[i]:  # blocking after service: keep the unit until outputs have room
                yield from self._reserve(j, self.out_bytes[i])
                env.process(self._ship(i, j))

    def _op(self, i: int):
        """Wait for op i's inputs and memory fetches, then queue it on its unit."""
        env, u = self.env, self.unit[i]
        yield env.all_of([self.done[d] if self.unit[d] == u else self.arrived[(d, i)] for d in self.deps[i]])
        yield env.all_of([env.process(self._fetch(i, m, nbytes)) for m, nbytes in self.fetches[i].items()])
        heapq.heappush(self.ready[u], (env.now, i))
        if not self.wake[u].triggered:
            self.wake[u].succeed()

    def _reserve(self, i: int, nbytes: float):
        """Reserve room for an input of op i in its unit's buffer, waiting while it is full."""
        buffer = self.buffers.get(self.unit[i])
        if buffer is not None and nbytes > 0:
            yield buffer.put(nbytes)
            self.held[i] += nbytes

    def _fetch(self, i: int, memory: str, nbytes: float):
        yield from self._reserve(i, nbytes)
        yield from self._transfer(memory, self.unit[i], nbytes, i, f"{memory} -> {self.names[i]}")

    def _ship(self, d: int, i: int):
        yield from self._transfer(self.unit[d], self.unit[i], self.out_bytes[d], i,
                                  f"{self.names[d]} -> {self.names[i]}")
        self.arrived[(d, i)].succeed()

    def _transfer(self, src: str, dst: str, nbytes: float, i: int, what: str):
        link = self.system.link_between(src, dst, what)
        with self.links[link.name].request() as request:
            yield request
            start = self.env.now
            yield self.env.timeout(link.seconds(nbytes))
        self.rows.append(("transfer", what, link.name, i, start, self.env.now, nbytes))


def plot_timeline(timeline: pd.DataFrame, path: str | Path) -> Path:
    """Draw a run's timeline as a Gantt chart (a lane per unit, then per link) and save it as PNG.

    Bars are coloured by the op they run or feed, and labelled where the label fits.
    """
    lanes = [*dict.fromkeys(timeline.loc[timeline["kind"] == "op", "resource"]),
             *dict.fromkeys(timeline.loc[timeline["kind"] == "transfer", "resource"])]
    span = float(timeline["end_s"].max()) if len(timeline) else 1.0
    colors = matplotlib.colormaps["tab20"]
    width_in = 11
    fig = Figure(figsize=(width_in, 1.2 + 0.7 * len(lanes)))
    ax = fig.subplots()
    for y, lane in enumerate(lanes):
        for row in timeline[timeline["resource"] == lane].itertuples():
            width = row.end_s - row.start_s
            ax.broken_barh([(row.start_s, width)], (y - 0.35, 0.7), facecolors=colors(row.op % 20),
                           edgecolor="black", linewidth=0.5)
            if width / span * 0.85 * width_in * 72 > 4.5 * len(row.what):  # bar vs label width, in points
                ax.text(row.start_s + width / 2, y, row.what, ha="center", va="center", fontsize=7, clip_on=True)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(0, span)
    ax.xaxis.set_major_formatter(EngFormatter(unit="s"))
    ax.set_xlabel("time")
    ax.grid(axis="x", linewidth=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
