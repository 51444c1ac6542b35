"""Hardware codes of quantized tensors: the integer operands a MAC unit sees, and their scales.

``fake_quantize`` returns dequantized floats; these functions return what is stored and fed to the
multipliers instead, so that the golden MAC models (``sim.numerics.mac``) and the RTL work on the
same bits. Each returns codes whose decoded values times the scales equal ``fake_quantize`` of the
same input exactly (the tests check it).

- INT-b (symmetric): signed integers q and a float scale per group; value q * s.
- dINT4: 4-bit two's-complement codes. Codes -7..6 are the integers; the two codes an INT4 would
  spend on -8 and +7 hold the "denormal" levels: 0b0111 (+7) holds +2^-k, 0b1000 (-8) holds -2^-k,
  with k = ``special_shift`` (1: +-1/2, the default level set of ``quantize.dint4``). This code map
  is an assumption (the paper's is not public); it keeps ordinary codes on a plain signed
  multiplier and makes the special values a shift of the other operand.
- MX (E2M1 elements): element codes and one E8M0 scale code per block (biased exponent, 127 = 2^0).
- AMXFP4: element codes and two scale codes per block (s+ for elements > 0, s- for the rest), in
  the scale format of ``scale_mode`` (E5M2 or E4M3 codes; E8M0 for ``pot``).
"""

from __future__ import annotations

import numpy as np

from sim.errors import NumericsError
from sim.numerics.minifloat import E2M1, E4M3, E5M2, FloatFormat
from sim.numerics.quantize import (E8M0_MAX, E8M0_MIN, _amx_scale, _blocks, _groups, fake_quantize, nearest_level,
                                  symmetric_codes)

DINT4_POS_CODE, DINT4_NEG_CODE = 7, -8
E8M0_BIAS = 127
AMX_SCALE_FORMATS: dict[str, FloatFormat | None] = {"e5m2": E5M2, "e4m3": E4M3, "pot": None}  # None: E8M0


def int_codes(x: np.ndarray, bits: int = 8, granularity: str = "tensor", block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric INT-b codes (RNE, clamped to -2^(b-1)..2^(b-1)-1) and one scale per group, grouped as ``_groups``."""
    q, s = symmetric_codes(_groups(np.asarray(x, dtype=np.float64), granularity, block), bits)
    return q.astype(np.int64), s


def dint4_levels(special_shift: int = 1) -> tuple[float, ...]:
    """The 16 dINT4 levels of the code map above: -7..-1, -2^-k, 0, 2^-k, 1..6."""
    v = 2.0 ** -special_shift
    return (*range(-7, 0), -v, 0, v, *range(1, 7))


def dint4_decode(codes: np.ndarray, special_shift: int = 1) -> np.ndarray:
    """Values of dINT4 codes (signed ints -8..7)."""
    codes = np.asarray(codes, dtype=np.int64)
    v = 2.0 ** -special_shift
    return np.where(codes == DINT4_POS_CODE, v, np.where(codes == DINT4_NEG_CODE, -v, codes.astype(np.float64)))


def dint4_codes(x: np.ndarray, granularity: str = "group", block: int = 128,
                special_shift: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """dINT4 codes and scales (amax / 7 per group) of ``x``; decode(codes) * scale == fake_quantize(x, "dint4")."""
    g = _groups(np.asarray(x, dtype=np.float64), granularity, block)
    amax = np.max(np.abs(g), axis=-1, keepdims=True)
    s = np.where(amax > 0, amax / 7, 1.0)
    r = nearest_level(g / s, np.sort(np.asarray(dint4_levels(special_shift))))
    v = 2.0 ** -special_shift
    codes = np.where(r == v, DINT4_POS_CODE, np.where(r == -v, DINT4_NEG_CODE, np.rint(r))).astype(np.int64)
    return codes, s


def mx_codes(x: np.ndarray, block: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """MXFP4 (FLOOR scales, RNE elements) as E2M1 codes (..., n_blocks, block) and E8M0 codes (..., n_blocks, 1).

    NaN blocks (a block holding NaN or +-inf, or whose shared exponent leaves E8M0's range) are
    rejected: the MAC units do not model NaN scales.
    """
    x = np.asarray(x, dtype=np.float64)
    blocks = _blocks(x, block)
    amax = np.max(np.abs(blocks), axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shared = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - E2M1.emax, E8M0_MIN)
    if np.any(shared > E8M0_MAX) or not np.all(np.isfinite(blocks)):
        raise NumericsError("x: a block's shared exponent exceeds E8M0's range or it holds NaN or inf; allowed: "
                            f"finite blocks with amax below 2^{E8M0_MAX + E2M1.emax + 1}")
    shared = np.maximum(shared, E8M0_MIN)
    values = _blocks(fake_quantize(x, "mxfp4", block=block), block)
    return E2M1.encode(values / np.exp2(shared)), (shared + E8M0_BIAS).astype(np.int64)


def amxfp4_codes(x: np.ndarray, block: int = 32, scale_mode: str = "e5m2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AMXFP4 as E2M1 codes (..., n_blocks, block) and scale codes s+ and s- (..., n_blocks, 1).

    Blocks holding NaN or +-inf (NaN blocks in ``fake_quantize``) are rejected, as in ``mx_codes``.
    """
    if scale_mode not in AMX_SCALE_FORMATS:
        raise NumericsError(f"scale_mode: got {scale_mode!r}; allowed (formats with hardware codes): "
                            f"{', '.join(AMX_SCALE_FORMATS)}")
    blocks = _blocks(np.asarray(x, dtype=np.float64), block)
    if not np.all(np.isfinite(blocks)):
        raise NumericsError("x: a block holds NaN or inf; allowed: finite blocks")
    s_pos = _amx_scale(np.maximum(np.max(blocks, axis=-1, keepdims=True), 0), scale_mode)
    s_neg = _amx_scale(np.maximum(-np.min(blocks, axis=-1, keepdims=True), 0), scale_mode)
    values = _blocks(fake_quantize(x, "amxfp4", block=block, scale_mode=scale_mode), block)
    codes = E2M1.encode(values / np.where(blocks > 0, s_pos, s_neg))
    fmt = AMX_SCALE_FORMATS[scale_mode]
    encode = (lambda s: np.rint(np.log2(s)).astype(np.int64) + E8M0_BIAS) if fmt is None else fmt.encode
    return codes, encode(s_pos), encode(s_neg)
