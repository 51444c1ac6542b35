# amaranth: UnusedElaboratable=no
"""Stream shells (``hw.stream``) in Amaranth's simulator under seeded random valid/ready patterns
(``hw.stream_sim``: valid gaps, long stalls, ready dropped when a result appears): every output
beat equals the golden model's result for the beats the shell took, in order, as many out as
emitting beats in, and the stream rules hold on the output. The default queue depths are checked
to be the least that take a beat every cycle, and the documented latencies are checked.

The first line silences Amaranth's UnusedElaboratable warning for a shell rejected on purpose.
"""

import numpy as np
import pytest

from hw import generators, stream_sim
from hw.stream import StreamPEArray, StreamUnit
from sim.errors import ConfigError

UNITS = {"int8xint8": {}, "dint4xint8": {}, "mxfp4": {"block": 4}, "amxfp4": {"block": 4},
         "int8xint8-pipe1": {"pipeline": 1}, "amxfp4-pipe3": {"block": 4, "pipeline": 3}}
PATTERNS = [(0.0, "always"), (0.3, "random"), (0.1, "long_stalls"), (0.0, "drop_on_result")]
ARRAYS = [("int8xint8", {}, 2, 3), ("int4xint4", {}, 3, 2), ("mxfp4", {"block": 4}, 2, 3),
          ("int8xint8", {"pipeline": 1}, 2, 3)]


def build(name: str, **params):
    """A generator's unit or array (``name`` may carry a ``-suffix`` naming the case); skipped while
    this build's units lack a parameter of the case (``pipeline``)."""
    name = name.split("-")[0]
    pe = params.get("pe", name)
    missing = sorted(set(params) - {"pe", "rows", "cols"} - set(generators.defaults(pe)))
    if missing:
        pytest.skip(f"{pe} has no parameter {', '.join(missing)} in this build")
    return generators.build(name, **params)


def latency(unit) -> int:
    """Cycles from a unit's input row to its output row (the unit's own attribute; 1 before pipelining)."""
    return getattr(unit, "latency", 1)


def assert_matches_golden(shell, beats, rng, gap, ready, **kw):
    run = stream_sim.run(shell, beats, rng, gap, ready, **kw)
    assert run.taken == beats
    assert run.rule_breaks == 0, "o_stream dropped valid or changed its payload before a transfer"
    want = stream_sim.expected(shell, run.taken)
    assert len(run.got) == len(want), f"{len(want)} beats due, {len(run.got)} out"
    assert run.got == want
    if gap == 0:  # only a beat that emits may be refused: the others follow at once
        waited = [k for k in range(1, len(beats))
                  if not stream_sim.emits(beats[k]) and run.taken_cycles[k] != run.taken_cycles[k - 1] + 1]
        assert not waited, f"non-emitting beats {waited[:5]} were refused"
    return run


@pytest.mark.parametrize("name", list(UNITS))
@pytest.mark.parametrize("gap, ready", PATTERNS, ids=[p[1] for p in PATTERNS])
def test_unit_stream_matches_golden_under_back_pressure(name, gap, ready):
    rng = np.random.default_rng(sum(map(ord, name + ready)))
    shell = StreamUnit(build(name, **UNITS[name]))
    assert_matches_golden(shell, stream_sim.random_beats(shell, rng, 60), rng, gap, ready)


@pytest.mark.parametrize("pe, params, rows, cols", ARRAYS,
                         ids=[f"{pe}-{r}x{c}" + "-pipe" * ("pipeline" in p) for pe, p, r, c in ARRAYS])
@pytest.mark.parametrize("gap, ready", PATTERNS, ids=[p[1] for p in PATTERNS])
def test_array_drain_matches_golden_under_back_pressure(pe, params, rows, cols, gap, ready):
    rng = np.random.default_rng(sum(map(ord, pe + ready)) + rows)
    shell = StreamPEArray(build("pe_array", pe=pe, rows=rows, cols=cols, **params))
    beats = stream_sim.random_beats(shell, rng, 50, longest=2 * shell.spacing + 1)  # shorter sums than the spacing too
    assert_matches_golden(shell, beats, rng, gap, ready)


def saturating_unit_run(name: str, depth: int | None):
    """Every beat emits (the most the result queue must absorb), never a gap or a stall."""
    rng = np.random.default_rng(5)
    shell = StreamUnit(build(name, **UNITS[name]), depth)
    beats = stream_sim.random_beats(shell, rng, 40)
    for beat in beats:
        beat.update({"first": 1, "last": 1} if shell.accumulates else {})
    return shell, assert_matches_golden(shell, beats, rng, 0.0, "always", patience=20)


@pytest.mark.parametrize("name", ["int8xint8", "mxfp4", "amxfp4-pipe3"])
def test_unit_default_depth_is_the_least_taking_a_beat_every_cycle(name):
    shell, run = saturating_unit_run(name, None)
    assert run.taken_cycles == list(range(40))
    assert run.got_cycles == [t + latency(shell.unit) + 2 for t in range(40)]  # the documented latency
    _, run = saturating_unit_run(name, shell.depth - 1)
    assert run.taken_cycles[-1] > 40


def saturating_array_run(rows: int, cols: int, params: dict, depth: int | None):
    """Sums of the shortest allowed length, never a gap or a stall."""
    rng = np.random.default_rng(rows * 10 + cols)
    shell = StreamPEArray(build("pe_array", pe="int8xint8", rows=rows, cols=cols, **params), depth)
    beats = stream_sim.random_beats(shell, rng, 8 * shell.spacing)
    for t, beat in enumerate(beats):
        beat.update(first=int(t % shell.spacing == 0), last=int(t % shell.spacing == shell.spacing - 1))
    return shell, assert_matches_golden(shell, beats, rng, 0.0, "always", patience=60)


@pytest.mark.parametrize("rows, cols, params", [(2, 3, {}), (3, 2, {}), (2, 5, {}), (3, 2, {"pipeline": 1})])
def test_array_default_depth_is_the_least_taking_a_step_every_cycle(rows, cols, params):
    shell, run = saturating_array_run(rows, cols, params, None)
    steps = 8 * shell.spacing
    assert run.taken_cycles == list(range(steps))
    ends = range(shell.spacing - 1, steps, shell.spacing)
    lat = latency(shell.array.pes[0][0])
    assert run.got_cycles == [t + r + cols + lat + 1 for t in ends for r in range(rows)]  # the documented latency
    _, run = saturating_array_run(rows, cols, params, shell.depth - 1)
    assert run.taken_cycles[-1] >= steps


def test_smallest_queues_lose_nothing():
    rng = np.random.default_rng(11)
    unit = StreamUnit(generators.build("int8xint8"), depth=3)
    assert_matches_golden(unit, stream_sim.random_beats(unit, rng, 40), rng, 0.2, "long_stalls")
    array = StreamPEArray(generators.build("pe_array", pe="int8xint8", rows=3, cols=2), depth=3)
    assert_matches_golden(array, stream_sim.random_beats(array, rng, 30, longest=4), rng, 0.2, "drop_on_result")
    with pytest.raises(ConfigError, match="depth"):
        StreamUnit(generators.build("int8xint8"), depth=2)  # a 2-entry SyncFIFOBuffered can refuse a reserved write


def test_check_reports_counts_for_a_generator():
    rng = np.random.default_rng(3)
    report = stream_sim.check(StreamPEArray(generators.build("pe_array", pe="int4xint4", rows=2, cols=2)), rng)
    assert report["beats_in"] == 64 and report["beats_out"] == report["emitting_beats_in"] > 0
    assert report["mismatching_beats"] == 0 and report["stream_rule_breaks"] == 0


def test_check_counts_mismatching_beats(monkeypatch):
    shell = StreamUnit(generators.build("int4xint4"))
    golden_beats = stream_sim.expected
    monkeypatch.setattr(stream_sim, "expected", lambda s, taken: golden_beats(s, taken)[1:])  # one beat short
    report = stream_sim.check(shell, np.random.default_rng(4))
    assert report["emitting_beats_in"] == report["beats_out"] - 1 and report["mismatching_beats"] > 1
