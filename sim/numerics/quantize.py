"""Golden quantize-dequantize models of every format, and the one public call ``fake_quantize``.

``fake_quantize(x, fmt, **options)`` returns the dequantized float64 array; block formats work on
blocks along the last axis. Formats and their options (defaults first):

- ``int8``, ``int4``, ``int`` (``bits`` 2..16): ``granularity`` tensor|channel|group (channel:
  one scale per row, i.e. over the last axis; group: blocks of ``block`` (128) along it),
  ``symmetric`` True|False (asymmetric adds a zero point), ``rounding`` even|away|floor.
  Symmetric: s = amax / (2^(b-1) - 1), q = clamp(round(x/s), -2^(b-1), 2^(b-1) - 1).
- ``fp8_e4m3``, ``fp8_e5m2``: one per-tensor scale amax / max_normal, saturating, ``rounding``.
- ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``, ``mxfp6_e2m3``, ``mxfp4``, ``mxint8``
  (OCP MX v1.0): ``block`` 32, ``scale_mode`` floor (the spec algorithm: shared exponent =
  floor(log2 amax) - emax_elem, as in torchao's FLOOR mode), ``rounding`` even (torchao casts;
  ``away`` is microxcaling's default), ``min_scale`` torchao (at the smallest scale 2^-127,
  elements are divided by 2^-126 -- torchao's float32 clamp -- and multiplied back by 2^-127) or
  exact. Edge rules follow microxcaling: an all-zero block gets scale 2^-127, a shared exponent
  above 127 makes the block NaN, below -127 clamps to -127; MXINT8 clamps to +-127/64 (never -128).
  A block holding NaN or +-inf is all NaN (``mx`` says where torchao differs).
- ``nvfp4``: E2M1 elements, ``block`` 16, block scale amax_block / 6 cast to E4M3 (RNE) after
  dividing by a per-tensor FP32 scale amax / (6 * 448); elements RNE. NaN or +-inf anywhere makes
  the whole tensor NaN.
- ``amxfp4`` (Lee et al. 2024, the authors' microxcaling fork): E2M1 elements, ``block`` 32, two
  scales per block: s+ = max(x)/6 for elements > 0, s- = |min(x)|/6 for elements <= 0 (a zero
  scale becomes 1). ``scale_mode`` e5m2 (default: FP8 E5M2, ties away, saturating, floored at
  its smallest subnormal 2^-16 so that no scale rounds to zero -- our choice where the reference
  divides by zero), e4m3 (OCP E4M3, max 448, not the reference's 480), fp32 (unquantized), or
  pot (E8M0: 2^(floor(log2 extreme) - 2)). Elements: ties away, saturating at +-6. A block holding
  NaN or +-inf is all NaN.
- ``dint4`` (W4A8 paper's integer + denormal hybrid; the exact code map is not public, so these are
  assumptions): levels ``levels`` (default -7..-1, -1/2, 0, 1/2, 1..6: the 16 codes give up +7 to
  hold +-1/2), ``granularity`` and ``block`` as for int, scale s = amax / 7, nearest level with
  ties toward the level of smaller magnitude.
"""

from __future__ import annotations

import numpy as np

from sim.errors import NumericsError, suggest
from sim.numerics.minifloat import E2M1, E2M3, E3M2, E4M3, E5M2, ROUNDING, FloatFormat, round_magnitude

MX_ELEMENTS: dict[str, FloatFormat | None] = {"mxfp8_e4m3": E4M3, "mxfp8_e5m2": E5M2, "mxfp6_e3m2": E3M2,
                                              "mxfp6_e2m3": E2M3, "mxfp4": E2M1, "mxint8": None}
E8M0_MIN, E8M0_MAX = -127, 127
# min_scale: exponent below which elements are not divided further. torchao clamps its float32
# scale to the smallest normal (2^-126) when quantizing but dequantizes with 2^-127.
MIN_SCALE_DIVISOR_EXP = {"torchao": -126, "exact": E8M0_MIN}
DINT4_LEVELS = (-7, -6, -5, -4, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 4, 5, 6)
AMX_SCALE_MODES = ("e5m2", "e4m3", "fp32", "pot")


def _check_rounding(rounding: str) -> str:
    if rounding not in ROUNDING:
        raise NumericsError(f"rounding: got {rounding!r}; allowed: {', '.join(ROUNDING)}")
    return rounding


def _blocks(x: np.ndarray, block: int) -> np.ndarray:
    """View ``x`` as (..., n_blocks, block) along its last axis."""
    if not isinstance(block, (int, np.integer)) or isinstance(block, bool) or block < 1:
        raise NumericsError(f"block: got {block!r}; allowed: a positive integer")
    n = x.shape[-1] if x.ndim else 1
    if n % block:
        raise NumericsError(f"block: got {block}; allowed: a divisor of the last axis length {n}")
    return x.reshape(*x.shape[:-1], n // block, block)


def _amax(blocks: np.ndarray) -> np.ndarray:
    return np.max(np.abs(blocks), axis=-1, keepdims=True)


# -- OCP MX ------------------------------------------------------------------------------------------

def mx(x: np.ndarray, fmt: str, block: int = 32, scale_mode: str = "floor", rounding: str = "even",
       min_scale: str = "torchao") -> np.ndarray:
    """OCP MX quantize-dequantize of blocks along the last axis (fused kernel in ``mx_kernel``).

    NaN and +-inf: a block holding either is all NaN (scale = E8M0's NaN code 0xFF), as in OCP MX
    v1.0 (a NaN scale makes every element of its block NaN) and microxcaling. torchao 0.18.0 agrees
    for NaN but not for inf: it reads inf's float32 exponent field as 2^128, so the block gets the
    finite scale 2^(128 - emax_elem), the inf element saturates to the largest element code and
    every other element flushes to zero; the +-inf it returns arises only when dequantizing
    (e.g. 6 * 2^126 overflows float32). We do not copy that: it stores a finite block that silently
    loses all its finite values. Finite blocks match torchao bit for bit, float32 max and
    subnormals included (``tests/sim/test_numerics_reference.py``).
    """
    from sim.numerics.mx_kernel import ROUNDING_CODES, mx_blocks  # numba loads on the first MX call only

    if scale_mode != "floor":
        raise NumericsError(f"scale_mode: got {scale_mode!r}; allowed: floor")
    if min_scale not in MIN_SCALE_DIVISOR_EXP:
        raise NumericsError(f"min_scale: got {min_scale!r}; allowed: {', '.join(MIN_SCALE_DIVISOR_EXP)}")
    elem = MX_ELEMENTS[fmt]
    _blocks(x, block)  # checks that the block divides the last axis
    flat = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    mode = ROUNDING_CODES[_check_rounding(rounding)]
    if elem is None:
        out = mx_blocks(flat, block, 0, 0, 0.0, 0, True, mode, MIN_SCALE_DIVISOR_EXP[min_scale])
    else:
        out = mx_blocks(flat, block, elem.mbits, elem.emin, elem.max_normal, elem.emax, False, mode,
                        MIN_SCALE_DIVISOR_EXP[min_scale])
    return out.reshape(x.shape)


# -- NVFP4 -------------------------------------------------------------------------------------------

def nvfp4(x: np.ndarray, block: int = 16) -> np.ndarray:
    """NVFP4: E2M1 elements, E4M3 block scales, one FP32 per-tensor scale.

    NaN and +-inf: any of them makes the whole tensor NaN. The per-tensor scale is
    amax / (6 * 448) over the whole tensor, so a NaN or inf makes it non-finite, and every block
    scale is divided by it; torchao 0.18.0's NVFP4 with a per-tensor scale gives the same.
    """
    blocks = _blocks(x, block)
    amax_tensor = float(np.max(np.abs(x))) if x.size else 0.0
    if not np.isfinite(amax_tensor):
        return np.full(x.shape, np.nan)
    tensor_scale = amax_tensor / (E2M1.max_normal * E4M3.max_normal) if amax_tensor > 0 else 1.0
    block_scale = E4M3.quantize(_amax(blocks) / E2M1.max_normal / tensor_scale, "even")
    scale = np.where(block_scale == 0, 1.0, block_scale) * tensor_scale
    return (E2M1.quantize(blocks / scale, "even") * scale).reshape(x.shape)


# -- AMXFP4 ------------------------------------------------------------------------------------------

def _amx_scale(extreme: np.ndarray, scale_mode: str) -> np.ndarray:
    """One AMXFP4 scale per block from the block's positive max or |negative min| (>= 0)."""
    if scale_mode == "pot":
        with np.errstate(divide="ignore"):
            exp = np.floor(np.log2(np.where(extreme > 0, extreme, 1.0))) - E2M1.emax
        return np.where(extreme > 0, np.exp2(np.clip(exp, E8M0_MIN, E8M0_MAX)), 1.0)
    raw = extreme / E2M1.max_normal
    raw = np.where(raw == 0, 1.0, raw)
    if scale_mode == "fp32":
        return raw
    if scale_mode == "e5m2":
        return np.maximum(E5M2.quantize(raw, "away"), E5M2.min_subnormal)
    if scale_mode == "e4m3":
        return np.maximum(E4M3.quantize(raw, "away"), E4M3.min_subnormal)
    raise NumericsError(f"scale_mode: got {scale_mode!r}; allowed: {', '.join(AMX_SCALE_MODES)}")


def amxfp4(x: np.ndarray, block: int = 32, scale_mode: str = "e5m2") -> np.ndarray:
    """AMXFP4: E2M1 elements with separate scales for the positive and non-positive elements of a block.

    NaN and +-inf: a block holding either is all NaN (both scales take their format's NaN code;
    E5M2, E4M3 and E8M0 each have one, E2M1 elements have none), the rule of ``mx``. Without it
    +inf would saturate s+ (E5M2: to 57344) and come back as a finite 6 * 57344.
    """
    blocks = _blocks(x, block)
    finite = np.all(np.isfinite(blocks), axis=-1, keepdims=True)
    blocks = np.where(finite, blocks, 0.0)  # so that no inf / inf (fp32 scales) warns below
    s_pos = _amx_scale(np.maximum(np.max(blocks, axis=-1, keepdims=True), 0), scale_mode)
    s_neg = _amx_scale(np.maximum(-np.min(blocks, axis=-1, keepdims=True), 0), scale_mode)
    scale = np.where(blocks > 0, s_pos, s_neg)
    return np.where(finite, E2M1.quantize(blocks / scale, "away") * scale, np.nan).reshape(x.shape)


# -- integers ----------------------------------------------------------------------------------------

def _groups(x: np.ndarray, granularity: str, block: int) -> np.ndarray:
    if granularity == "tensor":
        return x.reshape(1, -1)
    if granularity == "channel":
        return x.reshape(-1, x.shape[-1] if x.ndim else 1)
    if granularity == "group":
        return _blocks(x, block).reshape(-1, block)
    raise NumericsError(f"granularity: got {granularity!r}; allowed: tensor, channel, group")


def symmetric_codes(g: np.ndarray, bits: int, rounding: str = "even") -> tuple[np.ndarray, np.ndarray]:
    """Signed codes q = clamp(round(g/s), -2^(b-1), 2^(b-1)-1) and scales s = amax / (2^(b-1)-1) per row of ``g``."""
    qmax = 2 ** (bits - 1) - 1
    amax = np.max(np.abs(g), axis=-1, keepdims=True)
    s = np.where(amax > 0, amax / qmax, 1.0)
    r = g / s
    q = np.clip(np.copysign(round_magnitude(np.abs(r), rounding), r), -qmax - 1, qmax)
    return q, s


def integer(x: np.ndarray, bits: int = 8, granularity: str = "tensor", block: int = 128, symmetric: bool = True,
            rounding: str = "even") -> np.ndarray:
    """Uniform integer quantize-dequantize with per-tensor/channel/group scales."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 16:
        raise NumericsError(f"bits: got {bits!r}; allowed: an integer from 2 to 16")
    _check_rounding(rounding)
    g = _groups(x, granularity, block)
    if symmetric:
        q, s = symmetric_codes(g, bits, rounding)
        out = q * s
    else:
        lo, hi = np.min(g, axis=-1, keepdims=True), np.max(g, axis=-1, keepdims=True)
        s = np.where(hi > lo, (hi - lo) / (2 ** bits - 1), 1.0)
        zero = np.rint(-lo / s)
        q = np.clip(round_magnitude(np.maximum(g / s + zero, 0), rounding), 0, 2 ** bits - 1)
        out = (q - zero) * s
    return out.reshape(x.shape)


def fp8(x: np.ndarray, fmt: str, rounding: str = "even") -> np.ndarray:
    """FP8 with one per-tensor scale amax / max_normal."""
    elem = E4M3 if fmt == "fp8_e4m3" else E5M2
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    s = amax / elem.max_normal if amax > 0 else 1.0
    return elem.quantize(x / s, _check_rounding(rounding)) * s


def nearest_level(r: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Nearest value of the sorted ``grid`` to each ``r`` (clamped), ties toward the smaller magnitude."""
    r = np.clip(r, grid[0], grid[-1])
    hi = np.clip(np.searchsorted(grid, r), 0, len(grid) - 1)
    lo = np.clip(hi - 1, 0, len(grid) - 1)
    d_lo, d_hi = np.abs(r - grid[lo]), np.abs(grid[hi] - r)
    tie_low = np.abs(grid[lo]) <= np.abs(grid[hi])
    return np.where((d_lo < d_hi) | ((d_lo == d_hi) & tie_low), grid[lo], grid[hi])


def dint4(x: np.ndarray, granularity: str = "group", block: int = 128, levels: tuple = DINT4_LEVELS) -> np.ndarray:
    """dINT4: integer levels plus +-1/2 'denormal' levels (see the module docstring for the assumptions)."""
    grid = np.sort(np.asarray(levels, dtype=np.float64))
    if len(grid) > 16 or len(set(grid)) != len(grid):
        raise NumericsError(f"levels: got {len(grid)} (distinct: {len(set(grid))}); allowed: at most 16 distinct levels")
    g = _groups(x, granularity, block)
    amax = np.max(np.abs(g), axis=-1, keepdims=True)
    s = np.where(amax > 0, amax / np.max(np.abs(grid)), 1.0)
    pick = nearest_level(g / s, grid)
    return (pick * s).reshape(x.shape)


# -- the public call ---------------------------------------------------------------------------------

def fake_quantize(x, fmt: str, **options) -> np.ndarray:
    """Quantize then dequantize ``x`` in format ``fmt`` (see the module docstring for formats and options)."""
    x = np.asarray(x, dtype=np.float64)
    try:
        if fmt in MX_ELEMENTS:
            return mx(x, fmt, **options)
        if fmt in ("int8", "int4"):
            return integer(x, bits=int(fmt[3:]), **options)
        if fmt == "int":
            return integer(x, **options)
        if fmt in ("fp8_e4m3", "fp8_e5m2"):
            return fp8(x, fmt, **options)
        if fmt == "nvfp4":
            return nvfp4(x, **options)
        if fmt == "amxfp4":
            return amxfp4(x, **options)
        if fmt == "dint4":
            return dint4(x, **options)
    except TypeError as exc:  # an option the format does not take
        raise NumericsError(f"{fmt}: {str(exc).split('() ', 1)[-1]}") from None
    raise NumericsError(f"format: got {fmt!r}; allowed: {', '.join(FAKE_QUANTIZE_FORMATS)}"
                        + suggest(fmt, FAKE_QUANTIZE_FORMATS))


FAKE_QUANTIZE_FORMATS = ("int8", "int4", "int", "dint4", "fp8_e4m3", "fp8_e5m2", *MX_ELEMENTS, "nvfp4", "amxfp4")
