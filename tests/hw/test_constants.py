"""The RTL's own format constants (derived from each unit's parameters) agree with the golden
model's tables (``sim.numerics``) and with the published values, written out here as literals."""

import numpy as np

from hw import block_dot, generators, int_mac
from sim.numerics import codes, mac, minifloat

# OCP Microscaling Formats (MX) v1.0, FP4 E2M1 table: magnitudes of codes 0b000..0b111
E2M1_MAGNITUDES = (0, 0.5, 1, 1.5, 2, 3, 4, 6)
# OCP MX v1.0, E8M0 scale: 8-bit biased exponent, bias 127 (code 0x7F = 2^0)
E8M0_BIAS = 127
# OCP 8-bit Floating Point Specification (OFP8) v1.0, Table 1: exponent bits, mantissa bits, bias
FP8 = {"e5m2": (5, 2, 15), "e4m3": (4, 3, 7)}
# AMXFP4 (Lee et al., ACL 2025 Findings) worked block, scales cast to E5M2: 0x3B = 0.875, 0x31 = 0.15625
E5M2_SCALE_CODES = {0x3B: 0.875, 0x31: 0.15625}
# dINT4 code map (the extreme INT4 codes +7 / -8 hold +2^-k / -2^-k), an assumption stated in
# sim.numerics.codes: the code map of Lee et al. (EMNLP 2023) is not published
DINT4_SPECIAL_CODES = (7, -8)


def _scale_value(fmt, code: int) -> float:
    """A sign-less minifloat scale code's value from an (ebits, mbits, bias) table entry."""
    ebits, mbits, bias = fmt
    e, m = code >> mbits & ((1 << ebits) - 1), code & ((1 << mbits) - 1)
    return (m if e == 0 else m | 1 << mbits) * 2.0 ** (max(e, 1) - bias - mbits)


def test_rtl_constants_match_the_golden_tables_and_the_published_values():
    rtl_units = block_dot.e2m1_half_units()
    assert rtl_units == tuple(int(v) for v in mac.E2M1_HALF_UNITS) == tuple(int(2 * v) for v in E2M1_MAGNITUDES)
    assert np.array_equal(minifloat.E2M1.code_table[:8], E2M1_MAGNITUDES)

    assert block_dot.E8M0_BIAS == codes.E8M0_BIAS == E8M0_BIAS

    for name, published in FP8.items():
        rtl = block_dot.SCALE_FORMATS[name]
        golden = {"e5m2": minifloat.E5M2, "e4m3": minifloat.E4M3}[name]
        assert (rtl.ebits, rtl.mbits, rtl.bias) == (golden.ebits, golden.mbits, golden.bias) == published
    rtl_e5m2 = block_dot.SCALE_FORMATS["e5m2"]
    for code, value in E5M2_SCALE_CODES.items():
        assert _scale_value((rtl_e5m2.ebits, rtl_e5m2.mbits, rtl_e5m2.bias), code) == value
        assert minifloat.E5M2.decode(code) == value

    dint4 = generators.build("dint4xint8")
    assert dint4.special_codes == (codes.DINT4_POS_CODE, codes.DINT4_NEG_CODE) == DINT4_SPECIAL_CODES

    assert int_mac.OVERFLOW_RULES == mac.OVERFLOW_RULES
