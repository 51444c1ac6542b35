"""dINT4 ``special_shift`` at its bounds: 0 (the special codes are +-a, no fraction bit) and the
widest shift whose product fits 64 bits are built and bit-exact; one beyond is one clear line."""

import numpy as np
import pytest

from hw import generators, golden, pysim, stimuli
from sim.errors import ConfigError
from sim.numerics import mac
from sim.numerics.codes import dint4_decode

WIDEST = 64 - 4 - 8  # dint4xint8: w_bits + a_bits + special_shift <= 64


def _exact(component, inputs):
    bad = golden.mismatches(golden.outputs(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


def test_shift_zero_is_bit_exact_and_its_golden_matches_the_decoded_values():
    component = generators.build("dint4xint8", special_shift=0)
    inputs = stimuli.exhaustive(component)
    _exact(component, inputs)
    w, a = inputs["w"], inputs["a"]
    assert np.array_equal(mac.product(w, a, "dint4", 0), dint4_decode(w, 0) * a)  # +-2^0 * a, integers


def _python_mac(products, acc_bits, overflow):
    """Reference accumulation in Python integers (no int64 limits); dINT4 codes 7 / -8 are +-2^-k."""
    acc, out, lo, hi = 0, [], -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    for p in products:
        s = acc + int(p)
        acc = min(max(s, lo), hi) if overflow == "saturate" else (s - lo) % (1 << acc_bits) + lo
        out.append(acc)
    return out


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_widest_shift_builds_and_is_bit_exact_at_64_bits(overflow):
    component = generators.build("dint4xint8", special_shift=WIDEST, acc_bits=64, overflow=overflow)
    w = np.array([6, 6, 6, -7, 7, -8, -7, -7, -7, 5])  # runs to +2^63 and back past -2^63
    a = np.array([127, 127, 127, 127, -128, 127, -128, -128, -128, 1])
    inputs = {"w": w, "a": a, "valid": np.ones(len(w), np.int64), "first": (np.arange(len(w)) == 0).astype(np.int64)}
    products = [x if c == 7 else -x if c == -8 else (c * x) << WIDEST for c, x in zip(w.tolist(), a.tolist())]
    want = _python_mac(products, 64, overflow)
    assert mac.int_mac(w, a, inputs["first"], 64, overflow, "dint4", WIDEST).tolist() == want
    assert want[2] == {"wrap": sum(products[:3]) - (1 << 64), "saturate": (1 << 63) - 1}[overflow]  # it overflows
    _exact(component, inputs)


@pytest.mark.parametrize("shift", [WIDEST + 1, -1])
def test_shift_out_of_range_is_one_line(shift):
    with pytest.raises(ConfigError) as error:
        generators.build("dint4xint8", special_shift=shift, acc_bits=64)
    assert str(error.value) == (f"dint4xint8.special_shift: got {shift}; allowed: an integer from 0 to {WIDEST} "
                                "(the shifted product fits 64 bits)")
