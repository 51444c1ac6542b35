"""Trace generators for decoder-only LLMs: prefill and decode steps, with a KV-cache state.

Per layer, in order: norm, Q/K/V projections (K and V have G*D outputs under GQA), RoPE (rope
models), KV append, attention score, softmax, attention context, O projection, residual add, norm,
FFN (gate/up/SiLU-multiply/down for gated models; fc1/ReLU/fc2 for plain ones), residual add; then
the final norm and the LM head. Assumptions:
- GEMM M = requests x new tokens (prompt length in prefill, 1 in decode).
- Prefill computes the full Q x T attention square (causal masking not exploited); only the last
  token of each request goes through the final norm and LM head.
- Elementwise operation counts per element (``OPS_PER_ELEMENT``): RMSNorm 4 (square, accumulate,
  scale, weight), LayerNorm 7 (mean, subtract, square, accumulate, scale, weight, bias), RoPE 3
  (two multiplies, one add), SiLU x up 5 (exp, add, divide, multiply, multiply), ReLU 1, residual 1.
- Ragged decode batches: requests attend over different KV lengths; T is the longest, and the
  attention ops carry a ``kv_len`` payload (per-request lengths) for models that exploit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.trace import Trace, TraceBuilder

OPS_PER_ELEMENT = {"rmsnorm": 4, "layernorm": 7, "rope": 3, "gated": 5, "plain": 1, "residual": 1}
DEFAULT_FORMATS = {"W": "int8", "A": "int8", "O": "int8", "KV": "int8"}


@dataclass
class KVCacheState:
    """Per-request KV-cache lengths of a batch being decoded."""

    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def uniform(cls, batch: int, length: int) -> KVCacheState:
        return cls(np.full(batch, length, dtype=np.int64))

    def append(self, tokens: int = 1) -> None:
        """Every request appends ``tokens`` new tokens (one decode step appends 1)."""
        self.lengths = self.lengths + tokens

    @property
    def ragged(self) -> bool:
        return bool(self.lengths.size) and bool(np.any(self.lengths != self.lengths[0]))


def llm_trace(shape: dict, name: str, phase: str, batch: int = 1, prompt: int = 0, kv: KVCacheState | None = None,
              num_layers: int | None = None, lm_head: bool = True, formats: dict | None = None) -> Trace:
    """Trace of one prefill (``prompt`` tokens per request) or one decode step (KV lengths from ``kv``)."""
    fmts = {**DEFAULT_FORMATS, **(formats or {})}
    h, H, G, ffn = shape["hidden"], shape["heads"], shape["kv_heads"], shape["ffn"]
    D = h // H
    if phase == "prefill":
        S, T, payload = prompt, prompt, None
    else:
        S, T = 1, int(kv.lengths.max())
        batch = len(kv.lengths)
        payload = {"kv_len": kv.lengths.copy()} if kv.ragged else None
    M = batch * S
    norm = OPS_PER_ELEMENT[shape["norm"]]
    meta = {"model": name, "phase": phase, "batch": batch, "tokens_per_request": S, "kv_length": T,
            "formats": fmts, "source": shape["source"]}
    b = TraceBuilder(meta=meta, formats=fmts)
    attn = {"B": batch, "H": H, "G": G, "Q": S, "T": T, "D": D}
    for layer in range(shape["layers"] if num_layers is None else num_layers):
        def op(kind, opname, dims, **kw):
            b.add(kind, f"L{layer}.{opname}", dims, layer=layer, phase=phase, **kw)

        op("elementwise", "attn_norm", {"E": M * h, "F": norm})
        op("gemm", "q_proj", {"M": M, "N": H * D, "K": h})
        op("gemm", "k_proj", {"M": M, "N": G * D, "K": h})
        op("gemm", "v_proj", {"M": M, "N": G * D, "K": h})
        if shape["positions"] == "rope":
            op("elementwise", "rope", {"E": M * (H + G) * D, "F": OPS_PER_ELEMENT["rope"]})
        op("kv_append", "kv_append", {"B": batch, "G": G, "Q": S, "D": D})
        op("attention_score", "attn_score", attn, payload=payload)
        op("softmax", "softmax", {"B": batch, "H": H, "Q": S, "T": T})
        op("attention_context", "attn_context", attn, payload=payload)
        op("gemm", "o_proj", {"M": M, "N": h, "K": H * D})
        op("elementwise", "attn_residual", {"E": M * h, "F": OPS_PER_ELEMENT["residual"]})
        op("elementwise", "ffn_norm", {"E": M * h, "F": norm})
        if shape["ffn_type"] == "gated":
            op("gemm", "gate_proj", {"M": M, "N": ffn, "K": h})
            op("gemm", "up_proj", {"M": M, "N": ffn, "K": h})
            op("elementwise", "silu_mul", {"E": M * ffn, "F": OPS_PER_ELEMENT["gated"]})
            op("gemm", "down_proj", {"M": M, "N": h, "K": ffn})
        else:
            op("gemm", "fc1", {"M": M, "N": ffn, "K": h})
            op("elementwise", "relu", {"E": M * ffn, "F": OPS_PER_ELEMENT["plain"]})
            op("gemm", "fc2", {"M": M, "N": h, "K": ffn})
        op("elementwise", "ffn_residual", {"E": M * h, "F": OPS_PER_ELEMENT["residual"]})
    if lm_head:
        last = num_layers if num_layers is not None else shape["layers"]
        b.add("elementwise", "final_norm", {"E": batch * h, "F": norm}, layer=last, phase=phase)
        b.add("gemm", "lm_head", {"M": batch, "N": shape["vocab"], "K": h}, layer=last, phase=phase)
    return b.build()
