"""Sparse layers of a trace as the SPADE model sees them: the payloads of each ``sparse_conv2d`` /
``sparse_deconv2d`` op checked and summarised (active sets, per-offset rule rows, layer type, the
key under which its rules can be reused)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from sim.errors import TraceFormatError
from sim.models import OpBatch

SPARSE_KINDS = ("sparse_conv2d", "sparse_deconv2d")


@dataclass(frozen=True)
class SparseLayer:
    """One sparse op: ``layer_type`` is ``conv`` (dilating or strided, SD-Conv included), ``subm``
    (output set = input set, stride 1) or ``deconv``; ``in_rows`` / ``out_rows`` hold each kernel
    offset's rule rows (pairs sorted by offset, as the rules give them); ``selected``: input rows
    SD-Conv dilates (None: not an SD-Conv layer); ``kept``: output rows DVP keeps (None: no DVP);
    ``rule_key``: equal for layers whose rules are the same (a transposed conv keyed as the forward
    conv it inverts)."""

    op_id: int
    name: str
    kind: str
    layer_type: str
    cin: int
    cout: int
    offsets: int
    n_in: int
    n_out: int
    pair_count: np.ndarray
    in_rows: tuple[np.ndarray, ...]
    out_rows: tuple[np.ndarray, ...]
    selected: np.ndarray | None
    kept: np.ndarray | None
    rule_key: str

    @property
    def pairs(self) -> int:
        return int(self.pair_count.sum())

    @property
    def n_written(self) -> int:
        """Output vectors written back: those DVP keeps, else all."""
        return self.n_out if self.kept is None else len(self.kept)


def _fail(model: str, op_id: int, name: str, problem: str) -> TraceFormatError:
    return TraceFormatError(f"model {model!r}, op {op_id} ({name!r}): {problem}")


def _array(payload: dict, key: str, ndim: int, cols: int | None, where) -> np.ndarray:
    """Payload ``key`` as an int64 array of the contract's shape, or a one-line error."""
    if key not in payload:
        raise where(f"payload {key!r}: missing; a sparse op carries coords, out_coords, pair_count and pairs "
                    "(optional: selected, dvp_kept)")
    a = np.asarray(payload[key])
    shape_ok = a.ndim == ndim and (cols is None or a.shape[1] == cols)
    if a.dtype.kind not in "iu" or not shape_ok:
        want = f"(n, {cols})" if cols else "(n,)"
        raise where(f"payload {key!r}: got {a.dtype} array of shape {a.shape}; allowed: integers of shape {want}")
    return a.astype(np.int64, copy=False)


def _rows(values: np.ndarray, limit: int, key: str, where) -> None:
    if values.size and (values.min() < 0 or values.max() >= limit):
        raise where(f"payload {key!r}: row {int(values.max() if values.max() >= limit else values.min())} "
                    f"out of range; allowed: 0..{limit - 1}")


def sparse_layers(batch: OpBatch, model: str) -> list[SparseLayer]:
    """The checked layers of a batch of sparse ops, in batch order."""
    d = batch.dims
    layers = []
    for i, (op_id, name) in enumerate(zip(batch.ids.tolist(), batch.names.tolist())):
        payload = batch.payloads.get(op_id, {})

        def where(problem, op_id=op_id, name=name):
            return _fail(model, op_id, name, problem)

        if d["N"][i] != 1:
            raise where(f"dims.N: got {int(d['N'][i])}; allowed: 1 (a sparse op carries one frame's active set; "
                        "one op per frame)")
        coords, out_coords = _array(payload, "coords", 2, 2, where), _array(payload, "out_coords", 2, 2, where)
        grid = (int(d["H"][i]), int(d["W"][i]))
        if coords.size and (coords.min() < 0 or np.any(coords.max(axis=0) >= grid)):
            raise where(f"payload 'coords': (y, x) up to {tuple(coords.max(axis=0).tolist())}, min {int(coords.min())}; "
                        f"allowed: inside the H x W = {grid[0]} x {grid[1]} input grid")
        counts, pairs = _array(payload, "pair_count", 1, None, where), _array(payload, "pairs", 2, 3, where)
        offsets = int(d["R"][i] * d["S"][i])
        if len(counts) != offsets or (counts.size and counts.min() < 0):
            raise where(f"payload 'pair_count': got {len(counts)} counts (min {counts.min() if counts.size else '-'}); "
                        f"allowed: R*S = {offsets} counts >= 0")
        if int(counts.sum()) != len(pairs):
            raise where(f"payload 'pairs': got {len(pairs)} rows; allowed: sum(pair_count) = {int(counts.sum())}")
        if pairs.size and np.any(pairs[:, 0] != np.repeat(np.arange(offsets), counts)):
            raise where("payload 'pairs': offsets (column 0) do not follow pair_count; allowed: rows sorted by offset")
        n_in, n_out = len(coords), len(out_coords)
        _rows(pairs[:, 1], n_in, "pairs", where)
        _rows(pairs[:, 2], n_out, "pairs", where)
        selected = _optional(payload, "selected", n_in, where)
        kept = _optional(payload, "dvp_kept", n_out, where)
        stride = int(d["stride"][i])
        kind = batch.kind
        same_set = n_in == n_out and np.array_equal(coords, out_coords)
        layer_type = "deconv" if kind == "sparse_deconv2d" else (
            "subm" if same_set and stride == 1 and selected is None else "conv")
        shape = (int(d["R"][i]), int(d["S"][i]), stride, int(d["pad"][i]))
        ends = (out_coords, coords) if kind == "sparse_deconv2d" else (coords, out_coords)
        key = hashlib.blake2b(repr(shape).encode() + b"".join(np.ascontiguousarray(e, np.int64).tobytes() + b"|"
                                                             for e in ends), digest_size=16).hexdigest()
        bounds = np.concatenate([[0], np.cumsum(counts)])
        layers.append(SparseLayer(
            op_id, name, kind, layer_type, int(d["C"][i]), int(d["K"][i]), offsets, n_in, n_out, counts,
            tuple(pairs[a:b, 1] for a, b in zip(bounds[:-1], bounds[1:])),
            tuple(pairs[a:b, 2] for a, b in zip(bounds[:-1], bounds[1:])), selected, kept, key))
    return layers


def _optional(payload: dict, key: str, limit: int, where) -> np.ndarray | None:
    if key not in payload:
        return None
    rows = _array(payload, key, 1, None, where)
    _rows(rows, limit, key, where)
    return rows
