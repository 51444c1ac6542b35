"""Golden multiply-accumulate models on hardware codes: what each MAC unit in ``hw/`` must compute, bit for bit.

Two families, both exact integer arithmetic on numpy int64 arrays (vectorized over a batch):

**Sequential integer MACs** (``int_mac``): a weight code w and an activation code a per step,
acc <- (first ? 0 : acc) + product(w, a), held in a two's-complement register of ``acc_bits``.
``overflow="wrap"`` keeps the low ``acc_bits`` bits of every sum (what a plain adder does);
``"saturate"`` clamps every sum to the register's range (order-dependent, so it is stepped).
Products by weight format:
- ``int`` (INT4/INT8 weights): w * a.
- ``dint4``: codes -7..6 give (w * a) << k; the special codes give +-a (the value +-2^-k times a,
  counted in units of 2^-k), so the accumulator carries k fraction bits and no LSB is dropped
  (``codes`` states the code map; k = ``special_shift``).

**Block dot products** (``block_dot``): one block of E2M1 elements per operand, with shared scales,
as in MX and AMXFP4 hardware. E2M1 magnitudes are integers in half units (0,1,2,3,4,6,8,12), so
element products are integers in quarter units, summed exactly per partial sum. A symmetric
operand (MX) has one scale; an asymmetric one (AMXFP4) has s+ and s-, and each element's sign bit
steers its product to the partial sum of its scale (2 partial sums with one asymmetric operand, 4
with two). Each partial sum leaves the unit as one *term*: mantissa = psum * Ma * Mw and exponent
= Ea + Ew - 2, where a scale is M * 2^E with an integer mantissa M (E5M2: 3 bits, E4M3: 4 bits,
E8M0: M = 1). The block's value is sum(mantissa * 2^exponent); adding terms of different blocks
(the cross-block accumulation, usually in FP32) is outside the unit and costed by the array model.
NaN/Inf scale codes are not modelled (their bits pass through as exponents).
"""

from __future__ import annotations

import numpy as np

from sim.errors import NumericsError
from sim.numerics.codes import DINT4_NEG_CODE, DINT4_POS_CODE
from sim.numerics.minifloat import E2M1, FloatFormat

OVERFLOW_RULES = ("wrap", "saturate")
E2M1_HALF_UNITS = (2 * E2M1.code_table[:8]).astype(np.int64)  # |E2M1 value| * 2 by magnitude code: 0,1,2,3,4,6,8,12


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement value of the low ``bits`` bits of ``x``."""
    unused = 64 - bits  # shifted out, then sign-extended back: exact for every width up to 64
    return (np.asarray(x, dtype=np.int64) << unused) >> unused


def product(w: np.ndarray, a: np.ndarray, weight_format: str = "int", special_shift: int = 1) -> np.ndarray:
    """Integer products of weight and activation codes (dINT4: in units of 2^-special_shift)."""
    w, a = np.asarray(w, dtype=np.int64), np.asarray(a, dtype=np.int64)
    if weight_format == "int":
        return w * a
    if weight_format == "dint4":
        return np.where(w == DINT4_POS_CODE, a, np.where(w == DINT4_NEG_CODE, -a, (w * a) << special_shift))
    raise NumericsError(f"weight_format: got {weight_format!r}; allowed: int, dint4")


def int_mac(w: np.ndarray, a: np.ndarray, first: np.ndarray, acc_bits: int, overflow: str = "wrap",
            weight_format: str = "int", special_shift: int = 1, valid: np.ndarray | None = None) -> np.ndarray:
    """Accumulator after every step of sequences (batch, steps); ``first`` restarts the sum at that step,
    a step that is not ``valid`` (default: all are) leaves the accumulator as it was."""
    if overflow not in OVERFLOW_RULES:
        raise NumericsError(f"overflow: got {overflow!r}; allowed: {', '.join(OVERFLOW_RULES)}")
    p = product(w, a, weight_format, special_shift)
    first = np.asarray(first, dtype=bool)
    valid = np.ones(p.shape, dtype=bool) if valid is None else np.broadcast_to(np.asarray(valid, dtype=bool), p.shape)
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    acc = np.zeros(p.shape[:-1], dtype=np.int64)
    out = np.empty_like(p)
    with np.errstate(over="ignore"):  # a 64-bit sum may wrap in int64; its low bits stay exact
        for t in range(p.shape[-1]):
            base, pt = np.where(first[..., t], 0, acc), p[..., t]
            s = base + pt
            if overflow == "saturate":  # compared without forming the (possibly wrapped) sum
                s = np.where(base > hi - np.maximum(pt, 0), hi, np.where(base < lo - np.minimum(pt, 0), lo, s))
            acc = np.where(valid[..., t], wrap(s, acc_bits), acc)
            out[..., t] = acc
    return out


def scale_parts(codes: np.ndarray, fmt: FloatFormat | None) -> tuple[np.ndarray, np.ndarray]:
    """Integer mantissa M and exponent E of scale codes, value M * 2^E (``fmt`` None: E8M0)."""
    codes = np.asarray(codes, dtype=np.int64)
    if fmt is None:
        return np.ones_like(codes), codes - 127
    e = (codes >> fmt.mbits) & ((1 << fmt.ebits) - 1)
    m = codes & ((1 << fmt.mbits) - 1)
    mant = np.where(e == 0, m, m | (1 << fmt.mbits))
    return mant, np.maximum(e, 1) - fmt.bias - fmt.mbits


def e2m1_half_units(codes: np.ndarray) -> np.ndarray:
    """Signed E2M1 values times 2 (exact integers)."""
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes & 8, -1, 1) * E2M1_HALF_UNITS[codes & 7]


def block_dot(a: np.ndarray, w: np.ndarray, a_scales: tuple, w_scales: tuple,
              scale_format: FloatFormat | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Terms (mantissas, exponents), each (..., n_terms), of the dot product of E2M1 code blocks (..., block).

    ``a_scales`` / ``w_scales``: (s,) for a symmetric operand or (s+, s-) for an asymmetric one,
    each an array of scale codes broadcastable to (...,). Terms are ordered (a side, w side) with
    side 0 = sign bit clear (s+), 1 = sign bit set (s-).
    """
    a, w = np.asarray(a, dtype=np.int64), np.asarray(w, dtype=np.int64)
    if a.shape != w.shape:
        raise NumericsError(f"w: shape {w.shape} differs from a's {a.shape}; allowed: equal block shapes")
    p = e2m1_half_units(a) * e2m1_half_units(w)
    a_side = (a >> 3) & 1 if len(a_scales) == 2 else np.zeros_like(a)
    w_side = (w >> 3) & 1 if len(w_scales) == 2 else np.zeros_like(w)
    mants, exps = [], []
    for i, sa in enumerate(a_scales):
        ma, ea = scale_parts(sa, scale_format)
        for j, sw in enumerate(w_scales):
            mw, ew = scale_parts(sw, scale_format)
            psum = np.sum(np.where((a_side == i) & (w_side == j), p, 0), axis=-1)
            mants.append(psum * ma * mw)
            exps.append(np.broadcast_to(ea + ew - 2, psum.shape))
    return np.stack(mants, axis=-1), np.stack(exps, axis=-1)


def terms_value(mants: np.ndarray, exps: np.ndarray) -> np.ndarray:
    """Float value of block-dot terms (exact while the terms fit float64)."""
    return np.sum(np.ldexp(mants.astype(np.float64), exps), axis=-1)

