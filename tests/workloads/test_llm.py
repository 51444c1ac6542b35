"""LLM traces: op order, GEMM and attention shapes, MAC counts, GQA, ragged decode, the bulk path."""

import numpy as np
import pytest

from sim.errors import WorkloadError
from sim.trace import Trace, TraceBuilder
from workloads import KVCacheState, build, decode, prefill
from workloads.assemble import op_formats

LLAMA_LAYER = ["attn_norm", "q_proj", "k_proj", "v_proj", "rope", "kv_append", "attn_score", "softmax", "attn_context",
               "o_proj", "attn_residual", "ffn_norm", "gate_proj", "up_proj", "silu_mul", "down_proj", "ffn_residual"]
OPT_LAYER = ["attn_norm", "q_proj", "k_proj", "v_proj", "kv_append", "attn_score", "softmax", "attn_context",
             "o_proj", "attn_residual", "ffn_norm", "fc1", "relu", "fc2", "ffn_residual"]


def ops_by_name(trace):
    return trace.ops.set_index("name")


def test_llama2_7b_decode_weight_macs():
    t = build({"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 4096})
    gemms = t.ops[(t.ops["kind"] == "gemm") & (t.ops["name"] != "lm_head")]
    macs = int((gemms["M"] * gemms["N"] * gemms["K"]).sum())
    assert macs == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008) == 6_476_005_376
    head = ops_by_name(t).loc["lm_head"]
    assert (head["M"], head["N"], head["K"], head["layer"]) == (1, 32000, 4096, 32)


def test_per_layer_op_order_and_identity():
    t = decode("llama-2-7b", context=16)
    assert len(t) == 32 * len(LLAMA_LAYER) + 2
    assert t.ops["name"].tolist()[:17] == [f"L0.{n}" for n in LLAMA_LAYER]
    assert t.ops["name"].tolist()[-19:] == [f"L31.{n}" for n in LLAMA_LAYER] + ["final_norm", "lm_head"]
    assert t.ops["layer"].tolist() == sorted(t.ops["layer"]) and set(t.ops["phase"]) == {"decode"}
    assert list(t.ops["deps"][:3]) == [(), (0,), (1,)]
    opt = decode("opt-6.7b", context=16, num_layers=1, lm_head=False)
    assert opt.ops["name"].tolist() == [f"L0.{n}" for n in OPT_LAYER]


def test_decode_shapes():
    ops = ops_by_name(decode("llama-2-7b", context=4096, batch=4, num_layers=1))
    assert (ops.loc["L0.q_proj", ["M", "N", "K"]] == [4, 4096, 4096]).all()
    assert (ops.loc["L0.attn_score", ["B", "H", "G", "Q", "T", "D"]] == [4, 32, 32, 1, 4096, 128]).all()
    assert (ops.loc["L0.softmax", ["B", "H", "Q", "T"]] == [4, 32, 1, 4096]).all()
    assert (ops.loc["L0.kv_append", ["B", "G", "Q", "D"]] == [4, 32, 1, 128]).all()
    assert (ops.loc["L0.attn_norm", ["E", "F"]] == [4 * 4096, 4]).all()
    assert (ops.loc["L0.rope", ["E", "F"]] == [4 * (32 + 32) * 128, 3]).all()
    assert (ops.loc["L0.silu_mul", ["E", "F"]] == [4 * 11008, 5]).all()


def test_gqa_prefill_shapes():
    t = prefill("llama-3-8b", prompt=128, batch=2, num_layers=1)
    ops = ops_by_name(t)
    assert ops.loc["L0.k_proj", "N"] == ops.loc["L0.v_proj", "N"] == 1024
    assert (ops.loc["L0.q_proj", ["M", "N", "K"]] == [256, 4096, 4096]).all()
    assert (ops.loc["L0.attn_context", ["B", "H", "G", "Q", "T", "D"]] == [2, 32, 8, 128, 128, 128]).all()
    assert (ops.loc["L0.kv_append", ["B", "G", "Q", "D"]] == [2, 8, 128, 128]).all()
    assert (ops.loc["L0.rope", "E"]) == 256 * (32 + 8) * 128
    assert ops.loc["final_norm", "E"] == 256 * 4096  # every token is normed ...
    assert (ops.loc["lm_head", ["M", "N"]] == [2, 128256]).all()  # ... only the last one per request gets logits
    assert t.meta == {"model": "llama-3-8b", "phase": "prefill", "batch": 2, "prompt": 128, "num_layers": 1,
                      "lm_head": True, "formats": {"W": "int8", "A": "int8", "O": "int8", "KV": "int8"},
                      "source": "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json",
                      "work": {"unit": "token", "count": 2 * 128},  # prefill consumes batch x prompt tokens
                      "accuracy": {"sqnr_db": 28.821, "proxy": "MiniLM output SQNR of the (W, A) format pair"}}


def test_operand_formats_per_kind():
    t = decode("llama-2-7b", context=8, num_layers=1, formats={"W": "mxfp4", "KV": "int4"})
    ops = ops_by_name(t)
    assert ops.loc["L0.q_proj", ["fmt_W", "fmt_A", "fmt_O", "fmt_KV"]].tolist() == ["mxfp4", "int8", "int8", ""]
    assert ops.loc["L0.attn_score", ["fmt_W", "fmt_A", "fmt_O", "fmt_KV"]].tolist() == ["", "int8", "int8", "int4"]
    assert ops.loc["L0.kv_append", ["fmt_W", "fmt_A", "fmt_O", "fmt_KV"]].tolist() == ["", "int8", "", "int4"]
    assert t.meta["formats"] == {"W": "mxfp4", "A": "int8", "O": "int8", "KV": "int4"}


def test_kv_cache_state():
    kv = KVCacheState([100, 300])
    assert kv.append().lengths.tolist() == [101, 301]
    assert kv.append([0, 5]).lengths.tolist() == [101, 306] and kv.lengths.dtype == np.int64
    with pytest.raises(WorkloadError, match=r"^kv_cache.lengths\[1\]: got -1"):
        KVCacheState([3, -1])
    with pytest.raises(WorkloadError, match=r"^kv_cache.append.tokens: got \[1, 2, 3\]"):
        kv.append([1, 2, 3])


def test_ragged_decode_payload_and_round_trip(tmp_path):
    kv = KVCacheState([99, 299, 49]).append()
    t = decode("llama-2-7b", kv_lengths=kv.lengths, num_layers=2)
    attn = t.ops[t.ops["kind"].isin(["attention_score", "softmax", "attention_context"])]
    assert len(attn) == 6 and attn["T"].tolist() == [300] * 6 and attn["B"].tolist() == [3] * 6
    for op_id in attn["id"]:
        assert t.payloads[int(op_id)]["kv_len"].dtype == np.int64
        assert t.payloads[int(op_id)]["kv_len"].tolist() == [100, 300, 50]
    assert sorted(t.payloads) == attn["id"].tolist()
    assert (t.meta["batch"], t.meta["context"], t.meta["kv_lengths"]) == (3, 300, [100, 300, 50])
    kv.append()
    assert t.payloads[int(attn["id"].iloc[0])]["kv_len"].tolist() == [100, 300, 50]  # a snapshot, not a view
    assert Trace.load(t.save(tmp_path / "ragged.parquet")).equals(t)


def test_uniform_kv_lengths_equal_batch_and_context():
    ragged = build({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [64, 64], "num_layers": 2})
    uniform = build({"model": "llama-2-7b", "phase": "decode", "batch": 2, "context": 64, "num_layers": 2})
    assert ragged.equals(uniform) and not ragged.payloads


def test_prefill_round_trip(tmp_path):
    t = build({"model": "opt-66b", "phase": "prefill", "prompt": 32, "num_layers": 3, "formats": {"A": "bf16"}})
    assert Trace.load(t.save(tmp_path / "prefill.parquet")).equals(t)


@pytest.mark.parametrize("spec", [
    {"model": "llama-3-70b", "phase": "decode", "kv_lengths": [5, 9], "num_layers": 3},
    {"model": "opt-6.7b", "phase": "prefill", "prompt": 7, "batch": 2, "num_layers": 2, "lm_head": False},
])
def test_bulk_path_equals_trace_builder(spec):
    t = build(spec)
    b = TraceBuilder(meta=t.meta)
    for _, op in t.ops.iterrows():
        dims = {d: op[d] for d in ("M", "N", "K", "B", "H", "G", "Q", "T", "D", "E", "F") if op[d] != -1}
        fmts = {o: op[f"fmt_{o}"] for o in ("W", "A", "O", "KV") if op[f"fmt_{o}"]}
        assert fmts == op_formats(op["kind"], t.meta["formats"])
        b.add(op["kind"], op["name"], dims, layer=op["layer"], phase=op["phase"], formats=fmts,
              payload=t.payloads.get(op["id"]))
    assert b.build().equals(t)
