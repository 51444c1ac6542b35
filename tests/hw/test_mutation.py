"""Mutation testing of the RTL: every catalogue mutant (``hw.mutation``) of every unit is killed in
Amaranth's simulator by the corner stimuli and plans (``hw.corners``), a sample also in Icarus
(with resets, where the unmutated RTL passes the same plans); the documented equivalent mutants are
equivalent by range arithmetic; the unmutated RTL matches the golden model on every plan (with
resets, pipelined units at their latency); the coverage model (``hw.coverage``) sees every
declared bin hit by the plans' stimuli; hypothesis sequences weighted toward the extremes match
the golden model, on pipelined units and both block datapaths too.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw import corners, coverage, generators, golden, icarus, mutation, pysim, stimuli, verilator
from hw.adapters import GOLDEN_SCALE
from sim.models.pes import PES
from sim.numerics import mac

PAIRS = [(unit, m) for unit in PES for m in mutation.mutants(unit)]
KILLABLE = [pytest.param(unit, m, id=f"{unit}-{m.name}") for unit, m in PAIRS if not m.equivalent]


def test_every_snippet_occurs_once_and_every_kind_is_catalogued():
    for m in mutation.CATALOGUE:
        path, source = mutation.mutated_source(m)  # raises when the source has drifted from the snippet
        assert source.count(m.replace) >= 1 and m.kind in mutation.KINDS, m.name
        assert any(m.applies_to(unit) for unit in PES), f"{m.name} applies to no registered unit"
    assert {m.kind for m in mutation.CATALOGUE} == set(mutation.KINDS)
    for unit in PES:  # every unit has every kind its datapath has
        kinds = {m.kind for m in mutation.mutants(unit) if not m.equivalent}
        if not PES[unit].is_block:
            own = {"saturation", "guard_bit"}
        else:
            own = {"decode", "partial_sum"} if PES[unit].rtl_params["a_asymmetric"] else {"decode"}
        assert kinds == {"sign", "width", "valid", "reset", "latency"} | own, unit


def test_a_drifted_snippet_is_reported():
    drifted = mutation.Mutant("drifted", "width", "hw.int_mac:IntMAC", "no such source text", "")
    with pytest.raises(LookupError, match="occurs 0 times"):
        mutation.mutated_class(drifted)


@pytest.mark.parametrize(("unit", "mutant"), KILLABLE)
def test_mutant_is_killed_in_pysim(unit, mutant):
    assert mutation.verdict(mutant, unit), f"{unit} {mutant.name} survives every plan of hw.corners"


ICARUS_SAMPLE = [("int8xint8", "saturate_hi_minus_1"), ("int4xint4", "guard_bit_dropped"),
                 ("dint4xint8", "valid_stuck_1"), ("int4xint4", "stage_reset_ignored"), ("mxfp4", "psum_narrowed"),
                 ("mxfp4", "e2m1_half_decoded_as_one"), ("amxfp4", "psum_a_sides_swapped"), ("amxfp4", "reset_ignored")]


@pytest.mark.cosim
@pytest.mark.parametrize(("unit", "name"), ICARUS_SAMPLE)
def test_mutant_is_killed_in_icarus(unit, name, tmp_path, require_icarus):
    mutant = next(m for m in mutation.mutants(unit) if m.name == name)
    plans = [(params, make) for params, make in corners.plans(unit) if make is corners.corners]
    assert mutation.verdict(mutant, unit, plans, simulate=lambda c, i: icarus.run(c, i, tmp_path))


@pytest.mark.cosim
@pytest.mark.parametrize("unit", ["int4xint4", "amxfp4"])
def test_rtl_matches_golden_in_icarus_with_resets(unit, tmp_path, require_icarus):
    """The kills above are not bare mismatches: the unmutated RTL passes the same corner plans in Icarus."""
    for params, make in corners.plans(unit):
        if make is corners.corners and (params.get("pipeline") or params.get("block")):
            component = generators.build(unit, **params)
            inputs = make(component)
            bad = golden.mismatches(corners.expected(component, inputs), icarus.run(component, inputs, tmp_path))
            assert not any(bad.values()), (params, bad)


VERILATOR_SAMPLE = [("int8xint8", "saturate_hi_minus_1"), ("int4xint4", "stage_reset_ignored"),
                    ("mxfp4", "psum_narrowed"), ("amxfp4", "psum_a_sides_swapped")]


@pytest.mark.cosim
@pytest.mark.parametrize(("unit", "name"), VERILATOR_SAMPLE)
def test_mutant_is_killed_in_verilator(unit, name, require_verilator):
    mutant = next(m for m in mutation.mutants(unit) if m.name == name)
    plans = [(params, make) for params, make in corners.plans(unit) if make is corners.corners]
    assert mutation.verdict(mutant, unit, plans, simulate=verilator.run)


@pytest.mark.cosim
@pytest.mark.parametrize("unit", ["int4xint4", "amxfp4"])
def test_rtl_matches_golden_in_verilator_with_resets(unit, require_verilator):
    """As in Icarus: the unmutated RTL passes the corner plans the Verilator kills use."""
    for params, make in corners.plans(unit):
        if make is corners.corners:
            component = generators.build(unit, **params)
            inputs = make(component)
            bad = golden.mismatches(corners.expected(component, inputs), verilator.run(component, inputs))
            assert not any(bad.values()), (params, bad)


# ---- equivalent mutants: why no input kills them -------------------------------------------------

def _fits(values, bits):
    return -(1 << (bits - 1)) <= np.min(values) and np.max(values) < (1 << (bits - 1))


def test_equivalent_mutants_are_equivalent():
    equivalent = {m.name for _, m in PAIRS if m.equivalent}
    assert equivalent == {"guard_bit_dropped_wrap", "product_narrowed_dint4", "exp_narrowed_e8m0"}
    for bits in (4, 7, 12):  # the low bits of a sum do not depend on the guard bit above them
        s = np.arange(-(1 << bits), 1 << bits)
        assert np.array_equal(mac.wrap(mac.wrap(s, bits), bits), mac.wrap(mac.wrap(s, bits + 1), bits))
    unit = generators.build("dint4xint8")
    w, a = np.meshgrid(np.arange(-8, 8), np.arange(-128, 128))
    products = mac.product(w, a, "dint4", unit.shift)
    assert _fits(products, unit.product_bits - 1) and not _fits(products, unit.product_bits - 2)
    # Ea + Ew - 2 by hand from the specs: E8M0 -256..254 (9 bits), E5M2 -34..26 (7), E4M3 -20..8 (6); the
    # RTL builds exactly that for the minifloats (exp_narrowed is killed) and one bit more for E8M0
    for fmt, needed in (("e8m0", 9), ("e5m2", 7), ("e4m3", 6)):
        unit = generators.build("amxfp4", block=1, scale_format=fmt)
        exp = mac.scale_parts(np.arange(256), GOLDEN_SCALE[unit.scale_format])[1]
        sums = exp[:, None] + exp[None, :] - 2
        assert _fits(sums, needed) and not _fits(sums, needed - 1), fmt
        assert unit.exp_bits - 1 == needed if fmt == "e8m0" else unit.exp_bits == needed, fmt


@pytest.mark.parametrize(("unit", "mutant"), [pytest.param(u, m, id=f"{u}-{m.name}") for u, m in PAIRS if m.equivalent])
def test_equivalent_mutant_survives_the_corners(unit, mutant):
    plans = [(params, make) for params, make in corners.plans(unit) if make is corners.corners]
    assert not mutation.verdict(mutant, unit, plans)


# ---- the unmutated RTL on every plan, and the coverage of the plans' stimuli ---------------------

def _plan_ids(unit):
    return [(unit, params, make) for params, make in corners.plans(unit)]


@pytest.mark.parametrize(("unit", "params", "make"), [
    pytest.param(*p, id=f"{p[0]}-{p[2].__name__}-{'-'.join(map(str, p[1].values())) or 'defaults'}",
                 marks=[pytest.mark.slow] if p[2] is corners.scale_pairs else [])
    for unit in PES for p in _plan_ids(unit) if p[2].__name__ != "exhaustive"])  # exhaustive: test_equivalence
def test_rtl_matches_golden_on_the_plan(unit, params, make):
    component = generators.build(unit, **params)
    inputs = make(component)
    bad = golden.mismatches(corners.expected(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


def test_every_declared_coverage_bin_is_hit():
    results = {label: counts for unit in PES for label, counts in corners.plan_coverage(unit).items()}
    missed = {label: [b for b, c in counts.items() if not c] for label, counts in results.items()}
    assert not any(missed.values()), coverage.report({k: v for k, v in results.items() if missed[k]})


def test_coverage_sees_what_the_exhaustive_vectors_miss():
    unit = generators.build("int8xint8", overflow="saturate")
    inputs = stimuli.exhaustive(unit)
    counts = coverage.bins(unit, inputs, corners.expected(unit, inputs))
    assert counts["largest product"] and not counts["saturation above the top"] and not counts["acc at the top"]
    unit = generators.build("mxfp4")
    inputs = stimuli.exhaustive(unit)
    counts = coverage.bins(unit, inputs, corners.expected(unit, inputs))
    assert counts["lane 0 a- w+"] and not counts["term 0 psum at +largest"]
    assert not counts["a code 5 across the block, sum not cancelled"]


# ---- hypothesis: sequences weighted toward the extremes ------------------------------------------

def extreme_ints(lo, hi):
    """Integers in lo..hi, half of them at or next to a limit or zero."""
    return st.one_of(st.sampled_from([lo, lo + 1, -1, 0, 1, hi - 1, hi]), st.integers(lo, hi))


def mostly(value, one_in):
    """``value`` (0 or 1) except in about one draw in ``one_in``."""
    return st.integers(0, one_in - 1).map(lambda k: value if k else 1 - value)


def accumulation_runs(w_bits, a_bits):
    """Rows (w, a, valid, first, rst) in runs of one extreme-weighted step repeated 1 to 24 times: long enough
    runs of large products reach the accumulator's limits; ``first`` and ``rst`` act on a run's first row."""
    run = st.tuples(extreme_ints(-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1),
                    extreme_ints(-(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1),
                    mostly(1, 8), mostly(0, 4), mostly(0, 8), st.sampled_from([1, 3, 8, 24]))
    return st.lists(run, min_size=1, max_size=12).map(
        lambda runs: [(w, a, valid, first * (k == 0), rst * (k == 0)) for w, a, valid, first, rst, n in runs
                      for k in range(n)])


@settings(max_examples=60)
@given(data=st.data(), name=st.sampled_from(["int8xint8", "int4xint8", "int4xint4", "dint4xint8"]),
       overflow=st.sampled_from(mac.OVERFLOW_RULES), headroom=st.integers(0, 3), pipeline=st.integers(0, 1))
def test_extreme_accumulation_sequences(data, name, overflow, headroom, pipeline):
    d = generators.defaults(name)
    product_bits = d["w_bits"] + d["a_bits"] + d.get("special_shift", 0)
    steps = data.draw(accumulation_runs(d["w_bits"], d["a_bits"]))
    component = generators.build(name, overflow=overflow, acc_bits=product_bits + headroom, pipeline=pipeline)
    inputs = {k: np.array(col, dtype=np.int64) for k, col in zip(("w", "a", "valid", "first", "rst"), zip(*steps))}
    bad = golden.mismatches(corners.expected(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


@settings(max_examples=30)
@given(data=st.data(), block=st.sampled_from([1, 3, 8]), scale_format=st.sampled_from(["e8m0", "e5m2", "e4m3"]),
       asym=st.tuples(st.booleans(), st.booleans()), datapath=st.sampled_from(["signed", "magnitude"]))
def test_extreme_blocks(data, block, scale_format, asym, datapath):
    n_a, n_w = 1 + asym[0], 1 + asym[1]
    cycles = data.draw(st.integers(1, 10))
    lanes = st.one_of(st.sampled_from([0, 7, 8, 15, 1, 9]), st.integers(0, 15))
    blocks = st.one_of(st.lists(lanes, min_size=block, max_size=block), lanes.map(lambda c: [c] * block))
    scale_codes = sorted({int(c) for codes in coverage.scale_classes(GOLDEN_SCALE[scale_format]).values()
                          for c in (codes[0], codes[-1])})
    scale = st.one_of(st.sampled_from(scale_codes), st.integers(0, 255))
    rows = data.draw(st.lists(st.tuples(blocks, blocks, st.lists(scale, min_size=n_a, max_size=n_a),
                                        st.lists(scale, min_size=n_w, max_size=n_w), mostly(1, 6), mostly(0, 8)),
                              min_size=cycles, max_size=cycles))
    inputs = {k: np.array(col, dtype=np.int64) for k, col in zip(("a", "w", "a_scale", "w_scale", "valid", "rst"),
                                                                 zip(*rows))}
    pipeline = data.draw(st.integers(0, 2 if scale_format == "e8m0" else 3))
    component = generators.build("amxfp4", block=block, scale_format=scale_format, a_asymmetric=asym[0],
                                 w_asymmetric=asym[1], pipeline=pipeline, datapath=datapath)
    bad = golden.mismatches(corners.expected(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad
