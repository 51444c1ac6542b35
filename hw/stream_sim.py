"""A stream shell (``hw.stream``) run in Amaranth's simulator under seeded valid/ready patterns, and
the golden beats it must emit: what the tests use, and what a ``stream_*`` generator's check runs.

Producer: before each beat, idle cycles (``valid`` low) with probability ``gap``; then the beat is
held until taken. Consumer ``ready`` patterns (``READY``): ``always``; ``random`` (high half of the
cycles); ``long_stalls`` (bursts of 1..6 cycles between stalls of 20..79); ``drop_on_result``
(low for 1..12 cycles from the cycle a new result appears). The consumer checks the stream rules on
``o_stream`` (a shown beat keeps ``valid`` and its payload until taken) and drains until
``patience`` cycles pass without a beat, so beats that should not exist are seen too.

Golden beats come from the unit's golden model (``hw.golden``) on the beats the shell took, back to
back: an idle cycle changes no unit's state, so the shell's results cannot depend on the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from hw import golden, stimuli
from hw.pe_array import _is_weight_side
from hw.pysim import CLOCK_PERIOD_S
from hw.stream import StreamPEArray, StreamUnit
from sim.errors import ConfigError, DSEError, field_message

READY = ("always", "random", "long_stalls", "drop_on_result")


@dataclass
class StreamRun:
    taken: list[dict]  # input beats in the order taken
    taken_cycles: list[int]  # cycle in which each was taken
    got: list[dict]  # output payloads, as plain ints and lists
    got_cycles: list[int]  # cycle in which each was taken by the consumer
    rule_breaks: int  # cycles in which a shown output beat lost ``valid`` or changed before a transfer


def sum_flags(rng: np.random.Generator, steps: int, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """``first``/``last`` per step for consecutive sums of 1..longest steps (the final one closed)."""
    first, last = np.zeros(steps, np.int64), np.zeros(steps, np.int64)
    t = 0
    while t < steps:
        n = int(rng.integers(1, longest + 1))
        first[t], last[min(t + n, steps) - 1] = 1, 1
        t += n
    return first, last


def random_beats(shell, rng: np.random.Generator, n: int, longest: int = 5) -> list[dict]:
    """``n`` input beats: operand codes from the unit's stimulus adapter, sums of 1..``longest`` steps."""
    unit = shell.array if isinstance(shell, StreamPEArray) else shell.unit
    vectors = stimuli.random(unit, rng, n)
    first, last = sum_flags(rng, n, longest)
    beats = []
    for t in range(n):
        beat = {name: vectors[name][t].tolist() for name in shell.inputs}
        if "first" in beat:
            beat["first"] = int(first[t])
        if isinstance(shell, StreamPEArray) or shell.accumulates:
            beat["last"] = int(last[t])
        beats.append(beat)
    return beats


def emits(beat: dict) -> bool:
    """Whether an input beat produces output (a beat of a unit without ``last`` always does)."""
    return bool(beat.get("last", 1))


def _plain(value):
    """A simulator value of a payload field as an int or a (nested) list of ints."""
    return np.asarray(value).tolist() if hasattr(value, "__len__") else int(value)


def _ready_pattern(kind: str, rng: np.random.Generator):
    """Consumer's ``ready`` per cycle, sent whether a new beat is showing."""
    stall = 0
    new_beat = yield
    while True:
        if kind == "always":
            ready = 1
        elif kind == "random":
            ready = int(rng.random() < 0.5)
        elif kind == "long_stalls":  # stall < 0: cycles of burst left; > 0: cycles of stall left
            if stall == 0:
                stall = int(rng.integers(-6, 0)) if rng.random() < 0.5 else int(rng.integers(20, 80))
            ready = int(stall < 0)
            stall += 1 if stall < 0 else -1
        else:
            if new_beat:
                stall = int(rng.integers(1, 13))
            ready = int(stall == 0)
            stall = max(0, stall - 1)
        new_beat = yield ready


def run(shell, beats: list[dict], rng: np.random.Generator, gap: float = 0.0, ready: str = "always",
        patience: int = 400) -> StreamRun:
    """Drive ``beats`` through ``shell`` (see the module doc). A beat refused for ``patience``
    cycles is an error: the shell is stuck."""
    if ready not in READY:
        raise ConfigError(field_message("ready", ready, ", ".join(READY)))
    result = StreamRun([], [], [], [], 0)
    expected = sum(map(emits, beats))
    i, o = shell.i_stream, shell.o_stream
    names = list(shell.out_layout.members)

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
                raise DSEError(f"stream shell: input beat {len(result.taken)} refused for {patience} cycles")
            result.taken.append(beat)
            result.taken_cycles.append(cycle - 1)
        ctx.set(i.valid, 0)

    async def consumer(ctx):
        pattern = _ready_pattern(ready, rng)
        next(pattern)
        held, quiet, cycle = None, 0, 0  # held: a payload shown but not taken
        while quiet < patience or len(result.got) < expected and quiet < 4 * patience:
            r = pattern.send(bool(ctx.get(o.valid)) and held is None)
            ctx.set(o.ready, r)
            *_, valid, payload = await ctx.tick().sample(o.valid, o.payload)
            if held is not None and not (valid and payload == held):
                result.rule_breaks += 1
            held = payload if valid and not r else None
            if valid and r:
                result.got.append({n: _plain(payload[n]) for n in names})
                result.got_cycles.append(cycle)
                quiet = 0
            else:
                quiet += 1
            cycle += 1

    sim = Simulator(shell)
    sim.add_clock(CLOCK_PERIOD_S)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return result


def _golden_rows(unit, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Golden outputs of ``unit`` for input rows taken back to back; row t reflects input row t."""
    lag = getattr(unit, "latency", 1) - 1
    n = len(next(iter(columns.values())))
    inputs = {name: np.concatenate([v, np.zeros((lag, *v.shape[1:]), v.dtype)]) for name, v in columns.items()}
    inputs["valid"] = np.r_[np.ones(n, np.int64), np.zeros(lag, np.int64)]
    return {name: v[lag:] for name, v in golden.outputs(unit, inputs).items()}


def expected(shell, taken: list[dict]) -> list[dict]:
    """The output beats ``shell`` must emit for the input beats it took, in order."""
    columns = {name: np.array([b[name] for b in taken], np.int64) for name in shell.inputs}
    ends = [t for t, beat in enumerate(taken) if emits(beat)]
    if isinstance(shell, StreamUnit):
        want = _golden_rows(shell.unit, columns)
        return [{name: want[name][t].tolist() for name in shell.outputs} for t in ends]
    per_pe = {(r, c): _golden_rows(shell.array.pes[0][0], {
        name: v if name == "first" else v[:, c if _is_weight_side(name) else r] for name, v in columns.items()})
        for r in range(shell.rows) for c in range(shell.cols)}
    return [{name: [per_pe[r, c][name][t].tolist() for c in range(shell.cols)] for name in shell.outputs}
            | {"last": int(r == shell.rows - 1)} for t in ends for r in range(shell.rows)]


def check(shell, rng: np.random.Generator, beats: int = 64, gap: float = 0.2, ready: str = "random") -> dict:
    """Random beats through ``shell`` against the golden model: counts and mismatches, for a report."""
    outcome = run(shell, random_beats(shell, rng, beats), rng, gap, ready)
    want, got = expected(shell, outcome.taken), outcome.got
    return {"beats_in": len(outcome.taken), "emitting_beats_in": len(want), "beats_out": len(got),
            "mismatching_beats": sum(a != b for a, b in zip(want, got)) + abs(len(want) - len(got)),
            "stream_rule_breaks": outcome.rule_breaks}
