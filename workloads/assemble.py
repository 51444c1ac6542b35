"""Bulk assembly of a trace whose ops repeat per layer: the columnar counterpart of ``TraceBuilder.add``.

An LLM step is one block of ~17 ops repeated once per layer. Adding hundreds of ops one by one and
letting pandas build the table row by row is slow (~13 ms for LLaMA-2-7B); here the block's
dimension rows are computed once and tiled with numpy. The table has the columns and dtypes of a
``TraceBuilder`` table (both use ``sim.trace.COLUMNS``; a test checks that both paths give equal
traces) and passes the same ``sim.trace.validate``.

Operand formats are set only for the operands an op kind has (``OPERANDS_OF``), "" elsewhere.
"""

from __future__ import annotations

import numpy as np

from sim.trace import ABSENT, DIMS, OP_KINDS, OPERANDS, Trace, validate

# (kind, name, dims, payload or None)
Op = tuple[str, str, dict[str, int], dict[str, np.ndarray] | None]

# Which operands each emitted op kind reads or writes: W weights, A input activations (queries and
# probabilities for attention), O outputs, KV the cache.
OPERANDS_OF: dict[str, tuple[str, ...]] = {
    "gemm": ("W", "A", "O"),
    "conv2d": ("W", "A", "O"),
    "deconv2d": ("W", "A", "O"),
    "attention_score": ("A", "KV", "O"),
    "attention_context": ("A", "KV", "O"),
    "softmax": ("A", "O"),
    "elementwise": ("A", "O"),
    "kv_append": ("A", "KV"),
}
_DIM_INDEX = {d: i for i, d in enumerate(DIMS)}


def op_formats(kind: str, formats: dict[str, str]) -> dict[str, str]:
    """The operand formats of one op of ``kind``."""
    return {o: formats[o] for o in OPERANDS_OF[kind]}


def _dim_rows(ops: list[Op]) -> np.ndarray:
    rows = np.full((len(ops), len(DIMS)), ABSENT, dtype=np.int64)
    for r, (kind, _, dims, _) in enumerate(ops):
        for dim, default in OP_KINDS[kind].items():
            rows[r, _DIM_INDEX[dim]] = dims.get(dim, default)
    return rows


def tiled_trace(block: list[Op], repeats: int, tail: list[Op], *, phase: str, formats: dict[str, str],
                meta: dict) -> Trace:
    """``repeats`` copies of ``block`` (op names prefixed ``L{i}.``, layer i), then ``tail`` (layer ``repeats``).

    Deps are the default chain (each op waits on the previous one). The copies of an op share its
    payload arrays (pass read-only arrays).
    """
    ops = block * repeats + tail
    n, nb = len(ops), len(block)
    dims = np.vstack([np.tile(_dim_rows(block), (repeats, 1)), _dim_rows(tail)])
    kinds = [op[0] for op in ops]
    columns = {
        "id": np.arange(n, dtype=np.int64),
        "name": [f"L{i}.{op[1]}" for i in range(repeats) for op in block] + [op[1] for op in tail],
        "layer": np.concatenate([np.repeat(np.arange(repeats, dtype=np.int64), nb),
                                 np.full(len(tail), repeats, dtype=np.int64)]),
        "phase": [phase] * n,
        "kind": kinds,
        **{d: dims[:, i] for i, d in enumerate(DIMS)},
        **{f"fmt_{o}": [formats[o] if o in OPERANDS_OF[k] else "" for k in kinds] for o in OPERANDS},
        "deps": [()] + [(i,) for i in range(n - 1)],
    }
    payloads = {i: dict(op[3]) for i, op in enumerate(ops) if op[3]}
    trace = Trace(columns, payloads, dict(meta))
    validate(trace, source=f"{meta.get('model', 'workload')} trace")
    return trace
