"""Trace schema: building, validation errors, and Parquet + NPZ round trips."""

import numpy as np
import pytest

from sim.errors import TraceFormatError
from sim.trace import DIMS, Trace, TraceBuilder


def small_trace(with_payload=True) -> Trace:
    b = TraceBuilder(meta={"model": "toy", "batch": 2}, formats={"W": "int8", "A": "int8", "O": "int8"})
    b.add("gemm", "q_proj", {"M": 2, "N": 64, "K": 64}, layer=0, phase="decode")
    b.add("attention_score", "score", {"B": 2, "H": 8, "G": 2, "Q": 1, "T": 33, "D": 8}, layer=0,
          phase="decode", formats={"KV": "mxfp4"},
          payload={"kv_len": np.array([33, 17])} if with_payload else None)
    b.add("conv2d", "conv", {"C": 4, "H": 10, "W": 10, "K": 8, "R": 3, "S": 3, "pad": 1}, layer=1, phase="conv",
          deps=(0, 1))
    if with_payload:
        b.add("sparse_conv2d", "spconv", {"C": 4, "H": 10, "W": 10, "K": 8, "R": 3, "S": 3}, layer=2,
              payload={"coords": np.array([[0, 1], [5, 7]], dtype=np.int32)})
    return b.build()


def test_builder_defaults_and_columns():
    t = small_trace()
    conv = t.ops.iloc[2]
    assert (conv["N"], conv["stride"], conv["pad"]) == (1, 1, 1)
    assert t.ops.iloc[0]["K"] == 64 and t.ops.iloc[0]["H"] == -1  # absent dims are -1
    assert list(t.ops["deps"]) == [(), (0,), (0, 1), (2,)]
    assert t.kinds() == ["gemm", "attention_score", "conv2d", "sparse_conv2d"]
    rows, dims = t.dims("attention_score")
    assert rows.tolist() == [1] and dims["G"].tolist() == [2]
    assert t.formats(rows)["KV"].tolist() == ["mxfp4"]
    assert set(DIMS) <= set(t.ops.columns)


@pytest.mark.parametrize("payload", [True, False])
def test_round_trip(tmp_path, payload):
    t = small_trace(payload)
    path = t.save(tmp_path / "toy.parquet")
    assert (tmp_path / "toy.npz").exists() == payload
    back = Trace.load(path)
    assert back.equals(t)
    assert back.ops.dtypes.equals(t.ops.dtypes)


@pytest.mark.parametrize("kind, dims, match", [
    ("gemm", {"M": 0, "N": 1, "K": 1}, "dims.M: got 0"),
    ("gemm", {"M": 1, "N": 1}, "dims.K: missing"),
    ("gemm", {"M": 1, "N": 1, "K": 1, "Z": 3}, "do not exist"),
    ("matmul", {"M": 1}, "kind: got 'matmul'"),
    ("conv2d", {"C": 1, "H": 4, "W": 4, "K": 1, "R": 3, "S": 3, "pad": -1}, "dims.pad: got -1"),
])
def test_bad_ops(kind, dims, match):
    b = TraceBuilder()
    with pytest.raises(TraceFormatError, match=match):
        b.add(kind, "x", dims)
        b.build()


def test_bad_format_and_deps_and_payload():
    b = TraceBuilder(formats={"W": "int3"})
    b.add("gemm", "x", {"M": 1, "N": 1, "K": 1})
    with pytest.raises(TraceFormatError, match="unknown format 'int3'"):
        b.build()
    b = TraceBuilder()
    b.add("gemm", "x", {"M": 1, "N": 1, "K": 1}, deps=(0,))
    with pytest.raises(TraceFormatError, match="deps"):
        b.build()
    b = TraceBuilder()
    b.add("sparse_conv2d", "s", {"C": 1, "H": 4, "W": 4, "K": 1, "R": 3, "S": 3})
    with pytest.raises(TraceFormatError, match="needs payload 'coords'"):
        b.build()


def test_truncated_foreign_and_missing_files(tmp_path):
    path = small_trace().save(tmp_path / "t.parquet")
    data = path.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match="truncated or foreign"):
        Trace.load(tmp_path / "cut.parquet")
    import pandas as pd
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "foreign.parquet")
    with pytest.raises(TraceFormatError, match="not an accel-dse trace"):
        Trace.load(tmp_path / "foreign.parquet")
    with pytest.raises(TraceFormatError, match="no such file"):
        Trace.load(tmp_path / "nope.parquet")
    (tmp_path / "t.npz").write_bytes(b"garbage")
    with pytest.raises(TraceFormatError, match="payload file"):
        Trace.load(path)
    (tmp_path / "t.npz").unlink()
    with pytest.raises(TraceFormatError, match="missing"):
        Trace.load(path)


def test_op_table_from_columns_needs_every_column_and_integer_dims():
    t = small_trace(with_payload=False)
    columns = {c: t.ops[c].tolist() for c in t.ops.columns}
    assert Trace(columns, meta=t.meta).equals(t)
    assert Trace(columns).ops["M"].dtype == np.int64
    with pytest.raises(TraceFormatError, match=r"missing columns \['deps'\]"):
        Trace({c: v for c, v in columns.items() if c != "deps"})
    with pytest.raises(TraceFormatError, match="op table: M: got float64 values; allowed: integers"):
        Trace({**columns, "M": [2.5, -1, -1]})


def test_inspect_counts_a_sparse_op_by_its_rule_pairs(tmp_path, capsys):
    """`dse trace inspect` prices a sparse conv at one Cin x Cout product per rule pair."""
    from sim.cli import main

    b = TraceBuilder()
    pairs = np.array([[0, 0, 0], [4, 0, 0], [4, 1, 1], [8, 1, 0]], dtype=np.int32)  # 4 pairs
    b.add("sparse_conv2d", "s", {"C": 3, "H": 8, "W": 8, "K": 5, "R": 3, "S": 3},
          payload={"coords": np.array([[1, 1], [2, 2]], dtype=np.int32), "pairs": pairs})
    path = b.build().save(tmp_path / "t.parquet")
    assert main(["trace", "inspect", str(path)]) == 0
    assert "sparse_conv2d           1 ops                60 MACs" in capsys.readouterr().out  # 4 x 3 x 5


def test_a_trace_of_one_op_round_trips(tmp_path):
    """No op has deps, so the deps column holds only empty lists: it still saves as integer lists."""
    b = TraceBuilder()
    b.add("gemm", "g", {"M": 2, "N": 3, "K": 4})
    trace = b.build()
    assert Trace.load(trace.save(tmp_path / "one.parquet")).equals(trace)
