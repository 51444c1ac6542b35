"""LLM traces: one prefill or one decode step of a decoder-only transformer from the zoo.

Per layer, in order (op names ``L{i}.<name>``, layer i): attn_norm, q_proj, k_proj, v_proj, rope
(rope models only), kv_append, attn_score, softmax, attn_context, o_proj, attn_residual, ffn_norm,
then gate_proj, up_proj, silu_mul, down_proj (swiglu FFN) or fc1, relu, fc2 (relu FFN), then
ffn_residual. With ``lm_head`` the step ends with final_norm and lm_head (layer = layers emitted).

Modelling assumptions:

- GEMMs are O[M,N] = A[M,K] W[K,N] with M = batch x new tokens per request (the prompt length in
  prefill, 1 in decode). q_proj has H*D outputs, k_proj and v_proj G*D each (G KV heads; G < H
  is grouped-query attention), o_proj H*D inputs.
- Prefill attends densely: Q = T = prompt, the full causal square is computed (the masked upper
  half is not skipped). The final norm runs on every token, but only the last token of each
  request goes through the LM head (only its logits are sampled).
- Decode: Q = 1 new token per request attending over T = context tokens, its own included (its K
  and V are appended to the cache first).
- Ragged decode batches (``kv_lengths``): T is the longest length and attn_score, softmax and
  attn_context carry the payload ``kv_len`` (int64, one length per request) so a model can charge
  the real lengths. A batch whose lengths are all equal is uniform and carries no payload.
- Elementwise ops: E = output elements, F = operations per element (``OPS_PER_ELEMENT``):
  RMSNorm 4 (square, accumulate, scale by 1/rms, multiply by the weight); LayerNorm 7 (accumulate
  the mean, subtract it, square, accumulate, scale, multiply by the weight, add the bias); RoPE 3
  per element of Q and K (two multiplies, one add); SiLU(gate) * up 5 (negate, exp, add 1,
  divide, multiply by up); ReLU 1; residual add 1. Once-per-row scalar work (1/rms) is not counted.
- Not emitted: the token-embedding lookup and OPT's learned position-embedding add (a gather and
  one add per input element, no MACs), OPT's bias adds (fused into the GEMM outputs), sampling.
- Operand formats (default int8 each): W, A, O for GEMMs; A, KV, O for attention; A, KV for
  kv_append; A, O for softmax and elementwise ops.
"""

from __future__ import annotations

import numpy as np

from sim.errors import WorkloadError, field_error
from sim.trace import OPERANDS, Trace
from workloads import accuracy, checks
from workloads.assemble import Op, tiled_trace
from workloads.zoo import family, lookup

OPS_PER_ELEMENT = {"rmsnorm": 4, "layernorm": 7, "rope": 3, "swiglu": 5, "relu": 1, "residual": 1}
DEFAULT_FORMATS = {"W": "int8", "A": "int8", "O": "int8", "KV": "int8"}
MAX_CONTEXT = 1 << 20  # tokens: the longest published context windows are about a million tokens
PARAMETERS = {
    "phase": checks.Param("str", None, None, "prefill or decode (required)"),
    "prompt": checks.Param("int", 1, 1 << 15, "prompt tokens per request (prefill; required there)"),
    "context": checks.Param("int", 1, MAX_CONTEXT, "KV tokens each request attends over (decode; or kv_lengths)"),
    "batch": checks.BATCH,
    "kv_lengths": checks.Param("list[int]", 1, MAX_CONTEXT, "one KV length per request, a ragged decode batch "
                               f"(at most {checks.BATCH.high} requests; instead of batch and context)"),
    "num_layers": checks.Param("int", 1, None, "transformer layers emitted (default and most: the model's)"),
    "lm_head": checks.Param("bool", None, None, "end with the final norm and LM head (default true)"),
    "formats": checks.Param("mapping", None, None, checks.FORMATS_DOC + " (operands W, A, O, KV)"),
}


class KVCacheState:
    """Per-request KV-cache lengths (tokens cached) of a batch being served.

    One decode step appends each request's new token and then attends over the whole cache::

        kv = KVCacheState([100, 300])
        kv.append()                                     # -> [101, 301]
        decode("llama-2-7b", kv_lengths=kv.lengths)
    """

    def __init__(self, lengths):
        self.lengths = checks.lengths("kv_cache.lengths", lengths, low=0)

    def append(self, tokens=1) -> KVCacheState:
        """Append ``tokens`` to every request: an int, or one count per request."""
        counts = [tokens] * len(self.lengths) if np.ndim(tokens) == 0 else tokens
        if len(counts) != len(self.lengths):
            raise field_error("kv_cache.append.tokens", tokens, f"an integer or {len(self.lengths)} integers",
                              WorkloadError)
        self.lengths = self.lengths + checks.lengths("kv_cache.append.tokens", counts, low=0)
        return self


def prefill(model: str, prompt: int, batch: int = 1, num_layers: int | None = None, lm_head: bool = True,
            formats: dict[str, str] | None = None) -> Trace:
    """Trace of the prefill of ``batch`` requests of ``prompt`` tokens each."""
    shape = _shape(model)
    prompt = PARAMETERS["prompt"].check("prompt", prompt)
    batch = PARAMETERS["batch"].check("batch", batch)
    return _step(model, shape, "prefill", batch, prompt, prompt, None, num_layers, lm_head, formats,
                 {"batch": batch, "prompt": prompt})


def decode(model: str, context: int | None = None, batch: int | None = None, kv_lengths=None,
           num_layers: int | None = None, lm_head: bool = True, formats: dict[str, str] | None = None) -> Trace:
    """Trace of one decode step: either ``batch`` requests (default 1) attending over ``context``
    tokens each, or a ragged batch with one KV length per request (``kv_lengths``)."""
    shape = _shape(model)
    if kv_lengths is not None:
        if context is not None or batch is not None:
            raise field_error("workload.kv_lengths", _plain(kv_lengths),
                              "either kv_lengths or context (and batch), not both", WorkloadError)
        bounds = PARAMETERS["kv_lengths"]
        lengths = checks.lengths("workload.kv_lengths", kv_lengths, bounds.low, bounds.high, checks.BATCH.high)
    elif context is None:
        raise field_error("workload.context", None, "an integer >= 1 (required in phase decode, or give kv_lengths)",
                          WorkloadError)
    else:
        lengths = np.full(PARAMETERS["batch"].check("batch", 1 if batch is None else batch),
                          PARAMETERS["context"].check("context", context), dtype=np.int64)
    batch, T = len(lengths), int(lengths.max())
    meta = {"batch": batch, "context": T}
    payload = None
    if np.any(lengths != T):
        lengths.setflags(write=False)
        payload = {"kv_len": lengths}
        meta["kv_lengths"] = lengths.tolist()
    return _step(model, shape, "decode", batch, 1, T, payload, num_layers, lm_head, formats, meta)


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def _shape(model) -> dict:
    fam, shape = lookup(model)
    if fam != "llm":
        raise field_error("workload.model", model, ", ".join(family("llm")), WorkloadError)
    return shape


def _step(model: str, shape: dict, phase: str, batch: int, tokens: int, T: int, payload, num_layers, lm_head,
          formats, meta: dict) -> Trace:
    layers = shape["layers"]
    if num_layers is not None:
        layers = PARAMETERS["num_layers"]._replace(high=layers).check("num_layers", num_layers)
    lm_head = checks.flag("workload.lm_head", lm_head)
    fmts = {**DEFAULT_FORMATS, **checks.formats("workload.formats", formats, OPERANDS)}
    h, M = shape["hidden"], batch * tokens
    tail = [("elementwise", "final_norm", {"E": M * h, "F": OPS_PER_ELEMENT[shape["norm"]]}, None),
            ("gemm", "lm_head", {"M": batch, "N": shape["vocab"], "K": h}, None)] if lm_head else []
    meta = {"model": model, "phase": phase, **meta, "num_layers": layers, "lm_head": lm_head, "formats": fmts,
            "source": shape["source"], "work": {"unit": "token", "count": M}}
    if (quality := accuracy.proxy(fmts)) is not None:
        meta["accuracy"] = quality
    return tiled_trace(_layer(shape, batch, tokens, T, payload), layers, tail, phase=phase, formats=fmts, meta=meta)


def _layer(s: dict, B: int, Q: int, T: int, payload) -> list[Op]:
    """The ops of one transformer layer for B requests of Q new tokens attending over T tokens."""
    h, H, G, D, ffn = s["hidden"], s["heads"], s["kv_heads"], s["head_dim"], s["ffn"]
    M = B * Q
    norm = {"E": M * h, "F": OPS_PER_ELEMENT[s["norm"]]}
    residual = {"E": M * h, "F": OPS_PER_ELEMENT["residual"]}
    attn = {"B": B, "H": H, "G": G, "Q": Q, "T": T, "D": D}
    ops: list[Op] = [
        ("elementwise", "attn_norm", norm, None),
        ("gemm", "q_proj", {"M": M, "N": H * D, "K": h}, None),
        ("gemm", "k_proj", {"M": M, "N": G * D, "K": h}, None),
        ("gemm", "v_proj", {"M": M, "N": G * D, "K": h}, None),
    ]
    if s["positions"] == "rope":
        ops.append(("elementwise", "rope", {"E": M * (H + G) * D, "F": OPS_PER_ELEMENT["rope"]}, None))
    ops += [
        ("kv_append", "kv_append", {"B": B, "G": G, "Q": Q, "D": D}, None),
        ("attention_score", "attn_score", attn, payload),
        ("softmax", "softmax", {"B": B, "H": H, "Q": Q, "T": T}, payload),
        ("attention_context", "attn_context", attn, payload),
        ("gemm", "o_proj", {"M": M, "N": h, "K": H * D}, None),
        ("elementwise", "attn_residual", residual, None),
        ("elementwise", "ffn_norm", norm, None),
    ]
    if s["ffn_type"] == "swiglu":
        ops += [("gemm", "gate_proj", {"M": M, "N": ffn, "K": h}, None),
                ("gemm", "up_proj", {"M": M, "N": ffn, "K": h}, None),
                ("elementwise", "silu_mul", {"E": M * ffn, "F": OPS_PER_ELEMENT["swiglu"]}, None),
                ("gemm", "down_proj", {"M": M, "N": h, "K": ffn}, None)]
    else:
        ops += [("gemm", "fc1", {"M": M, "N": ffn, "K": h}, None),
                ("elementwise", "relu", {"E": M * ffn, "F": OPS_PER_ELEMENT["relu"]}, None),
                ("gemm", "fc2", {"M": M, "N": h, "K": ffn}, None)]
    return ops + [("elementwise", "ffn_residual", residual, None)]
