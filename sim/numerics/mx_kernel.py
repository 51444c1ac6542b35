"""Fused numba kernel for OCP MX quantize-dequantize: one pass per block computes the block's amax,
its E8M0 shared exponent and every element's rounded value (numpy would take ~14 full passes).

The rules are those of ``sim.numerics.quantize.mx`` (its docstring states them, including NaN and
+-inf inputs); the element rounding matches ``FloatFormat.quantize`` exactly, which the tests check.

Memory safety: every table index is an exponent the kernel has clamped to a range that ``POW2``
covers, whatever the input holds (NaN, +-inf, subnormals, float64 values beyond float32), and the
block length is checked against the array length before any element is read.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ROUNDING_CODES = {"even": 0, "away": 1, "floor": 2}
E8M0_MIN, E8M0_MAX = -127, 127
MXINT8_STEPS = 64.0  # 2^6: MXINT8's implicit fraction bits
MXINT8_LIMIT = 127.0
FLOAT64_MAX = float(np.finfo(np.float64).max)


@njit(cache=True)
def _round(t: float, mode: int) -> float:
    if mode == 0:
        return np.rint(t)
    if mode == 1:
        return math.floor(t + 0.5)
    return math.floor(t)


POW2_OFFSET = 300  # covers every shared (|e| <= 127) and element exponent
POW2 = np.ldexp(1.0, np.arange(-POW2_OFFSET, POW2_OFFSET + 1))  # exact powers of two, indexed by exponent
EXPONENT_MASK, MANTISSA_BITS, FLOAT64_BIAS = 0x7FF, 52, 1023


@njit(cache=True)
def mx_blocks(flat: np.ndarray, block: int, mbits: int, emin: int, max_normal: float, emax_elem: int,
              is_int: bool, mode: int, min_divisor_exp: int) -> np.ndarray:
    """Quantize-dequantize ``flat`` (float64, length a multiple of ``block``) block by block.

    A block holding NaN or +-inf, or whose shared exponent exceeds E8M0's 127, becomes all NaN
    (the E8M0 NaN scale). Otherwise floor(log2 |v|) is read from the float64 exponent field and
    clamped to [emin, emax_elem]: below emin the element format's subnormal step applies, and no
    element of a finite block exceeds 2^(emax_elem + 1) after scaling, so the upper clamp changes
    no result and only bounds the ``POW2`` index. Scaling multiplies by exact powers of two, so
    every step is exact as in the numpy reference. Elements are divided by
    2^max(shared, ``min_divisor_exp``) and multiplied back by 2^shared (see ``quantize.mx``).
    """
    if block < 1 or flat.size % block:
        raise ValueError("mx_blocks: block must be a positive divisor of the array length")
    out = np.empty_like(flat)
    cell = np.empty(1)
    cell_bits = cell.view(np.int64)
    for start in range(0, flat.size, block):
        amax = 0.0
        finite = True
        for i in range(start, start + block):
            mag = abs(flat[i])
            if not mag <= FLOAT64_MAX:  # NaN or inf
                finite = False
            elif mag > amax:
                amax = mag
        if amax == 0.0:
            amax = 2.0 ** -126
        shared = math.frexp(amax)[1] - 1 - emax_elem
        if not finite or shared > E8M0_MAX:
            out[start:start + block] = np.nan
            continue
        shared = max(shared, E8M0_MIN)
        down, up = POW2[POW2_OFFSET - max(shared, min_divisor_exp)], POW2[POW2_OFFSET + shared]
        for i in range(start, start + block):
            r = flat[i] * down
            mag = abs(r)
            if is_int:
                q = min(_round(mag * MXINT8_STEPS, mode), MXINT8_LIMIT) / MXINT8_STEPS
            else:
                cell[0] = mag
                exponent = ((cell_bits[0] >> MANTISSA_BITS) & EXPONENT_MASK) - FLOAT64_BIAS
                shift = min(max(exponent, emin), emax_elem) - mbits
                q = min(_round(mag * POW2[POW2_OFFSET - shift], mode) * POW2[POW2_OFFSET + shift], max_normal)
            out[i] = math.copysign(q, r) * up
    return out
