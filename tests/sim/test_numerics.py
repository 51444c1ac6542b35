"""Golden number-format models: code tables, the spec's test vectors, nearest-value properties, NaN
and inf rules, errors."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from float32_strategies import NON_FINITE, any_float32s, blocks, finite_float32s, note_classes
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import NumericsError
from sim.numerics import FLOAT_FORMATS, bits_per_element, fake_quantize
from sim.numerics.minifloat import E2M1, E2M3, E3M2, E4M3, E5M2, round_magnitude
from sim.numerics.quantize import MX_ELEMENTS

pytestmark = pytest.mark.numba  # most tests run the MX kernel

def test_code_tables():
    assert sorted(set(np.abs(E2M1.code_table))) == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert (E4M3.max_normal, E4M3.min_subnormal) == (448, 2**-9)
    assert np.flatnonzero(np.isnan(E4M3.code_table)).tolist() == [0x7F, 0xFF]
    assert (E5M2.max_normal, E5M2.min_subnormal) == (57344, 2**-16)
    assert np.isinf(E5M2.code_table).sum() == 2 and np.isnan(E5M2.code_table).sum() == 6
    assert (E3M2.max_normal, E3M2.min_subnormal, E2M3.max_normal, E2M3.min_subnormal) == (28, 2**-4, 7.5, 2**-3)
    assert [f.emax for f in (E2M1, E4M3, E5M2, E3M2, E2M3)] == [2, 8, 15, 4, 2]


@pytest.mark.parametrize("fmt", list(FLOAT_FORMATS.values()), ids=list(FLOAT_FORMATS))
def test_codes_round_trip(fmt):
    codes = np.arange(1 << fmt.bits)
    values = fmt.decode(codes)
    finite = np.isfinite(values)
    assert np.array_equal(fmt.encode(values[finite]), codes[finite])


# (format, input, output, rounding), one block = the whole list: worked by hand on the FP4 (E2M1)
# value grid of the OCP Microscaling Formats (MX) v1.0 specification.
SPEC_VECTORS = [
    ("mxfp4", [6, .25, .75, 1.25, 1.75, 2.5, 3.5, 5, -.25, -2.5, .2, .3], [6, .5, 1, 1.5, 2, 3, 4, 6, -.5, -3, 0, .5], "away"),
    ("mxfp4", [6, .25, .75, 1.25, 1.75, 2.5, 3.5, 5, -.25, -2.5, .2, .3], [6, 0, 1, 1, 2, 2, 4, 4, -0., -2, 0, .5], "even"),
    ("mxfp4", [7, 6.9, 5.9, -7.5, .1, 1.1], [6, 6, 6, -6, 0, 1], "away"),
    ("mxfp4", [1, .3, .1, .06, -.9, .7], [1, .25, .125, 0, -1, .75], "away"),
    ("mxfp4", [1e-39, 3e-39], [0, 2**-128], "away"),
    ("mxfp4", [2**130, 1], [np.nan, np.nan], "away"),
    ("mxfp8_e4m3", [485, 475, 400, -485, -475, -450, 2**-6, -2**-6], [448, 448, 416, -448, -448, -448, 2**-6, -2**-6], "away"),
    ("mxfp8_e4m3", [300, 1, .1, 1e-3, -17.3], [288, 1, .1015625, 2**-9, -18], "away"),
    ("mxfp8_e5m2", [300, 1, .1, 1e-3, -17.3], [320, 1, .09375, 2**-10, -16], "away"),
    ("mxfp6_e3m2", [28, 13, 1.1, .3, -.07, .04], [28, 14, 1, .3125, -.0625, .0625], "away"),
    ("mxfp6_e2m3", [7.5, 7.3, 1.1, .3, -.07, .2], [7.5, 7.5, 1.125, .25, -.125, .25], "away"),
    ("mxint8", [1.99609375, 1.98828125, 0, 2**-8, 2**-7, 3 * 2**-8, -2**-6, -3 * 2**-8, -2**-7, -2**-8],
     [1.984375, 1.984375, 0, 0, 2**-6, 2**-6, -2**-6, -2**-6, -2**-6, -0.], "away"),
    ("mxint8", [100, 1, -37.3, .4], [100, 1, -37, 0], "away"),
]


@pytest.mark.parametrize("fmt, x, want, rounding", SPEC_VECTORS)
def test_mx_spec_vectors(fmt, x, want, rounding):
    y = fake_quantize(x, fmt, block=len(x), rounding=rounding)
    want = np.array(want, float)
    assert np.array_equal(y, want, equal_nan=True)
    assert np.array_equal(np.signbit(y[~np.isnan(y)]), np.signbit(want[~np.isnan(want)]))


def test_amxfp4_worked_vector():
    x = [5, 0.9, 0.3, -0.4, 0.05, 2.2, -1.0, 0.6]
    assert fake_quantize(x, "mxfp4", block=8, rounding="away").tolist() == [6, 1, .5, -.5, 0, 2, -1, .5]
    assert fake_quantize(x, "amxfp4", block=8).tolist() == [5.25, 0.875, 0.4375, -0.46875, 0, 2.625, -0.9375, 0.4375]
    assert fake_quantize(x, "amxfp4", block=8, scale_mode="pot").tolist() == [6, 1, .5, -.375, 0, 2, -1, .5]


@pytest.mark.parametrize("fmt", list(FLOAT_FORMATS.values()), ids=list(FLOAT_FORMATS))
@given(x=any_float32s)
def test_quantize_is_nearest_representable(fmt, x):
    """Saturating: +-inf gives +-max_normal; NaN stays NaN; the sign (also of zero) is kept."""
    note_classes(np.array([x]))
    for rounding in ("even", "away"):
        q = float(fmt.quantize(np.array([x]), rounding)[0])
        if np.isnan(x):
            assert np.isnan(q)
            continue
        values = fmt.code_table[np.isfinite(fmt.code_table)]
        target = np.clip(x, -fmt.max_normal, fmt.max_normal)  # saturation
        assert q in values and abs(q - target) == np.min(np.abs(values - target))
        assert np.signbit(q) == np.signbit(x)


@pytest.mark.parametrize("x, even, away, floor", [
    (0.25, 0, 0.5, 0), (0.75, 1, 1, 0.5), (1.25, 1, 1.5, 1), (2.5, 2, 3, 2), (5, 4, 6, 4), (1.9, 2, 2, 1.5),
])
def test_ties_follow_the_rounding_rule(x, even, away, floor):
    for sign in (1, -1):
        got = [E2M1.quantize(np.array([sign * x]), r)[0] for r in ("even", "away", "floor")]
        assert got == [sign * even, sign * away, sign * floor]


def test_bits_per_element_include_scales():
    assert [bits_per_element(f) for f in ("mxfp4", "mxfp6_e3m2", "mxfp8_e4m3", "mxint8", "nvfp4", "amxfp4")] == \
        [4.25, 6.25, 8.25, 8.25, 4.5, 4.5]


def test_integer_quantizers():
    x = np.array([[1.0, -0.5, 0.26, 0.0], [10.0, 5.0, -2.5, 1.0]])
    y = fake_quantize(x, "int8", granularity="channel")
    assert np.allclose(y[0], np.round(x[0] * 127) / 127) and np.allclose(y[1], np.round(x[1] / 10 * 127) * 10 / 127)
    assert np.array_equal(fake_quantize([7.0, 3.4, -7.0], "int4"), [7, 3, -7])
    asym = fake_quantize([0.0, 1.0, 3.0], "int", bits=2, symmetric=False)
    assert np.allclose(asym, [0, 1, 3])
    g = fake_quantize(np.arange(8.0), "int4", granularity="group", block=4)
    assert np.allclose(g[:4], np.round(np.arange(4) / 3 * 7) * 3 / 7)


def test_dint4_levels():
    # amax 7 gives scale 1: 0.2 -> 0, 0.3 -> 1/2, 0.74 -> 1/2, 0.76 -> 1, 7 clamps at +6, ties toward zero.
    y = fake_quantize([0.2, 0.3, 0.74, 0.76, -7.0, 7.0, 0.25, -0.75], "dint4", granularity="tensor")
    assert y.tolist() == [0, 0.5, 0.5, 1, -7, 6, 0, -0.5]


def test_format_ordering_on_gaussian_and_outlier_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(131072)
    rel = {f: np.mean((fake_quantize(x, f) - x) ** 2) / np.var(x) for f in ("mxfp4", "amxfp4", "nvfp4")}
    assert rel["nvfp4"] < rel["amxfp4"] < rel["mxfp4"] and rel["mxfp4"] == pytest.approx(0.0131, rel=0.05)
    x[rng.choice(len(x), 262, replace=False)] *= 30
    rel = {f: np.mean((fake_quantize(x, f) - x) ** 2) / np.var(x) for f in ("mxfp4", "amxfp4")}
    assert rel["amxfp4"] < 0.5 * rel["mxfp4"]


@pytest.mark.parametrize("call, message", [
    (lambda: fake_quantize([1.0], "mxfp3"), "format: got 'mxfp3'; allowed: int8"),
    (lambda: fake_quantize(np.ones(40), "mxfp4"), "block: got 32; allowed: a divisor of the last axis length 40"),
    (lambda: fake_quantize(np.ones(8), "mxfp4", block=0), "block: got 0; allowed: a positive integer"),
    (lambda: fake_quantize([1.0], "int", bits=17), "bits: got 17; allowed: an integer from 2 to 16"),
    (lambda: fake_quantize([1.0], "int8", rounding="up"), "rounding: got 'up'"),
    (lambda: fake_quantize([1.0], "int8", granularity="row"), "granularity: got 'row'"),
    (lambda: fake_quantize(np.ones(32), "mxfp4", scale_mode="ceil"), "scale_mode: got 'ceil'; allowed: floor"),
    (lambda: fake_quantize(np.ones(32), "amxfp4", scale_mode="e3m4"), "scale_mode: got 'e3m4'"),
    (lambda: fake_quantize(np.ones(32), "nvfp4", rounding="away"), "nvfp4: got an unexpected keyword argument 'rounding'"),
])
def test_bad_options_give_one_clear_error(call, message):
    with pytest.raises(NumericsError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)


def elementwise_mx(x: np.ndarray, fmt: str, rounding: str, min_divisor_exp: int) -> np.ndarray:
    """MX by the OCP MX v1.0 rule, one numpy step at a time (rows of ``x`` are blocks): shared exponent
    floor(log2 amax) - emax_elem (all-zero: any), clamped below at -127; NaN blocks: NaN or inf inside,
    or a shared exponent above 127; elements divided by 2^max(shared, min_divisor_exp)."""
    elem = MX_ELEMENTS[fmt]
    amax = np.max(np.abs(x), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        shared = np.floor(np.log2(np.where(amax == 0, 1.0, amax))) - (elem.emax if elem else 0)
    nan_block = ~np.isfinite(shared) | (shared > 127) | ~np.all(np.isfinite(x), axis=-1, keepdims=True)
    shared = np.clip(np.nan_to_num(shared), -127, 127)
    with np.errstate(invalid="ignore"):
        r = x / np.exp2(np.maximum(shared, min_divisor_exp))
        if elem is None:  # MXINT8: 1 sign, 1 integer and 6 fraction bits, +-127/64 at most
            q = np.copysign(np.minimum(round_magnitude(np.abs(r) * 64, rounding), 127) / 64, r)
        else:
            q = elem.quantize(r, rounding)
    return np.where(nan_block, np.nan, q * np.exp2(shared))


def assert_same_floats(got: np.ndarray, want: np.ndarray) -> None:
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))


@pytest.mark.parametrize("fmt", list(MX_ELEMENTS))
@pytest.mark.parametrize("rounding", ["even", "away", "floor"])
def test_mx_kernel_matches_the_elementwise_reference(fmt, rounding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32)) * np.exp2(rng.integers(-140, 140, size=(64, 1)))  # tiny to huge blocks
    x[0] = 0.0
    x[1, :5] = -0.0
    x[2, 3] = np.nan
    x[3] = rng.standard_normal(32) * 2.0**-140  # float64 values below the E8M0 range
    x[4, 7], x[5, 0], x[6, 31] = np.inf, -np.inf, np.nan
    x[7] = 2.0**1023  # float64's exponent range, far above E8M0's
    x[8] = 5e-324  # float64 subnormals
    got = fake_quantize(x, fmt, rounding=rounding)
    assert np.isnan(got[[2, 4, 5, 6, 7]]).all() and np.isfinite(got[[0, 1, 3, 8]]).all()
    assert_same_floats(got, elementwise_mx(x, fmt, rounding, -126))  # torchao's min scale
    assert_same_floats(fake_quantize(x, fmt, rounding=rounding, min_scale="exact"),
                       elementwise_mx(x, fmt, rounding, -127))


@given(x=blocks(2, 32), fmt=st.sampled_from(list(MX_ELEMENTS)), rounding=st.sampled_from(["even", "away", "floor"]),
       min_scale=st.sampled_from([("torchao", -126), ("exact", -127)]))
def test_mx_matches_the_elementwise_reference_on_any_float32_block(x, fmt, rounding, min_scale):
    note_classes(x)
    got = fake_quantize(x, fmt, rounding=rounding, min_scale=min_scale[0])
    assert_same_floats(got, elementwise_mx(x, fmt, rounding, min_scale[1]))


# -- NaN and +-inf: the documented results (sim.numerics.quantize) -----------------------------------

@pytest.mark.parametrize("special", NON_FINITE)
@pytest.mark.parametrize("fmt, options, finite_block", [
    *((fmt, {}, 1.0) for fmt in MX_ELEMENTS),  # 1 is exact in every MX element format
    ("amxfp4", {"scale_mode": "e5m2"}, 0.9375),  # s+ = E5M2(1/6, ties away) = 0.15625; 1 / s+ = 6.4 -> 6
    ("amxfp4", {"scale_mode": "e4m3"}, 1.03125),  # s+ = E4M3(1/6) = 0.171875; 1 / s+ = 5.8 -> 6
    ("amxfp4", {"scale_mode": "fp32"}, 1.0),  # s+ = 1/6
    ("amxfp4", {"scale_mode": "pot"}, 1.0),  # s+ = 2^(0 - 2)
])
def test_a_block_holding_nan_or_inf_is_all_nan(fmt, options, finite_block, special):
    x = np.ones((3, 32))
    x[0, 5] = special
    x[2, 31] = special
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a documented result, not an accident of NaN arithmetic
        y = fake_quantize(x, fmt, **options)
    assert np.isnan(y[[0, 2]]).all()
    assert (y[1] == finite_block).all()  # other blocks are untouched


@pytest.mark.parametrize("special", NON_FINITE)
def test_nvfp4_with_nan_or_inf_anywhere_is_all_nan(special):
    x = np.ones((2, 32))
    x[1, 31] = special
    assert np.isnan(fake_quantize(x, "nvfp4")).all()
    assert (fake_quantize(np.ones((2, 32)), "nvfp4") == 1).all()  # without it: block scale 448 / 2688 = 1/6


@given(x=blocks(2, 16), fmt=st.sampled_from(["nvfp4", "amxfp4"]))
def test_nvfp4_and_amxfp4_on_any_float32_block(x, fmt):
    """NaN rule as documented; finite blocks: finite, sign kept (also of zero), order kept within a block."""
    note_classes(x)
    y = fake_quantize(x, fmt, block=16)
    bad = ~np.all(np.isfinite(x), axis=-1)
    if fmt == "nvfp4":
        bad[:] = bad.any()
    assert np.isnan(y[bad]).all()
    good_x, good_y = x[~bad], y[~bad]
    assert np.isfinite(good_y).all() and np.array_equal(np.signbit(good_y), np.signbit(good_x))
    order = np.argsort(good_x, axis=-1, kind="stable")
    assert (np.diff(np.take_along_axis(good_y, order, axis=-1), axis=-1) >= 0).all()


@given(x=blocks(1, 32, finite_float32s))
def test_finite_float32_blocks_give_finite_mx(x):
    assert np.isfinite(fake_quantize(x, "mxfp4")).all()  # float32 max is within E8M0's reach


def test_importing_the_package_leaves_numba_unloaded():
    """``import sim.trace`` (every CLI call) must not pay numba's import; the MX kernel loads on first use."""
    code = "import sys, sim.trace; print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
