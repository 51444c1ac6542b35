"""Stream shells (``hw.stream``) in Amaranth's simulator under seeded random valid/ready patterns
(valid gaps, long stalls, ready dropped when a result appears): every output beat equals the golden
model's result for the beats the shell took (``hw.golden``), in order, as many out as emitting
beats in, and the stream rules hold on the output. Throughput is checked with the default depths.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw import generators, golden, stimuli
from hw.pe_array import _is_weight_side
from hw.pysim import CLOCK_PERIOD_S
from hw.stream import StreamPEArray, StreamUnit


def sum_flags(rng, steps: int, longest: int):
    """``first``/``last`` per step for consecutive sums of 1..longest steps (the final one closed)."""
    first, last = np.zeros(steps, np.int64), np.zeros(steps, np.int64)
    t = 0
    while t < steps:
        n = int(rng.integers(1, longest + 1))
        first[t], last[min(t + n, steps) - 1] = 1, 1
        t += n
    return first, last


def ready_pattern(kind: str, rng):
    """Consumer's ``ready`` per cycle, given whether a new beat is showing: a generator fed by send()."""
    stall = 0
    new_beat = yield
    while True:
        if kind == "always":
            ready = 1
        elif kind == "random":
            ready = int(rng.random() < 0.5)
        elif kind == "long_stalls":  # stretches of 20..80 low cycles between short bursts
            if stall == 0:
                stall = int(rng.integers(-6, 0)) if rng.random() < 0.5 else int(rng.integers(20, 80))
            ready = int(stall < 0)
            stall += 1 if stall < 0 else -1
        else:  # "drop_on_result": ready goes low the cycle a result appears, for 1..12 cycles
            if new_beat:
                stall = int(rng.integers(1, 13))
            ready = int(stall == 0)
            stall = max(0, stall - 1)
        new_beat = yield ready


def run_stream(dut, beats: list[dict], emits: list[bool], rng, gap: float, ready: str, patience: int = 400):
    """Drive ``beats`` into ``dut.i_stream`` (idle cycles with probability ``gap`` before each) while
    draining ``dut.o_stream`` with the ``ready`` pattern; return (beats taken, their cycles, output
    payloads). The output is drained until ``patience`` cycles pass without a beat after every
    emitting beat has been answered, so extra beats are seen."""
    taken, cycles, got = [], [], []
    expected = sum(emits)
    i, o = dut.i_stream, dut.o_stream

    async def producer(ctx):
        cycle = 0
        for beat in beats:
            while rng.random() < gap:
                ctx.set(i.valid, 0)
                await ctx.tick()
                cycle += 1
            ctx.set(i.payload, beat)
            ctx.set(i.valid, 1)
            for _ in range(patience):
                *_, accepted = await ctx.tick().sample(i.ready)
                cycle += 1
                if accepted:
                    break
            else:
                raise AssertionError(f"input beat {len(taken)} refused for {patience} cycles")
            taken.append(beat)
            cycles.append(cycle - 1)
        ctx.set(i.valid, 0)

    async def consumer(ctx):
        pattern = ready_pattern(ready, rng)
        next(pattern)
        held, quiet = None, 0  # held: payload shown without transfer (must stay until taken)
        while quiet < patience or len(got) < expected and quiet < 4 * patience:
            showing = ctx.get(o.valid)
            r = pattern.send(bool(showing) and held is None)
            ctx.set(o.ready, r)
            *_, valid, payload = await ctx.tick().sample(o.valid, o.payload)
            if held is not None:
                assert valid and payload == held, "o_stream dropped valid or changed payload before a transfer"
            held = payload if valid and not r else None
            if valid and r:
                got.append(payload)
                quiet = 0
            else:
                quiet += 1

    sim = Simulator(dut)
    sim.add_clock(CLOCK_PERIOD_S)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return taken, cycles, got


def as_columns(beats: list[dict], names) -> dict[str, np.ndarray]:
    return {n: np.array([b[n] for b in beats], np.int64) for n in names}


# ---- MAC units --------------------------------------------------------------------------------

UNITS = {"int8xint8": {}, "dint4xint8": {}, "mxfp4": {"block": 4}, "amxfp4": {"block": 4},
         "int8xint8-pipe1": {"pipeline": 1}, "amxfp4-pipe3": {"block": 4, "pipeline": 3}}
PATTERNS = [(0.0, "always"), (0.3, "random"), (0.1, "long_stalls"), (0.0, "drop_on_result")]


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
    """Cycles from a unit's input row to its output row (the units' own attribute; 1 before pipelining)."""
    return getattr(unit, "latency", 1)


def unit_beats(shell: StreamUnit, rng, n: int) -> list[dict]:
    vectors = stimuli.random(shell.unit, rng, n)  # operand codes from the unit's adapter
    if shell.accumulates:
        vectors["first"], vectors["last"] = sum_flags(rng, n, 5)
    fields = [*shell.inputs, "last"] if shell.accumulates else shell.inputs
    return [{f: (vectors[f][t].tolist()) for f in fields} for t in range(n)]


def unit_expected(shell: StreamUnit, taken: list[dict]) -> list[dict]:
    """Golden outputs of the unit after each emitting beat it took (no idle cycles in between:
    an idle cycle changes nothing), read in the row where the unit's output reflects that beat."""
    lag = latency(shell.unit) - 1
    inputs = {n: np.concatenate([v, np.zeros((lag, *v.shape[1:]), v.dtype)])
              for n, v in as_columns(taken, shell.inputs).items()}
    inputs["valid"] = np.r_[np.ones(len(taken), np.int64), np.zeros(lag, np.int64)]
    want = golden.outputs(shell.unit, inputs)
    return [{n: want[n][t + lag].tolist() for n in shell.outputs}
            for t, beat in enumerate(taken) if beat.get("last", 1)]


def assert_non_emitting_beats_never_wait(beats, cycles, gap):
    """Only a beat that will emit can be refused: without producer gaps the others follow at once."""
    if gap == 0:
        waited = [k for k in range(1, len(beats)) if not beats[k].get("last", 1) and cycles[k] != cycles[k - 1] + 1]
        assert not waited, f"non-emitting beats {waited[:5]} were refused"


def got_rows(got, names) -> list[dict]:
    return [{n: (np.asarray(p[n]).tolist() if hasattr(p[n], "__len__") else int(p[n])) for n in names} for p in got]


@pytest.mark.parametrize("name", list(UNITS))
@pytest.mark.parametrize("gap, ready", PATTERNS, ids=[p[1] for p in PATTERNS])
def test_unit_stream_matches_golden_under_back_pressure(name, gap, ready):
    rng = np.random.default_rng(sum(map(ord, name + ready)))
    shell = StreamUnit(build(name, **UNITS[name]))
    beats = unit_beats(shell, rng, 60)
    taken, cycles, got = run_stream(shell, beats, [b.get("last", 1) for b in beats], rng, gap, ready)
    assert taken == beats
    assert_non_emitting_beats_never_wait(beats, cycles, gap)
    want = unit_expected(shell, taken)
    assert len(got) == len(want), f"{len(want)} emitting beats in, {len(got)} beats out"
    assert got_rows(got, shell.outputs) == want


def saturating_unit_run(name: str, depth: int | None):
    """Every beat emits (the most the result queue must absorb), never a gap or a stall: (shell, cycles taken)."""
    rng = np.random.default_rng(5)
    shell = StreamUnit(build(name, **UNITS[name]), depth)
    beats = unit_beats(shell, rng, 40)
    for beat in beats:
        beat.update({"first": 1, "last": 1} if shell.accumulates else {})
    _, cycles, got = run_stream(shell, beats, [1] * len(beats), rng, 0.0, "always", patience=20)
    assert got_rows(got, shell.outputs) == unit_expected(shell, beats)
    return shell, cycles


@pytest.mark.parametrize("name", ["int8xint8", "mxfp4", "amxfp4-pipe3"])
def test_unit_default_depth_is_the_least_taking_a_beat_every_cycle(name):
    shell, cycles = saturating_unit_run(name, None)
    assert cycles == list(range(40))
    _, cycles = saturating_unit_run(name, shell.depth - 1)
    assert cycles[-1] > 40


# ---- PE array ---------------------------------------------------------------------------------

def array_beats(shell: StreamPEArray, rng, steps: int, longest: int) -> list[dict]:
    vectors = stimuli.random(shell.array, rng, steps)  # per-row / per-column operand codes
    first, last = sum_flags(rng, steps, longest)
    beats = []
    for t in range(steps):
        beat = {n: vectors[n][t].tolist() for n in shell.inputs if n != "first"}
        beat.update({"first": int(first[t])} if "first" in shell.inputs else {})
        beats.append(beat | {"last": int(last[t])})
    return beats


def array_expected(shell: StreamPEArray, taken: list[dict]) -> list[dict]:
    """Per sum, ``rows`` rows of the golden outputs of PE (r, c) fed row r's and column c's operands."""
    pe = shell.array.pes[0][0]
    lag = latency(pe) - 1
    steps = as_columns(taken, [*shell.inputs, "last"])
    ends = np.flatnonzero(steps["last"])
    per_pe = {}
    for r in range(shell.rows):
        for c in range(shell.cols):
            inputs = {n: v if n == "first" else v[:, c if _is_weight_side(n) else r] for n, v in steps.items()
                      if n != "last"}
            inputs = {n: np.concatenate([v, np.zeros((lag, *v.shape[1:]), v.dtype)]) for n, v in inputs.items()}
            inputs["valid"] = np.r_[np.ones(len(taken), np.int64), np.zeros(lag, np.int64)]
            per_pe[r, c] = golden.outputs(pe, inputs)
    return [{n: [per_pe[r, c][n][t + lag].tolist() for c in range(shell.cols)] for n in shell.outputs}
            | {"last": int(r == shell.rows - 1)} for t in ends for r in range(shell.rows)]


ARRAYS = [("int8xint8", {}, 2, 3), ("int4xint4", {}, 3, 2), ("mxfp4", {"block": 4}, 2, 3),
          ("int8xint8", {"pipeline": 1}, 2, 3)]


@pytest.mark.parametrize("pe, params, rows, cols", ARRAYS,
                         ids=[f"{pe}-{r}x{c}" + "-pipe" * ("pipeline" in p) for pe, p, r, c in ARRAYS])
@pytest.mark.parametrize("gap, ready", PATTERNS, ids=[p[1] for p in PATTERNS])
def test_array_drain_matches_golden_under_back_pressure(pe, params, rows, cols, gap, ready):
    rng = np.random.default_rng(sum(map(ord, pe + ready)) + rows)
    shell = StreamPEArray(build("pe_array", pe=pe, rows=rows, cols=cols, **params))
    beats = array_beats(shell, rng, 50, 2 * shell.spacing + 1)  # sums shorter than the spacing too
    taken, cycles, got = run_stream(shell, beats, [b["last"] for b in beats], rng, gap, ready)
    assert taken == beats
    assert_non_emitting_beats_never_wait(beats, cycles, gap)
    want = array_expected(shell, taken)
    assert len(got) == len(want), f"{len(want) // rows} sums in, {len(got)} rows out (want {len(want)})"
    assert got_rows(got, [*shell.outputs, "last"]) == want


def saturating_array_run(rows: int, cols: int, params: dict, depth: int | None):
    """Sums of the shortest allowed length, never a gap or a stall: (shell, cycles taken)."""
    rng = np.random.default_rng(rows * 10 + cols)
    shell = StreamPEArray(build("pe_array", pe="int8xint8", rows=rows, cols=cols, **params), depth)
    beats = array_beats(shell, rng, 8 * shell.spacing, 1)
    for t, beat in enumerate(beats):
        beat.update(first=int(t % shell.spacing == 0), last=int(t % shell.spacing == shell.spacing - 1))
    _, cycles, got = run_stream(shell, beats, [b["last"] for b in beats], rng, 0.0, "always", patience=60)
    assert got_rows(got, [*shell.outputs, "last"]) == array_expected(shell, beats)
    return shell, cycles


@pytest.mark.parametrize("rows, cols, params", [(2, 3, {}), (3, 2, {}), (2, 5, {}), (3, 2, {"pipeline": 1})])
def test_array_default_depth_is_the_least_taking_a_step_every_cycle(rows, cols, params):
    shell, cycles = saturating_array_run(rows, cols, params, None)
    assert cycles == list(range(8 * shell.spacing))
    _, cycles = saturating_array_run(rows, cols, params, shell.depth - 1)
    assert cycles[-1] >= 8 * shell.spacing


def test_smallest_queues_lose_nothing():
    rng = np.random.default_rng(11)
    unit = StreamUnit(generators.build("int8xint8"), depth=3)
    beats = unit_beats(unit, rng, 40)
    taken, _, got = run_stream(unit, beats, [b["last"] for b in beats], rng, 0.2, "long_stalls")
    assert taken == beats and got_rows(got, unit.outputs) == unit_expected(unit, taken)
    array = StreamPEArray(generators.build("pe_array", pe="int8xint8", rows=3, cols=2), depth=3)
    beats = array_beats(array, rng, 30, 4)
    taken, _, got = run_stream(array, beats, [b["last"] for b in beats], rng, 0.2, "drop_on_result")
    assert taken == beats and got_rows(got, [*array.outputs, "last"]) == array_expected(array, taken)
