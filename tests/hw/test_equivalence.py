"""RTL vs golden model, bit for bit: every generator in Amaranth's simulator and, from its exported
Verilog, in Icarus Verilog, on exhaustive operand vectors, hypothesis-drawn accumulation sequences
and block scales, and random PE-array streams. A deliberately broken golden model must be caught.

Icarus tests skip when ``iverilog`` is missing, unless DSE_REQUIRE_ICARUS=1 (set by ``.ci/run``;
the rule is in ``tests/hw/conftest.py``).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw import generators, golden, icarus, pysim, stimuli
from sim.models.pes import PES
from sim.numerics import mac

UNITS = list(PES)


def simulate(route, component, inputs, tmp_path):
    return pysim.run(component, inputs) if route == "pysim" else icarus.run(component, inputs, tmp_path)


def assert_equivalent(route, component, inputs, tmp_path):
    bad = golden.mismatches(golden.outputs(component, inputs), simulate(route, component, inputs, tmp_path))
    assert not any(bad.values()), f"{route}: mismatching cycles per output {bad}"


@pytest.mark.parametrize("name", UNITS)
def test_exhaustive_pysim(name, tmp_path):
    component = generators.build(name)
    inputs = stimuli.exhaustive(component)
    assert_covers_every_operand_code(component, inputs)
    assert_equivalent("pysim", component, inputs, tmp_path)


def assert_covers_every_operand_code(component, inputs):
    if "block" in vars(component):
        for lane in range(component.block):
            assert len(set(zip(inputs["a"][:, lane], inputs["w"][:, lane]))) == 256
        for port, n in (("a_scale", component.n_a), ("w_scale", component.n_w)):
            assert all(len(set(inputs[port][:, i])) == 256 for i in range(n))
    else:
        assert len(set(zip(inputs["w"], inputs["a"]))) == 2 ** (component.w_bits + component.a_bits)
        sequences = np.diff(np.flatnonzero(np.r_[inputs["first"], 1]))
        assert sequences.min() >= 8  # products are also accumulated, never only loaded


@pytest.mark.cosim
@pytest.mark.parametrize("name", UNITS)
def test_exhaustive_icarus(name, tmp_path, require_icarus):
    component = generators.build(name)
    assert_equivalent("icarus", component, stimuli.exhaustive(component), tmp_path)


# ---- the test can fail: a golden model broken on a single operand pair is caught ---------------

def _broken_product(w, a, weight_format="int", special_shift=1):
    good = _good_product(w, a, weight_format, special_shift)
    return good + ((np.asarray(w) == 3) & (np.asarray(a) == -5))


def _broken_half_units(codes):
    units = _good_half_units(codes)
    return np.where(np.asarray(codes) == 0b0101, units + 1, units)  # E2M1 3.0 read as 3.5


_good_product, _good_half_units = mac.product, mac.e2m1_half_units


@pytest.mark.parametrize("route", ["pysim", pytest.param("icarus", marks=pytest.mark.cosim)])
@pytest.mark.parametrize("name", UNITS)
def test_broken_golden_model_is_caught(name, route, tmp_path, monkeypatch, request):
    if route == "icarus":
        request.getfixturevalue("require_icarus")
    component = generators.build(name)
    inputs = stimuli.exhaustive(component)
    got = simulate(route, component, inputs, tmp_path)
    assert not any(golden.mismatches(golden.outputs(component, inputs), got).values())
    monkeypatch.setattr(mac, "product", _broken_product)
    monkeypatch.setattr(mac, "e2m1_half_units", _broken_half_units)
    assert any(golden.mismatches(golden.outputs(component, inputs), got).values())


# ---- hypothesis: accumulation sequences (overflow rules at narrow accumulators) and block scales ---

def _sequences(w_bits, a_bits):
    w = st.integers(-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1)
    a = st.integers(-(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1)
    step = st.tuples(w, a, st.booleans(), st.booleans())  # w, a, valid, first
    return st.lists(step, min_size=1, max_size=80)


@settings(max_examples=40)
@given(data=st.data(), name=st.sampled_from(["int8xint8", "int4xint8", "int4xint4", "dint4xint8"]),
       overflow=st.sampled_from(mac.OVERFLOW_RULES), headroom=st.integers(0, 4))
def test_accumulation_sequences(data, name, overflow, headroom):
    defaults = generators.defaults(name)
    product_bits = defaults["w_bits"] + defaults["a_bits"] + defaults.get("special_shift", 0)
    steps = data.draw(_sequences(defaults["w_bits"], defaults["a_bits"]))
    component = generators.build(name, overflow=overflow, acc_bits=product_bits + headroom)
    w, a, valid, first = (np.array(col, dtype=np.int64) for col in zip(*steps))
    inputs = {"w": w, "a": a, "valid": valid, "first": first}
    bad = golden.mismatches(golden.outputs(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


@settings(max_examples=40)
@given(data=st.data(), name=st.sampled_from(["mxfp4", "amxfp4"]), block=st.sampled_from([1, 2, 8, 32]),
       scale_format=st.sampled_from(["e8m0", "e5m2", "e4m3"]), asym=st.tuples(st.booleans(), st.booleans()))
def test_block_scales(data, name, block, scale_format, asym):
    n_a, n_w = 1 + asym[0], 1 + asym[1]
    cycles = data.draw(st.integers(1, 12))
    codes = st.lists(st.integers(0, 15), min_size=cycles * block, max_size=cycles * block)
    scales = lambda n: st.lists(st.integers(0, 255), min_size=cycles * n, max_size=cycles * n)  # noqa: E731
    inputs = {"a": np.array(data.draw(codes)).reshape(cycles, block),
              "w": np.array(data.draw(codes)).reshape(cycles, block),
              "a_scale": np.array(data.draw(scales(n_a))).reshape(cycles, n_a),
              "w_scale": np.array(data.draw(scales(n_w))).reshape(cycles, n_w),
              "valid": np.ones(cycles, np.int64)}
    component = generators.build(name, block=block, scale_format=scale_format,
                                 a_asymmetric=asym[0], w_asymmetric=asym[1])
    bad = golden.mismatches(golden.outputs(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


# ---- PE arrays of every unit ---------------------------------------------------------------------

@pytest.mark.parametrize("route", ["pysim", pytest.param("icarus", marks=pytest.mark.cosim)])
@pytest.mark.parametrize("pe", UNITS)
def test_pe_array_random_streams(pe, route, tmp_path, request):
    if route == "icarus":
        request.getfixturevalue("require_icarus")
    block = {"block": 4} if PES[pe].is_block else {}
    array = generators.build("pe_array", pe=pe, rows=2, cols=3, **block)
    inputs = stimuli.random(array, np.random.default_rng(7), cycles=24)
    assert_equivalent(route, array, inputs, tmp_path)


# ---- pipelined units and the magnitude datapath, from their exported Verilog ---------------------

@pytest.mark.cosim
@pytest.mark.parametrize("name,params", [("dint4xint8", {"pipeline": 1}),
                                         ("amxfp4", {"block": 4, "pipeline": 3, "datapath": "magnitude"}),
                                         ("mxfp4", {"block": 4, "pipeline": 2, "datapath": "magnitude"})])
def test_pipelined_variants_icarus(name, params, tmp_path, require_icarus):
    component = generators.build(name, **params)
    assert_equivalent("icarus", component, stimuli.exhaustive(component), tmp_path)
