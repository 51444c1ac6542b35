# amaranth: UnusedElaboratable=no
"""The rule generation unit (``hw.rgu``) against the pairs of one kernel offset, inside ``hw.stream_bench``:
in Amaranth's simulator on hypothesis-generated sparse-conv cases (regular, strided, dilated, SubM;
empty frames, duplicates at tile edges, valid gaps and back-pressure, two frames per run), in Icarus
and Verilator on the same kind of cases; the documented cycle count; every RGU mutant of
``hw.mutation.SPADE_CATALOGUE`` killed.

Golden: the pairs of the offset from ``sim.sparse.conv_rules`` (spconv 2.x: ``in = out * s - p + k * d``)
on the raster-ordered inputs; for duplicates and arbitrary stream pairs a reference merge-join that
walks the raw streams by the documented steps (``merge_join``), itself checked against a
brute-force enumeration of all (input, output) pairs on the de-duplicated streams (``conv_pairs``).
"""

from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw import icarus, mutation, pysim, verilator
from hw.rgu import RuleGenerationUnit
from hw.stream_bench import StreamBench, beats, taken_cycles, vectors
from sim.errors import ConfigError
from sim.sparse import conv_rules

PARAMS = {"coord_bits": 5, "row_bits": 5, "offset_bits": 4}  # small widths: the cases reach every bit's top
GRID = 1 << PARAMS["coord_bits"]
DEPTH = 96
END = None


@cache
def bench(stride: int, cls=RuleGenerationUnit) -> StreamBench:
    return StreamBench(cls(stride=stride, **PARAMS), depth=DEPTH)


# ---- golden -------------------------------------------------------------------------------------

def conv_case(coords, shape, kernel, stride, padding, dilation, subm):
    """``sim.sparse.conv_rules`` on the raster-ordered inputs: (inputs, output coords, pairs (in_row, out_row)
    per offset index) as lists."""
    ins = sorted(set(coords))
    rules = conv_rules(np.array(ins, np.int32).reshape(-1, 2), shape, kernel, stride, padding, dilation, subm)
    pairs = {k: [(int(i), int(o)) for _, i, o in rules.pairs[rules.pairs[:, 0] == k]] for k in range(kernel * kernel)}
    return ins, [tuple(map(int, c)) for c in rules.out_coords], pairs


def conv_pairs(ins, outs, t, stride):
    """All (in_row, out_row) with in = out * stride + t per axis, by input row."""
    index = {c: r for r, c in enumerate(ins)}
    found = [(index[(o[0] * stride + t[0], o[1] * stride + t[1])], r) for r, o in enumerate(outs)
             if (o[0] * stride + t[0], o[1] * stride + t[1]) in index]
    return sorted(found)


def dedupe(stream):
    return [c for k, c in enumerate(stream) if k == 0 or c != stream[k - 1]]


def merge_join(ins, outs, t, stride):
    """The RGU's documented steps on one frame of raw streams (duplicates included): the beats on
    ``pairs`` (in_row, out_row, end) and the number of steps."""
    a, b = ins + [END], outs + [END]
    i = j = steps = 0
    rows, prev, out = [0, 0], [END, END], []
    while True:
        steps += 1
        dup = [a[i] is not END and a[i] == prev[0], b[j] is not END and b[j] == prev[1]]
        if any(dup):
            i, j = i + dup[0], j + dup[1]
            continue
        if a[i] is END and b[j] is END:
            return out + [(rows[0], rows[1], 1)], steps
        q = END if b[j] is END else (b[j][0] * stride + t[0], b[j][1] * stride + t[1])
        take_a, take_b = q == a[i], q == a[i]
        if q == a[i]:
            out.append((rows[0], rows[1], 0))
        elif a[i] is END or (q is not END and q < a[i]):
            take_b = True
        else:
            take_a = True
        if take_a:
            prev[0], rows[0], i = a[i], rows[0] + 1, i + 1
        if take_b:
            prev[1], rows[1], j = b[j], rows[1] + 1, j + 1


def with_tile_edges(stream, cuts):
    """``stream`` cut into tiles at ``cuts`` with each tile's last coordinate repeated as the next one's first."""
    out = []
    for k, c in enumerate(stream):
        out.append(c)
        if k in cuts:
            out.append(c)
    return out


# ---- running the RTL ----------------------------------------------------------------------------

def frame_beats(stream):
    return [{"y": y, "x": x, "end": 0} for y, x in stream] + [{"y": 0, "x": 0, "end": 1}]


def run(frames, t, stride, rng, offer=1.0, ready=1.0, simulate=pysim.run, cls=RuleGenerationUnit):
    """Frames [(in stream, out stream)] through the RGU: (pairs beats as tuples, outputs, stream rule broken)."""
    b = bench(stride, cls)
    streams = {"in_coords": [x for f in frames for x in frame_beats(f[0])],
               "out_coords": [x for f in frames for x in frame_beats(f[1])]}
    total = sum(map(len, streams.values()))
    cycles = int(4 * (total + 8) / min(offer, ready) ** 2)
    outputs = simulate(b, vectors(b, streams, rng, cycles, offer, ready, plain={"offset_y": t[0], "offset_x": t[1]}))
    got = [(p["in_row"], p["out_row"], p["end"]) for p in beats(b, outputs, "pairs")]
    return got, outputs, bool(outputs["pairs_broke"].any())


def expected(frames, t, stride):
    """Golden beats of ``frames``, rows modulo 2^row_bits, and the steps they take (always valid and ready)."""
    joins = [merge_join(ins, outs, t, stride) for ins, outs in frames]
    wrap = 1 << PARAMS["row_bits"]
    return [(i % wrap, o % wrap, end) for beats, _ in joins for i, o, end in beats], sum(steps for _, steps in joins)


def steps_taken(outputs) -> int:
    """Cycles from the first input beat taken to the last (both streams)."""
    took = np.union1d(taken_cycles(outputs, "in_coords"), taken_cycles(outputs, "out_coords"))
    return int(took[-1] - took[0] + 1) if len(took) else 0


# ---- strategies ---------------------------------------------------------------------------------

coords_st = st.lists(st.tuples(st.integers(0, GRID - 1), st.integers(0, GRID - 1)), max_size=22)
SIZES = [(GRID - 4, GRID - 4), (9, 14), (GRID - 4, 5)]  # outputs (padding <= 2) stay inside coord_bits
MAX_OUT = (1 << PARAMS["row_bits"]) - 1  # outputs kept per frame (a prefix: rows unchanged)


@st.composite
def conv_frames(draw, stride):
    """Frames of one kernel offset of a sparse conv (SubM at stride 1) with tile-edge duplicates, and the
    golden beats: that offset's pairs, then the end beat with the frame's coordinate counts."""
    kernel = draw(st.sampled_from([2, 3]) if stride == 2 else st.sampled_from([1, 3]))
    dilation = draw(st.sampled_from([1, 2]))
    subm = stride == 1 and draw(st.booleans())
    padding = dilation * (kernel // 2) if subm else draw(st.integers(0, 2))
    shape = draw(st.sampled_from(SIZES))
    ky, kx = draw(st.integers(0, kernel - 1)), draw(st.integers(0, kernel - 1))
    frames, want = [], []
    for _ in range(draw(st.integers(1, 2))):
        raw = [(y % shape[0], x % shape[1]) for y, x in draw(coords_st)]
        ins, outs, pairs = conv_case(raw, shape, kernel, stride, padding, dilation, subm)
        outs = outs[:MAX_OUT]
        cuts = [draw(st.sets(st.integers(0, max(len(s) - 1, 0)), max_size=3)) for s in (ins, outs)]
        frames.append((with_tile_edges(ins, cuts[0]), with_tile_edges(outs, cuts[1])))
        want += [(i, o, 0) for i, o in pairs[ky * kernel + kx] if o < len(outs)] + [(len(ins), len(outs), 1)]
    return frames, (ky * dilation - padding, kx * dilation - padding), want


def test_golden_merge_join_equals_the_brute_force():
    """The reference merge-join on raw streams with duplicates gives the brute-force pairs of the
    de-duplicated streams; checked here on a hand case, and under hypothesis below."""
    ins = [(0, 1), (0, 2), (0, 2), (1, 1), (2, 3), (2, 3)]
    outs = [(0, 0), (0, 1), (1, 0), (1, 0), (1, 2), (2, 2)]
    got, steps = merge_join(ins, outs, (0, 1), 1)
    assert got == [(0, 0, 0), (1, 1, 0), (2, 2, 0), (3, 4, 0), (4, 5, 1)]
    assert steps == 4 + 5 + 1 - 4 + 3  # three steps drop the three duplicates


@settings(max_examples=150)
@given(ins=coords_st, outs=coords_st, t=st.tuples(st.integers(-8, 7), st.integers(-8, 7)), stride=st.sampled_from([1, 2, 4]),
       cuts=st.sets(st.integers(0, 25), max_size=4))
def test_merge_join_matches_brute_force(ins, outs, t, stride, cuts):
    ins, outs = sorted(set(ins)), sorted(set(outs))
    got, steps = merge_join(with_tile_edges(ins, cuts), with_tile_edges(outs, cuts), t, stride)
    want = conv_pairs(ins, outs, t, stride)
    assert got == [(i, o, 0) for i, o in want] + [(len(ins), len(outs), 1)]
    dups = sum(k < len(ins) for k in cuts) + sum(k < len(outs) for k in cuts)
    assert len(ins) + len(outs) + 1 - len(want) <= steps <= len(ins) + len(outs) + 1 - len(want) + dups


# ---- the RTL ------------------------------------------------------------------------------------

PATTERNS = st.sampled_from([(1.0, 1.0), (0.5, 1.0), (1.0, 0.4), (0.6, 0.6)])


@settings(max_examples=30)
@given(data=st.data(), stride=st.sampled_from([1, 2]), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_rgu_matches_golden_in_pysim(data, stride, pattern, seed):
    frames, t, want = data.draw(conv_frames(stride))
    got, _, broke = run(frames, t, stride, np.random.default_rng(seed), *pattern)
    assert got == want
    assert not broke


def test_empty_frames_and_extreme_offsets():
    rng = np.random.default_rng(1)
    full = [(y, x) for y in (0, GRID - 1) for x in range(0, GRID, 2)]  # 32 rows: the end beat's counts wrap to 0
    frames = [([], []), ([(0, 0)], []), ([], [(3, 3)]), (full, full), ([], [])]
    for t in ((0, 0), (-8, 7), (7, -8)):
        got, _, broke = run(frames, t, 1, rng, 0.7, 0.5)
        assert got == expected(frames, t, 1)[0] and not broke


def test_cycles_are_linear_in_the_streams():
    """Always valid and ready, no duplicates: a frame takes n_in + n_out + 1 - P cycles (module doc)."""
    rng = np.random.default_rng(2)
    for n_in, n_out, stride in ((0, 0, 1), (30, 0, 1), (0, 30, 2), (25, 30, 1), (30, 12, 2)):
        ins = sorted({tuple(c) for c in rng.integers(0, 12, (n_in, 2))})
        outs = sorted({tuple(c) for c in rng.integers(0, 12, (n_out, 2))})
        t = (1, -1)
        _, outputs, _ = run([(ins, outs)], t, stride, rng)
        matches = len(conv_pairs(ins, outs, t, stride))
        assert steps_taken(outputs) == len(ins) + len(outs) + 1 - matches, (n_in, n_out)


def test_default_widths_on_a_scene():
    """The unit as synthesized (16-bit coordinates and rows, 8-bit offsets) on a 48 x 48 window at 5 %
    occupancy, 3x3 stride-1 padding-1 conv, corner offset (0, 2): the pairs of ``conv_rules``."""
    rng = np.random.default_rng(4)
    ins = [tuple(map(int, c)) for c in np.argwhere(rng.random((48, 48)) < 0.05)]
    ins, outs, pairs = conv_case(ins, (48, 48), 3, 1, 1, 1, False)
    b = StreamBench(RuleGenerationUnit(), depth=1024)
    streams = {"in_coords": frame_beats(ins), "out_coords": frame_beats(outs)}
    outputs = pysim.run(b, vectors(b, streams, rng, 2 * len(ins) + 2 * len(outs), 0.8, 0.7,
                                   plain={"offset_y": -1, "offset_x": 1}))
    got = [(p["in_row"], p["out_row"], p["end"]) for p in beats(b, outputs, "pairs")]
    assert got == [(i, o, 0) for i, o in pairs[2]] + [(len(ins), len(outs), 1)] and len(pairs[2]) > 50


def test_bad_parameters():
    with pytest.raises(ConfigError, match="^stride: got 3"):
        RuleGenerationUnit(stride=3)
    with pytest.raises(ConfigError, match="^coord_bits: got 0"):
        RuleGenerationUnit(coord_bits=0)


# ---- other simulators ---------------------------------------------------------------------------

@pytest.mark.cosim
@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixtures only skip
@given(data=st.data(), stride=st.sampled_from([1, 2]), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_rgu_matches_golden_in_icarus(data, stride, pattern, seed, tmp_path_factory, require_icarus):
    frames, t, want = data.draw(conv_frames(stride))
    simulate = lambda c, i: icarus.run(c, i, tmp_path_factory.mktemp("rgu"))  # noqa: E731
    got, _, broke = run(frames, t, stride, np.random.default_rng(seed), *pattern, simulate=simulate)
    assert got == want and not broke


@pytest.mark.cosim
@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), stride=st.sampled_from([1, 2]), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_rgu_matches_golden_in_verilator(data, stride, pattern, seed, require_verilator):
    frames, t, want = data.draw(conv_frames(stride))
    got, _, broke = run(frames, t, stride, np.random.default_rng(seed), *pattern, simulate=verilator.run)
    assert got == want and not broke


# ---- mutants ------------------------------------------------------------------------------------

def kill_plans():
    """Seeded cases for the mutants: two frames (the second starting at the first's last pillar), tile-edge
    duplicates, rows up to 2^row_bits - 1, coordinates at the top of the range, both strides."""
    rng = np.random.default_rng(7)
    plans = []
    for stride, t in ((1, (-1, 1)), (2, (1, -2)), (1, (0, 0))):
        pillars = sorted({tuple(c) for c in rng.integers(0, GRID, (56, 2))} | {(GRID - 1, GRID - 1)})
        half = len(pillars) // 2
        frames = []
        for ins in (pillars[:half + 1], pillars[half:]):
            outs = {(min(GRID - 1, max(0, (y - t[0]) // stride)), min(GRID - 1, max(0, (x - t[1]) // stride)))
                    for y, x in ins} | {tuple(c) for c in rng.integers(0, GRID // stride, (6, 2))}
            outs = sorted(outs)[:MAX_OUT]
            frames.append((with_tile_edges(ins, {3, 17, len(ins) - 1}), with_tile_edges(outs, {0, 9})))
        plans.append((frames, t, stride))
    return plans


def test_kill_plans_pass_on_the_original():
    for frames, t, stride in kill_plans():
        want, steps = expected(frames, t, stride)
        for pattern in ((1.0, 1.0), (0.6, 0.5)):
            got, outputs, broke = run(frames, t, stride, np.random.default_rng(3), *pattern)
            assert got == want and not broke
            assert pattern[0] < 1 or steps_taken(outputs) == steps  # duplicates included: the documented steps


RGU_MUTANTS = [m for m in mutation.SPADE_CATALOGUE if m.rtl == "hw.rgu:RuleGenerationUnit"]


def killed(mutant, simulate=pysim.run) -> str:
    cls = mutation.mutated_class(mutant)
    for frames, t, stride in kill_plans():
        for pattern in ((1.0, 1.0), (0.6, 0.5)):
            try:
                got, outputs, broke = run(frames, t, stride, np.random.default_rng(3), *pattern, simulate=simulate, cls=cls)
            except Exception as exc:  # noqa: BLE001  (a mutant that does not build or simulate is killed)
                return f"fails: {type(exc).__name__}"
            want, steps = expected(frames, t, stride)
            if broke or got != want:
                return f"stride {stride} t {t} offer/ready {pattern}: pairs differ"
            if pattern == (1.0, 1.0) and steps_taken(outputs) != steps:
                return f"stride {stride} t {t}: {steps_taken(outputs)} cycles, not {steps}"
    return ""


@pytest.mark.parametrize("mutant", RGU_MUTANTS, ids=[m.name for m in RGU_MUTANTS])
def test_mutant_is_killed_in_pysim(mutant):
    assert killed(mutant), f"{mutant.name} survives"


@pytest.mark.cosim
@pytest.mark.parametrize("name", ["yx_priority_swapped", "back_pressure_dropped"])
def test_mutant_is_killed_in_verilator(name, require_verilator):
    mutant = next(m for m in RGU_MUTANTS if m.name == name)
    assert killed(mutant, verilator.run)


@pytest.mark.parametrize("kernel, stride, padding, subm", [(3, 1, 1, True), (3, 2, 1, False), (2, 2, 0, False)])
def test_the_spade_model_charges_the_rgus_cycles(kernel, stride, padding, subm):
    """The SPADE model's merge-RGU time of a layer (rate 1, rules generated, output set built by SPADE's
    other step) equals the cycles the RTL takes to match every kernel offset's frame in turn."""
    from sim.config import load_config
    from sim.engine import run as run_trace
    from sim.models import build_model
    from sim.trace import TraceBuilder

    rng = np.random.default_rng(kernel + stride)
    flat = rng.choice(20 * 24, 18, replace=False)
    coords = np.stack([flat // 24, flat % 24], 1)
    ins, outs, pairs = conv_case([tuple(c) for c in coords.tolist()], (20, 24), kernel, stride, padding, 1, subm)
    rtl = 0
    for ky in range(kernel):
        for kx in range(kernel):
            _, outputs, _ = run([(ins, outs)], (ky - padding, kx - padding), stride, rng)
            rtl += steps_taken(outputs)
    rules = conv_rules(np.array(ins, np.int32), (20, 24), kernel, stride, padding, subm=subm)
    b = TraceBuilder(formats={"W": "int8", "A": "int8", "O": "int8"})
    b.add("sparse_conv2d", "layer", dict(C=4, H=20, W=24, K=4, R=kernel, S=kernel, stride=stride, pad=padding),
          payload={"coords": rules.in_coords, "out_coords": rules.out_coords, "pair_count": rules.pair_count,
                   "pairs": rules.pairs})
    config = {"model": "spade", "array": {"rows": 4, "cols": 4},
              "sram": {"input_kb": 64, "output_kb": 64, "weight_kb": 64}}
    op = run_trace(b.build(), build_model(load_config(config))).ops.iloc[0]
    build = 0 if subm else len(rules.pairs)  # building a dilating layer's output set: one step per candidate
    assert op["rgu_cycles"] - build == rtl
