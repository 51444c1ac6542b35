"""Lowering of compute ops to batched GEMMs ``O[M,N] += A[M,K] * W[K,N]``, vectorized over ops.

Every array model (systolic, MAC arrays, SPADE's dense fallback) maps ops through this one place:

- ``gemm``: as is.
- ``conv2d``: im2col. M = N*E*F output pixels, K = R*S*C, N = out-channels. Output size is either
  standard (floor((H + 2 pad - R) / stride) + 1) or SCALE-Sim's ``ceil((H - R + stride) / stride)``
  with no padding (its quirk: one extra edge window when (H - R) mod stride != 0).
- ``deconv2d`` (transposed conv): each input pixel scatters an R*S*K patch, so M = N*H*W,
  K = C, N = K*R*S. Exact in MACs; where kernel > stride the overlapping outputs need extra
  additions, which are not charged (stated assumption).
- ``attention_score``: per request and KV head, the H/G query heads sharing that KV head are
  stacked (GQA): M = Q*H/G, K = D, N = T, repeated B*G times. ``attention_context``: M = Q*H/G,
  K = T, N = D, repeated B*G times. Causal masking is not exploited (the full T is computed).

Besides (M, N, K, repeats) the lowering gives the unique element counts of each operand per
repeat (the raw input feature map, not its im2col expansion), which memory models use for traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np

from sim.errors import TraceFormatError

if TYPE_CHECKING:
    from sim.models import OpBatch

GEMM_KINDS = ("gemm", "conv2d", "deconv2d", "attention_score", "attention_context")


@dataclass(frozen=True)
class Gemms:
    """Batched GEMM view of a group of ops; every field is an int64 array with one entry per op.

    ``a_elems``/``w_elems``/``o_elems`` count the unique elements of the activation, weight (or
    KV-cache) and output operands of one repeat. ``w_operand`` names the trace operand whose
    format the W side uses ("W", or "KV" for attention).
    """

    M: np.ndarray
    N: np.ndarray
    K: np.ndarray
    repeats: np.ndarray
    a_elems: np.ndarray
    w_elems: np.ndarray
    o_elems: np.ndarray
    w_operand: str

    @cached_property
    def macs(self) -> np.ndarray:
        return self.M * self.N * self.K * self.repeats

    @cached_property
    def MK(self) -> np.ndarray:
        """Elements of the (im2col) A matrix of one repeat."""
        return self.M * self.K

    @cached_property
    def KN(self) -> np.ndarray:
        """Elements of the W matrix of one repeat."""
        return self.K * self.N

    @cached_property
    def MN(self) -> np.ndarray:
        """Elements of the O matrix of one repeat."""
        return self.M * self.N


def conv_output_size(size: np.ndarray, kernel: np.ndarray, stride: np.ndarray, pad: np.ndarray,
                     output_size: str = "standard") -> np.ndarray:
    """Output extent of a convolution along one axis under the chosen output-size rule."""
    if output_size == "scalesim":
        return -((kernel - size - stride) // stride)  # ceil((size - kernel + stride) / stride)
    return (size + 2 * pad - kernel) // stride + 1


def lower(kind: str, d: dict[str, np.ndarray], output_size: str = "standard") -> Gemms:
    """Lower ops of one kind (dims as arrays) to batched GEMMs."""
    if kind == "gemm":
        one = np.ones_like(d["M"])
        return Gemms(d["M"], d["N"], d["K"], one, d["M"] * d["K"], d["K"] * d["N"], d["M"] * d["N"], "W")
    if kind == "conv2d":
        if output_size == "scalesim" and np.any(d["pad"] > 0):
            raise TraceFormatError("conv2d dims.pad: SCALE-Sim mode has no padding; pre-pad H and W and set pad: 0")
        E = conv_output_size(d["H"], d["R"], d["stride"], d["pad"], output_size)
        F = conv_output_size(d["W"], d["S"], d["stride"], d["pad"], output_size)
        if np.any(E < 1) or np.any(F < 1):
            raise TraceFormatError("conv2d: kernel larger than the padded input; allowed: R <= H + 2 pad, S <= W + 2 pad")
        M, K, N = d["N"] * E * F, d["R"] * d["S"] * d["C"], d["K"]
        return Gemms(M, N, K, np.ones_like(M), d["N"] * d["C"] * d["H"] * d["W"], K * N, M * N, "W")
    if kind == "deconv2d":
        M, K, N = d["N"] * d["H"] * d["W"], d["C"], d["K"] * d["R"] * d["S"]
        Eo = (d["H"] - 1) * d["stride"] - 2 * d["pad"] + d["R"]
        Fo = (d["W"] - 1) * d["stride"] - 2 * d["pad"] + d["S"]
        return Gemms(M, N, K, np.ones_like(M), M * K, K * N, d["N"] * Eo * Fo * d["K"], "W")
    if kind in ("attention_score", "attention_context"):
        if np.any(d["H"] % d["G"]):
            raise TraceFormatError(f"{kind} dims.G: query heads H must be a multiple of KV heads G")
        stacked = d["Q"] * (d["H"] // d["G"])
        repeats = d["B"] * d["G"]
        if kind == "attention_score":
            M, K, N = stacked, d["D"], d["T"]
        else:
            M, K, N = stacked, d["T"], d["D"]
        return Gemms(M, N, K, repeats, M * K, d["T"] * d["D"], M * N, "KV")
    raise TraceFormatError(f"op kind {kind!r} has no GEMM lowering; allowed: {', '.join(GEMM_KINDS)}")


def concat(parts: Sequence[Gemms]) -> Gemms:
    """The GEMMs of several lowerings, one after another; ``w_operand`` is their common one, or ""
    when they differ (take each part's operand formats before joining them)."""
    if len(parts) == 1:
        return parts[0]
    arrays = [np.concatenate([getattr(g, f.name) for g in parts]) for f in fields(Gemms) if f.name != "w_operand"]
    operands = {g.w_operand for g in parts}
    return Gemms(*arrays, operands.pop() if len(operands) == 1 else "")


_lowered: WeakKeyDictionary[OpBatch, dict[tuple, Gemms]] = WeakKeyDictionary()


def _kept(batch: OpBatch, key: tuple, make) -> Gemms:
    """``make()``, kept with ``batch`` under ``key`` when every dim of the batches in ``key`` is
    read-only (the engine's are: a trace is not modified after it is built); a kept lowering's
    arrays are read-only too."""
    kept = _lowered.get(batch)
    if kept is not None and key in kept:
        return kept[key]
    g = make()
    if not any(d.flags.writeable for b in (batch, *key[1:]) for d in b.dims.values()):
        for array in (*(getattr(g, f.name) for f in fields(g) if f.name != "w_operand"), g.macs, g.MK, g.KN, g.MN):
            array.flags.writeable = False
        _lowered.setdefault(batch, {})[key] = g
    return g


def lower_batch(batch: OpBatch, output_size: str = "standard") -> Gemms:
    """``lower`` of an op batch, computed once per read-only batch and output-size rule."""
    return _kept(batch, (output_size,), lambda: lower(batch.kind, batch.dims, output_size))


def lower_batches(batches: Sequence[OpBatch], output_size: str = "standard") -> tuple[list[Gemms], Gemms]:
    """``lower_batch`` of each batch, and their ``concat`` (kept like ``lower_batch``'s: the
    batches of one trace live as long as each other)."""
    parts = [lower_batch(b, output_size) for b in batches]
    return parts, _kept(batches[0], (output_size, *batches[1:]), lambda: concat(parts))
