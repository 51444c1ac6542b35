"""Golden MAC models and hardware codes: codes decode to ``fake_quantize``'s values, MACs equal exact arithmetic."""

import numpy as np
import pytest
from float32_strategies import blocks, note_classes
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import NumericsError
from sim.numerics import fake_quantize
from sim.numerics.codes import amxfp4_codes, dint4_codes, dint4_decode, int_codes, mx_codes
from sim.numerics.mac import block_dot, e2m1_half_units, int_mac, product, scale_parts, terms_value, wrap
from sim.numerics.minifloat import E2M1, E4M3, E5M2

pytestmark = pytest.mark.numba  # MX codes come from the MX kernel

RNG = np.random.default_rng(7)
X = RNG.standard_t(3, size=(6, 128)) * np.exp2(RNG.integers(-20, 20, size=(6, 1)))


def test_int_and_dint_codes_decode_to_fake_quantize():
    q, s = int_codes(X, 4, "group", 32)
    assert np.array_equal((q * s).reshape(X.shape), fake_quantize(X, "int4", granularity="group", block=32))
    assert q.min() >= -8 and q.max() <= 7
    for shift in (1, 2):
        c, s = dint4_codes(X, "group", 32, special_shift=shift)
        levels = (*range(-7, 0), -2.0**-shift, 0, 2.0**-shift, *range(1, 7))
        assert np.array_equal((dint4_decode(c, shift) * s).reshape(X.shape),
                              fake_quantize(X, "dint4", granularity="group", block=32, levels=levels))
    assert {-8, 7} <= set(np.unique(c).tolist())  # the special codes occur on real-looking data


def test_block_codes_decode_to_fake_quantize():
    c, e = mx_codes(X)
    assert np.array_equal((E2M1.decode(c) * np.exp2(e - 127.0)).reshape(X.shape), fake_quantize(X, "mxfp4"))
    for mode, fmt in (("e5m2", E5M2), ("e4m3", E4M3)):
        c, sp, sn = amxfp4_codes(X, scale_mode=mode)
        scale = np.where(c & 8, fmt.decode(sn), fmt.decode(sp))
        assert np.array_equal((E2M1.decode(c) * scale).reshape(X.shape), fake_quantize(X, "amxfp4", scale_mode=mode))
    c, sp, sn = amxfp4_codes(X, scale_mode="pot")
    scale = np.exp2(np.where(c & 8, sn, sp) - 127.0)
    assert np.array_equal((E2M1.decode(c) * scale).reshape(X.shape), fake_quantize(X, "amxfp4", scale_mode="pot"))


def decoded_block_codes(x: np.ndarray, scheme: str) -> np.ndarray:
    """Values of the hardware codes of ``x``: E2M1 codes times their block's scale."""
    if scheme == "mxfp4":
        c, e = mx_codes(x)
        return (E2M1.decode(c) * np.exp2(e - 127.0)).reshape(x.shape)
    c, sp, sn = amxfp4_codes(x, scale_mode=scheme)
    fmt = {"e5m2": E5M2, "e4m3": E4M3}.get(scheme)
    scale = np.exp2(np.where(c & 8, sn, sp) - 127.0) if fmt is None else np.where(c & 8, fmt.decode(sn), fmt.decode(sp))
    return (E2M1.decode(c) * scale).reshape(x.shape)


@given(x=blocks(2, 32), scheme=st.sampled_from(["mxfp4", "e5m2", "e4m3", "pot"]))
def test_block_codes_of_any_float32_blocks(x, scheme):
    """Finite float32 blocks (up to float32 max, subnormals, -0) encode exactly; NaN or inf is refused."""
    note_classes(x)
    fmt, options = ("mxfp4", {}) if scheme == "mxfp4" else ("amxfp4", {"scale_mode": scheme})
    if not np.isfinite(x).all():
        with pytest.raises(NumericsError, match="NaN or inf"):
            decoded_block_codes(x, scheme)
        return
    want = fake_quantize(x, fmt, **options)
    got = decoded_block_codes(x, scheme)
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))


def test_block_codes_reject_what_hardware_cannot_hold():
    with pytest.raises(NumericsError, match="scale_mode"):
        amxfp4_codes(X, scale_mode="fp32")
    with pytest.raises(NumericsError, match="E8M0"):
        mx_codes(np.full(32, 2.0**140))


def test_scale_parts_and_e2m1_units_match_decode():
    for fmt in (E5M2, E4M3):
        codes = np.arange(128)  # scales are positive
        finite = np.isfinite(fmt.decode(codes))
        m, e = scale_parts(codes, fmt)
        assert np.array_equal(np.ldexp(m, e)[finite], fmt.decode(codes)[finite])
    assert np.array_equal(e2m1_half_units(np.arange(16)) / 2, E2M1.code_table)


@given(st.lists(st.tuples(st.integers(-8, 7), st.integers(-128, 127), st.booleans()), min_size=1, max_size=64),
       st.integers(8, 20) | st.sampled_from([63, 64]), st.sampled_from(["wrap", "saturate"]),
       st.sampled_from(["int", "dint4"]), st.sampled_from([0, 1, 52]))
def test_int_mac_equals_exact_sequential_arithmetic(seq, acc_bits, overflow, weight_format, shift):
    w, a, first = (np.array(col) for col in zip(*seq))
    got = int_mac(w[None], a[None], first[None], acc_bits, overflow, weight_format, shift)[0]
    acc, lo, hi = 0, -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    for t, (wi, ai, fi) in enumerate(seq):
        value = float(dint4_decode(wi, shift)) * 2 ** shift if weight_format == "dint4" else wi  # in units of 2^-k
        acc = (0 if fi else acc) + int(value * ai)
        acc = ((acc - lo) % (1 << acc_bits)) + lo if overflow == "wrap" else min(max(acc, lo), hi)
        assert got[t] == acc


def test_int_mac_wrap_is_modular_sum_and_errors():
    w, a = RNG.integers(-128, 128, (50, 300)), RNG.integers(-128, 128, (50, 300))
    first = np.zeros((50, 300), bool)
    assert np.array_equal(int_mac(w, a, first, 18)[:, -1], wrap((w * a).sum(-1), 18))
    assert np.array_equal(product([7, -8, 3], [5, 5, 5], "dint4", 2), [5, -5, 60])
    with pytest.raises(NumericsError, match="overflow"):
        int_mac(w, a, first, 18, overflow="clip")
    with pytest.raises(NumericsError, match="weight_format"):
        product(w, a, "fp4")


@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), min_size=1, max_size=32),
       st.tuples(st.integers(0, 254), st.integers(0, 254)), st.tuples(st.integers(0, 254), st.integers(0, 254)),
       st.sampled_from([(None, 1, 1), (E5M2, 2, 2), (E5M2, 1, 2), (E4M3, 2, 2)]))
def test_block_dot_equals_the_dot_product_of_decoded_values(pairs, sa, sw, case):
    fmt, na, nw = case
    if fmt is not None:  # finite scale codes only
        sa, sw = tuple(s % 0x7B for s in sa), tuple(s % 0x7B for s in sw)
    a, w = (np.array(col) for col in zip(*pairs))
    mants, exps = block_dot(a, w, sa[:na], sw[:nw], fmt)
    decode = (lambda c: np.exp2(np.asarray(c) - 127.0)) if fmt is None else fmt.decode
    scale_a = decode(sa[1]) * (a >= 8) + decode(sa[0]) * (a < 8) if na == 2 else decode(sa[0])
    scale_w = decode(sw[1]) * (w >= 8) + decode(sw[0]) * (w < 8) if nw == 2 else decode(sw[0])
    want = np.sum(E2M1.decode(a) * scale_a * E2M1.decode(w) * scale_w)
    assert mants.shape == (na * nw,)
    assert terms_value(mants, exps) == pytest.approx(want, rel=1e-12, abs=0)


def test_block_dot_of_real_codes_equals_the_fake_quantized_dot_product():
    y = RNG.standard_normal(X.shape)
    ca, sa = mx_codes(X)
    cw, sw = mx_codes(y)
    m, e = block_dot(ca, cw, (sa[..., 0],), (sw[..., 0],))
    assert np.allclose(terms_value(m, e).sum(-1), (fake_quantize(X, "mxfp4") * fake_quantize(y, "mxfp4")).sum(-1),
                       rtol=1e-12, atol=0)
    ca, pa, na = amxfp4_codes(X)
    cw, pw, nw = amxfp4_codes(y)
    m, e = block_dot(ca, cw, (pa[..., 0], na[..., 0]), (pw[..., 0], nw[..., 0]), E5M2)
    assert m.shape[-1] == 4
    assert np.allclose(terms_value(m, e).sum(-1), (fake_quantize(X, "amxfp4") * fake_quantize(y, "amxfp4")).sum(-1),
                       rtol=1e-12, atol=0)
