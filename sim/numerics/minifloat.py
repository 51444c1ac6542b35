"""Small floating-point formats (FP4 E2M1, FP6 E3M2/E2M3, FP8 E4M3/E5M2): code tables, encode/decode,
and quantization to the nearest representable value, vectorized over numpy arrays.

Values: normal codes are (-1)^s * 2^(E - bias) * (1 + M / 2^m), subnormals (E = 0) are
(-1)^s * 2^(1 - bias) * M / 2^m. E4M3 (OCP FP8) has no infinities and one NaN mantissa per sign
(S.1111.111); E5M2 keeps IEEE infinities and NaNs; the FP4/FP6 formats have neither.

Quantization is exact in float64 (every step is a power of two) and **saturating**: magnitudes
beyond the largest normal clamp to it with their sign (the OCP MX conversion rule; no overflow
to infinity, also for E5M2). Rounding modes, by name:
- ``even``: to nearest, ties to even (IEEE RNE; casts in torch and ml_dtypes; the default);
- ``away``: to nearest, ties away from zero (Microsoft microxcaling's "nearest");
- ``floor``: toward zero (truncation of the magnitude).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.errors import NumericsError

ROUNDING = ("even", "away", "floor")


def round_magnitude(r: np.ndarray, rounding: str) -> np.ndarray:
    """Round non-negative ``r`` to an integer under a named rounding mode."""
    if rounding == "even":
        return np.rint(r)
    if rounding == "away":
        return np.floor(r + 0.5)
    if rounding == "floor":
        return np.floor(r)
    raise NumericsError(f"rounding: got {rounding!r}; allowed: {', '.join(ROUNDING)}")


@dataclass(frozen=True)
class FloatFormat:
    """A sign + ``ebits`` exponent + ``mbits`` mantissa format with exponent ``bias``."""

    name: str
    ebits: int
    mbits: int
    bias: int
    specials: str  # "none" | "ieee" (inf and NaN at E = max) | "e4m3" (NaN at S.1111.111 only)

    @property
    def bits(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def emin(self) -> int:
        return 1 - self.bias

    @cached_property
    def max_normal(self) -> float:
        top = (1 << self.ebits) - 1
        if self.specials == "ieee":
            return 2.0 ** (top - 1 - self.bias) * (2 - 2.0 ** -self.mbits)
        if self.specials == "e4m3":
            return 2.0 ** (top - self.bias) * (2 - 2.0 ** (1 - self.mbits))
        return 2.0 ** (top - self.bias) * (2 - 2.0 ** -self.mbits)

    @property
    def emax(self) -> int:
        """Exponent of the largest normal (the MX ``emax_elem``)."""
        return int(np.floor(np.log2(self.max_normal)))

    @property
    def min_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.mbits)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Values of integer codes (NaN for NaN codes, +-inf for IEEE infinities)."""
        codes = np.asarray(codes, dtype=np.int64)
        sign = np.where((codes >> (self.ebits + self.mbits)) & 1, -1.0, 1.0)
        e = (codes >> self.mbits) & ((1 << self.ebits) - 1)
        m = codes & ((1 << self.mbits) - 1)
        mag = np.where(e == 0, m * self.min_subnormal, 2.0 ** (e - self.bias) * (1 + m / 2.0 ** self.mbits))
        top = (1 << self.ebits) - 1
        if self.specials == "ieee":
            mag = np.where(e == top, np.where(m == 0, np.inf, np.nan), mag)
        elif self.specials == "e4m3":
            mag = np.where((e == top) & (m == (1 << self.mbits) - 1), np.nan, mag)
        return sign * mag

    @cached_property
    def code_table(self) -> np.ndarray:
        """Value of every code 0 .. 2^bits - 1."""
        return self.decode(np.arange(1 << self.bits))

    def quantize(self, x: np.ndarray, rounding: str = "even") -> np.ndarray:
        """Nearest representable value under ``rounding``, saturating at +-max_normal; NaN stays NaN."""
        x = np.asarray(x, dtype=np.float64)
        mag = np.abs(x)
        # frexp: mag = f * 2^e with f in [0.5, 1), so floor(log2 mag) = e - 1 exactly (0 -> e = 0)
        shift = np.maximum(np.frexp(mag)[1] - 1, self.emin) - self.mbits
        q = np.ldexp(round_magnitude(np.ldexp(mag, -shift), rounding), shift)
        np.minimum(q, self.max_normal, out=q)
        return np.copysign(q, x)  # NaN stays NaN through every step

    def encode(self, x: np.ndarray, rounding: str = "even") -> np.ndarray:
        """Codes of the quantized values of ``x`` (NaN input -> the format's NaN code, if it has one)."""
        q = self.quantize(x, rounding)
        sign = np.signbit(q).astype(np.int64)
        mag = np.abs(np.nan_to_num(q))
        with np.errstate(divide="ignore"):
            e = np.floor(np.log2(np.where(mag > 0, mag, 1.0))).astype(np.int64)
        normal = mag >= 2.0 ** self.emin
        field_e = np.where(normal, e + self.bias, 0)
        field_m = np.where(normal, (mag / np.exp2(e) - 1) * 2 ** self.mbits, mag / self.min_subnormal)
        codes = (sign << (self.ebits + self.mbits)) | (field_e << self.mbits) | np.rint(field_m).astype(np.int64)
        if self.specials != "none":
            codes = np.where(np.isnan(q), (1 << (self.ebits + self.mbits)) - 1 | (sign << (self.ebits + self.mbits)),
                             codes)
        return codes


E2M1 = FloatFormat("fp4_e2m1", 2, 1, 1, "none")
E3M2 = FloatFormat("fp6_e3m2", 3, 2, 3, "none")
E2M3 = FloatFormat("fp6_e2m3", 2, 3, 1, "none")
E4M3 = FloatFormat("fp8_e4m3", 4, 3, 7, "e4m3")
E5M2 = FloatFormat("fp8_e5m2", 5, 2, 15, "ieee")
FLOAT_FORMATS = {f.name: f for f in (E2M1, E3M2, E2M3, E4M3, E5M2)}
