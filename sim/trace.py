"""The trace: an ordered table of einsum-like ops, the one interface every hardware model shares.

Each op has an identity (``id``, ``name``, ``layer``, ``phase``), a ``kind`` whose named loop
dimensions are fixed by ``OP_KINDS``, one number format per operand (``W`` weights, ``A``
activations, ``O`` outputs, ``KV`` cache), the ids it waits on (``deps``; default: the previous
op) and optional payload arrays (sparse coordinates, per-request KV lengths, bit streams, value
statistics) keyed by op id. ``meta`` describes the workload; its ``work`` entry (``{"unit":
"token", "count": 8}``) says how much work one run of the trace does, so results compare designs
per unit of work.

In memory the ops are columnar (numpy arrays, one int64 column per dimension name, -1 where the
kind does not use it) so models evaluate all ops of one kind with numpy at once; ``ops`` shows them
as a pandas DataFrame, built on first use (pandas is not imported otherwise: a short CLI run such as
``dse scalesim`` would spend most of its time importing it). On disk a trace is ``NAME.parquet``
(the op table, with a schema-tagged metadata record) plus ``NAME.npz`` beside it when there are
payloads.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import TraceFormatError, field_message
from sim.numerics.storage import check_format

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

SCHEMA = "accel-dse-trace"
SCHEMA_VERSION = 1

# kind -> {dimension: default (None = required)}. Dimension meanings:
#   gemm: O[M,N] += A[M,K] * W[K,N]
#   conv2d / deconv2d / sparse_conv2d / sparse_deconv2d: batch N, in-channels C, input H x W,
#       out-channels K, kernel R x S, stride, pad (the deconvs are transposed convolutions)
#   attention_score / attention_context: requests B, query heads H, KV heads G (GQA; G = H for
#       MHA), query tokens Q, KV length T, head dim D
#   softmax: over T for B*H*Q rows; elementwise: E elements, F operations per element
#   kv_append: B requests append Q tokens of K and V for G heads of dim D; kv_read likewise reads T
#   weight_decode: E weights decoded; transfer: bytes moved between units
OP_KINDS: dict[str, dict[str, int | None]] = {
    "gemm": {"M": None, "N": None, "K": None},
    "conv2d": {"N": 1, "C": None, "H": None, "W": None, "K": None, "R": None, "S": None, "stride": 1, "pad": 0},
    "deconv2d": {"N": 1, "C": None, "H": None, "W": None, "K": None, "R": None, "S": None, "stride": 1, "pad": 0},
    "sparse_conv2d": {"N": 1, "C": None, "H": None, "W": None, "K": None, "R": None, "S": None, "stride": 1, "pad": 0},
    "sparse_deconv2d": {"N": 1, "C": None, "H": None, "W": None, "K": None, "R": None, "S": None, "stride": 1, "pad": 0},
    "attention_score": {"B": None, "H": None, "G": None, "Q": None, "T": None, "D": None},
    "attention_context": {"B": None, "H": None, "G": None, "Q": None, "T": None, "D": None},
    "softmax": {"B": None, "H": None, "Q": None, "T": None},
    "elementwise": {"E": None, "F": 1},
    "kv_append": {"B": None, "G": None, "Q": None, "D": None},
    "kv_read": {"B": None, "G": None, "T": None, "D": None},
    "weight_decode": {"E": None},
    "transfer": {"bytes": None},
}
# Payloads an op kind must carry (sparse convolution needs its active sites).
REQUIRED_PAYLOADS: dict[str, tuple[str, ...]] = {"sparse_conv2d": ("coords",), "sparse_deconv2d": ("coords",)}
DIMS: tuple[str, ...] = tuple(dict.fromkeys(d for dims in OP_KINDS.values() for d in dims))
OPERANDS: tuple[str, ...] = ("W", "A", "O", "KV")
PHASES: tuple[str, ...] = ("prefill", "decode", "conv", "train", "other")
COLUMNS: tuple[str, ...] = ("id", "name", "layer", "phase", "kind", *DIMS, *(f"fmt_{o}" for o in OPERANDS), "deps")
_INTEGER_COLUMNS = frozenset(("id", "layer", *DIMS))
_ZERO_OK = {"pad"}  # dimensions that may be 0; all others must be >= 1
# The bound that keeps the models' int64 arithmetic from overflowing: no dimension, and no op's
# work (the product of its dimensions other than stride and pad, which bounds its MACs and element
# counts), exceeds 2**62, leaving headroom for the models' small factors (bits per word).
MAX_DIM = 2**62
_NOT_WORK = {"stride", "pad"}
ABSENT = -1


def _column(name: str, values) -> np.ndarray:
    """One op-table column as a numpy array: int64 (ids, layers, dims), else objects (names,
    formats, deps tuples)."""
    values = values.to_numpy() if hasattr(values, "to_numpy") else values
    if name not in _INTEGER_COLUMNS:
        return np.fromiter(values, dtype=object, count=len(values))
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iu":
        raise TraceFormatError(f"op table: {name}: got {array.dtype} values; allowed: integers")
    return array.astype(np.int64)


class Trace:
    """An ordered op table plus payload arrays and a free-form ``meta`` dict describing the workload.

    ``ops``: the op table, a mapping from every name of ``COLUMNS`` to one value per op (lists,
    numpy arrays or a pandas DataFrame). A trace is not modified after it is built.
    """

    def __init__(self, ops: Mapping | pd.DataFrame, payloads: dict[int, dict[str, np.ndarray]] | None = None,
                 meta: dict | None = None):
        missing = [c for c in COLUMNS if c not in ops]
        if missing:
            raise TraceFormatError(f"op table: missing columns {missing}")
        self._arrays = {c: _column(c, ops[c]) for c in COLUMNS}
        self.payloads = {} if payloads is None else payloads
        self.meta = {} if meta is None else meta

    def __len__(self) -> int:
        return len(self._arrays["id"])

    @cached_property
    def ops(self) -> pd.DataFrame:
        """The op table as a DataFrame (built on first use)."""
        import pandas as pd

        return pd.DataFrame(self._arrays)

    @cached_property
    def _rows_by_kind(self) -> dict[str, np.ndarray]:
        kinds = self._arrays["kind"]
        return {k: np.flatnonzero(kinds == k) for k in dict.fromkeys(kinds)}

    def column(self, name: str) -> np.ndarray:
        """One column of the op table as a numpy array."""
        return self._arrays[name]

    def kinds(self) -> list[str]:
        """Op kinds present, in order of first appearance."""
        return list(self._rows_by_kind)

    def dims(self, kind: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Row positions of the ops of ``kind`` and their dimension columns as int64 arrays."""
        rows = self._rows_by_kind.get(kind, np.zeros(0, dtype=np.int64))
        return rows, {d: self._arrays[d][rows] for d in OP_KINDS[kind]}

    def formats(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Operand format names of the given rows ("" where an operand is absent)."""
        return {o: self._arrays[f"fmt_{o}"][rows] for o in OPERANDS}

    def equals(self, other: Trace) -> bool:
        """True when ops, payloads and meta are identical."""
        if not self.ops.equals(other.ops) or self.meta != other.meta:
            return False
        if self.payloads.keys() != other.payloads.keys():
            return False
        return all(
            self.payloads[k].keys() == other.payloads[k].keys()
            and all(np.array_equal(v, other.payloads[k][n]) for n, v in self.payloads[k].items())
            for k in self.payloads
        )

    # -- storage -------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.parquet) and, when there are payloads, ``path`` with suffix .npz."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path).with_suffix(".parquet")
        table = pa.Table.from_pandas(self.ops, preserve_index=False)
        deps = table.schema.get_field_index("deps")  # typed even when every list is empty (one op)
        table = table.set_column(deps, "deps", table.column(deps).cast(pa.list_(pa.int64())))
        record = {"schema": SCHEMA, "version": SCHEMA_VERSION, "meta": self.meta,
                  "payload_ops": sorted(self.payloads)}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"accel_dse": json.dumps(record).encode()})
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        if self.payloads:
            flat = {f"{op}/{name}": arr for op, arrays in self.payloads.items() for name, arr in arrays.items()}
            np.savez_compressed(path.with_suffix(".npz"), **flat)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save`; any other file gives a :class:`TraceFormatError`."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.is_file():
            raise TraceFormatError(f"trace file {path}: {'a folder' if path.is_dir() else 'no such file'}; "
                                   "allowed: a .parquet file written by `dse trace generate`")
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError, MemoryError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TraceFormatError(f"trace file {path}: not a readable Parquet file (truncated or foreign): {reason}") from None
        record = _record(table, path)
        _check_columns(table.schema, path)
        ops = {c: table.column(c).to_pylist() for c in COLUMNS}
        ops["deps"] = [tuple(int(d) for d in deps) for deps in ops["deps"]]
        payloads = _load_payloads(path.with_suffix(".npz"), record["payload_ops"])
        trace = cls(ops, payloads, record["meta"])
        validate(trace, source=str(path))
        return trace




def _record(table: pa.Table, path: Path) -> dict:
    """The ``accel_dse`` metadata record of a trace's Parquet table: schema, version, meta, payload ops."""
    raw = (table.schema.metadata or {}).get(b"accel_dse")
    if raw is None:
        raise TraceFormatError(f"trace file {path}: a Parquet file but not an accel-dse trace (no 'accel_dse' metadata)")
    try:
        record = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        raise TraceFormatError(f"trace file {path}: corrupt 'accel_dse' metadata record") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or record.get("version") != SCHEMA_VERSION:
        got = (record.get("schema"), record.get("version")) if isinstance(record, dict) else record
        raise TraceFormatError(f"trace file {path}: " + field_message("schema and version", got,
                                                                     f"{SCHEMA!r} version {SCHEMA_VERSION}"))
    ops = record.get("payload_ops")
    if not isinstance(record.get("meta"), dict) or not isinstance(ops, list) or not all(
            isinstance(op, int) and not isinstance(op, bool) for op in ops):
        raise TraceFormatError(f"trace file {path}: corrupt 'accel_dse' metadata record (allowed: a meta mapping "
                               "and a list of payload op ids)")
    return record


def _check_columns(schema: pa.Schema, path: Path) -> None:
    """Every op column is present with its type: integers, strings, and ``deps`` a list of integers."""
    import pyarrow as pa

    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise TraceFormatError(f"trace file {path}: missing columns {missing}")
    for name in COLUMNS:
        kind = schema.field(name).type
        if name == "deps":
            ok = pa.types.is_list(kind) or pa.types.is_large_list(kind)
            ok = ok and pa.types.is_integer(kind.value_type)
            allowed = "a list of integers"
        elif name in ("name", "phase", "kind") or name.startswith("fmt_"):
            ok, allowed = pa.types.is_string(kind) or pa.types.is_large_string(kind), "a string"
        else:
            ok, allowed = pa.types.is_integer(kind), "an integer"
        if not ok:
            raise TraceFormatError(f"trace file {path}: column {name}: got type {kind}; allowed: {allowed}")


def _load_payloads(npz: Path, expected_ops: list[int]) -> dict[int, dict[str, np.ndarray]]:
    if not expected_ops:
        return {}
    if not npz.is_file():
        raise TraceFormatError(f"payload file {npz}: missing (the trace declares payloads for {len(expected_ops)} ops)")
    payloads: dict[int, dict[str, np.ndarray]] = {}
    try:
        with open(npz, "rb") as f, np.load(f, allow_pickle=False) as data:  # f closed on any error
            for key in data.files:
                op, _, name = key.partition("/")
                payloads.setdefault(int(op), {})[name] = data[key]
    except (OSError, ValueError, EOFError, KeyError, MemoryError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TraceFormatError(f"payload file {npz}: not a readable NPZ archive (truncated or foreign): {reason}") from None
    if sorted(payloads) != sorted(expected_ops):
        raise TraceFormatError(f"payload file {npz}: holds payloads for ops {sorted(payloads)[:8]}..., "
                               f"the trace declares {sorted(expected_ops)[:8]}...")
    return payloads


def _check_work(work, source: str) -> None:
    """``meta["work"]``, if given: ``{"unit": a name, "count": a number > 0 and <= MAX_DIM}``."""
    if work is None:
        return
    allowed = 'a mapping {unit: a name such as "token", count: a number > 0}'
    if not isinstance(work, dict) or set(work) != {"unit", "count"}:
        raise TraceFormatError(f"{source}: meta.work: got {work!r}; allowed: {allowed}")
    unit, count = work["unit"], work["count"]
    if not (isinstance(unit, str) and re.fullmatch(r"[A-Za-z][\w ]*", unit)):
        raise TraceFormatError(f"{source}: meta.work.unit: got {unit!r}; allowed: a name such as \"token\" or \"frame\"")
    if isinstance(count, bool) or not isinstance(count, (int, float)) or not 0 < count <= MAX_DIM:
        raise TraceFormatError(f"{source}: meta.work.count: got {count!r}; allowed: a number > 0 and <= 2**62")


class TraceBuilder:
    """Accumulates ops one by one and builds a validated, columnar :class:`Trace`."""

    def __init__(self, meta: dict | None = None, formats: dict[str, str] | None = None):
        self.meta = dict(meta or {})
        self.default_formats = dict(formats or {})
        self._rows: list[dict] = []
        self._payloads: dict[int, dict[str, np.ndarray]] = {}

    def add(self, kind: str, name: str, dims: dict[str, int], *, layer: int = 0, phase: str = "other",
            formats: dict[str, str] | None = None, deps: tuple[int, ...] | None = None,
            payload: dict[str, np.ndarray] | None = None) -> int:
        """Append one op and return its id. Missing dims take the kind's defaults."""
        if kind not in OP_KINDS:
            raise TraceFormatError(f"op {name!r}: kind: got {kind!r}; allowed: {', '.join(OP_KINDS)}")
        unknown = set(dims) - set(OP_KINDS[kind])
        if unknown:
            raise TraceFormatError(f"op {name!r}: dims {sorted(unknown)} do not exist for kind {kind!r}; "
                                   f"allowed: {', '.join(OP_KINDS[kind])}")
        op_id = len(self._rows)
        row = {"id": op_id, "name": name, "layer": layer, "phase": phase, "kind": kind}
        row.update({d: ABSENT for d in DIMS})
        for dim, default in OP_KINDS[kind].items():
            value = dims.get(dim, default)
            if value is None:
                raise TraceFormatError(f"op {name!r}: dims.{dim}: missing; kind {kind!r} needs {', '.join(OP_KINDS[kind])}")
            row[dim] = int(value)
            if row[dim] > MAX_DIM:
                raise TraceFormatError(f"op {name!r}: dims.{dim}: got {row[dim]}; allowed: an integer <= {MAX_DIM}")
        fmts = {**self.default_formats, **(formats or {})}
        row.update({f"fmt_{o}": fmts.get(o, "") for o in OPERANDS})
        row["deps"] = tuple(deps) if deps is not None else ((op_id - 1,) if op_id else ())
        self._rows.append(row)
        if payload:
            self._payloads[op_id] = {k: np.asarray(v) for k, v in payload.items()}
        return op_id

    def build(self) -> Trace:
        trace = Trace({c: [row[c] for row in self._rows] for c in COLUMNS}, self._payloads, self.meta)
        validate(trace, source="trace")
        return trace


def validate(trace: Trace, source: str = "trace") -> None:
    """Check ids, kinds, dimension ranges, formats, deps, required payloads and the work the trace
    declares (``meta["work"]``); raise on the first problem."""
    _check_work(trace.meta.get("work"), source)
    ids, names = trace.column("id"), trace.column("name")
    if not len(trace):
        raise TraceFormatError(f"{source}: no ops; allowed: at least one op")
    if not np.array_equal(ids, np.arange(len(trace))):
        raise TraceFormatError(f"{source}: op ids must be 0..{len(trace) - 1} in order")
    bad_kind = set(trace.kinds()) - set(OP_KINDS)
    if bad_kind:
        raise TraceFormatError(f"{source}: kind: got {sorted(bad_kind)}; allowed: {', '.join(OP_KINDS)}")
    bad_phase = set(trace.column("phase")) - set(PHASES)
    if bad_phase:
        raise TraceFormatError(f"{source}: phase: got {sorted(bad_phase)}; allowed: {', '.join(PHASES)}")
    for kind in trace.kinds():
        rows, dims = trace.dims(kind)
        work = np.ones(len(rows))
        for dim, values in dims.items():
            low = 0 if dim in _ZERO_OK else 1
            bad = np.flatnonzero((values < low) | (values > MAX_DIM))
            if bad.size:
                row = rows[bad[0]]
                raise TraceFormatError(f"{source}: op {ids[row]} ({names[row]!r}) dims.{dim}: got {values[bad[0]]}; "
                                       f"allowed: integer from {low} to {MAX_DIM}")
            if dim not in _NOT_WORK:
                work *= values
        bad = np.flatnonzero(work > MAX_DIM)
        if bad.size:
            row = rows[bad[0]]
            raise TraceFormatError(f"{source}: op {ids[row]} ({names[row]!r}) work (product of its dims): got "
                                   f"{work[bad[0]]:.3g}; allowed: <= 2**62 (int64 arithmetic)")
        for name in REQUIRED_PAYLOADS.get(kind, ()):
            for op_id in ids[rows]:
                if name not in trace.payloads.get(int(op_id), {}):
                    raise TraceFormatError(f"{source}: op {op_id} of kind {kind!r} needs payload {name!r}")
    _check_payloads(trace, source)
    for operand in OPERANDS:
        for fmt in set(trace.column(f"fmt_{operand}")) - {""}:
            check_format(fmt, field=f"{source}: fmt_{operand}")
    for op_id, deps in zip(ids.tolist(), trace.column("deps")):
        if any(d < 0 or d >= op_id for d in deps):
            raise TraceFormatError(f"{source}: op {op_id} deps: got {list(deps)}; allowed: ids of earlier ops")


def _check_payloads(trace: Trace, source: str) -> None:
    """Payloads belong to existing ops; ``kv_len`` holds B integers from 1 to T (one KV length per request)."""
    for op_id, arrays in trace.payloads.items():
        if not 0 <= op_id < len(trace):
            raise TraceFormatError(f"{source}: payload of op {op_id}: no such op; allowed: ids 0..{len(trace) - 1}")
        kv = arrays.get("kv_len")
        if kv is None:
            continue
        b, t = int(trace.column("B")[op_id]), int(trace.column("T")[op_id])
        if not (kv.ndim == 1 and kv.dtype.kind in "iu" and len(kv) == b and kv.min() >= 1 and kv.max() <= t):
            raise TraceFormatError(f"{source}: op {op_id} payload kv_len: got {kv.dtype} {kv.ravel()[:8].tolist()}"
                                   f"{'...' if kv.size > 8 else ''} (shape {kv.shape}); "
                                   f"allowed: {b} integers (B) from 1 to {t} (T)")
