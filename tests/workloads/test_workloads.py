"""Workload zoo and trace generators: shapes, MAC counts, GQA, ragged batches, bad specs."""

import numpy as np
import pytest

from sim.errors import WorkloadError
from sim.lowering import GEMM_KINDS, conv_output_size, lower
from sim.trace import Trace
from workloads import build, models
from workloads.llm import KVCacheState
from workloads.zoo import family


def macs(trace, names=None):
    total = 0
    for kind in trace.kinds():
        if kind in GEMM_KINDS:
            rows, dims = trace.dims(kind)
            m = lower(kind, dims).macs
            keep = np.ones(len(rows), bool) if names is None else np.isin(trace.ops["name"].to_numpy()[rows], names)
            total += int(m[keep].sum())
    return total


def test_zoo_shapes():
    llm = family("llm")
    assert {k: llm["llama-2-7b"][k] for k in ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab")} == \
        {"hidden": 4096, "layers": 32, "heads": 32, "kv_heads": 32, "ffn": 11008, "vocab": 32000}
    assert (llm["llama-3.1-405b"]["layers"], llm["llama-3.1-405b"]["kv_heads"], llm["llama-3.1-405b"]["ffn"]) == (126, 8, 53248)
    assert llm["opt-66b"]["heads"] == 72 and llm["opt-66b"]["ffn_type"] == "plain"
    assert {"llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "llama-3.1-405b",
            "opt-6.7b", "opt-66b"} <= set(models()["llm"])
    assert {"resnet-50", "pointpillars-kitti"} <= set(models()["cnn"])


def test_llama2_7b_decode_weight_macs():
    t = build({"model": "llama-2-7b", "phase": "decode", "context": 4096, "lm_head": False})
    weight_gemms = t.ops.loc[t.ops["kind"] == "gemm", "name"].tolist()
    assert macs(t, weight_gemms) == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    attn = t.ops[t.ops["kind"] == "attention_score"].iloc[0]
    assert (attn["B"], attn["H"], attn["Q"], attn["T"], attn["D"]) == (1, 32, 1, 4096, 128)
    per_layer = t.ops[t.ops["layer"] == 0]["name"].str.split(".").str[1].tolist()
    assert per_layer == ["attn_norm", "q_proj", "k_proj", "v_proj", "rope", "kv_append", "attn_score", "softmax",
                         "attn_context", "o_proj", "attn_residual", "ffn_norm", "gate_proj", "up_proj", "silu_mul",
                         "down_proj", "ffn_residual"]


def test_gqa_and_prefill_shapes():
    t = build({"model": "llama-3-8b", "phase": "prefill", "prompt": 128, "batch": 2, "num_layers": 1})
    ops = t.ops.set_index("name")
    assert ops.loc["L0.k_proj", "N"] == 1024 and ops.loc["L0.q_proj", "N"] == 4096
    assert ops.loc["L0.q_proj", "M"] == 256
    assert (ops.loc["L0.attn_score", "G"], ops.loc["L0.attn_score", "Q"], ops.loc["L0.attn_score", "T"]) == (8, 128, 128)
    assert ops.loc["lm_head", "M"] == 2 and ops.loc["lm_head", "N"] == 128256


def test_opt_has_no_rope_and_plain_ffn():
    names = build({"model": "opt-6.7b", "phase": "decode", "context": 16, "num_layers": 1}).ops["name"].tolist()
    assert "L0.rope" not in names and "L0.fc1" in names and "L0.gate_proj" not in names


def test_resnet50_macs():
    assert macs(build({"model": "resnet-50"})) == pytest.approx(4.09e9, rel=0.02)


def test_pointpillars_maps():
    t = build({"model": "pointpillars-kitti"})
    rows, d = t.dims("conv2d")
    E = conv_output_size(d["H"], d["R"], d["stride"], d["pad"])
    F = conv_output_size(d["W"], d["S"], d["stride"], d["pad"])
    names = t.ops["name"].to_numpy()[rows]
    sizes = dict(zip(names, zip(E, F)))
    assert sizes["block1.conv0"] == (248, 216) and sizes["block2.conv0"] == (124, 108)
    assert sizes["block3.conv5"] == (62, 54) and sizes["head.conv_box"] == (248, 216)
    assert sum(n.startswith("block") for n in names) == 4 + 6 + 6
    deconv = lower("deconv2d", t.dims("deconv2d")[1])
    assert deconv.o_elems.tolist() == [248 * 216 * 128] * 3


def test_ragged_decode_payload_and_kv_state(tmp_path):
    kv = KVCacheState(np.array([100, 300]))
    kv.append()
    assert kv.lengths.tolist() == [101, 301] and kv.ragged
    t = build({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [100, 300, 50], "num_layers": 2})
    score = t.ops[t.ops["kind"] == "attention_score"]
    assert score["T"].tolist() == [300, 300] and score["B"].tolist() == [3, 3]
    assert t.payloads[int(score["id"].iloc[0])]["kv_len"].tolist() == [100, 300, 50]
    assert Trace.load(t.save(tmp_path / "ragged.parquet")).equals(t)


@pytest.mark.parametrize("spec, field", [
    ({"model": "gpt-9"}, "workload.model"),
    ({"model": "llama-2-7b", "phase": "train"}, "workload.phase"),
    ({"model": "llama-2-7b", "phase": "decode"}, "workload.context"),
    ({"model": "llama-2-7b", "phase": "prefill"}, "workload.prompt"),
    ({"model": "llama-2-7b", "phase": "decode", "context": 0}, "workload.context"),
    ({"model": "llama-2-7b", "phase": "decode", "context": 8, "batch": "two"}, "workload.batch"),
    ({"model": "llama-2-7b", "phase": "decode", "context": 8, "num_layers": 33}, "workload.num_layers"),
    ({"model": "llama-2-7b", "phase": "decode", "context": 8, "colour": 1}, "workload.colour"),
    ({"model": "llama-2-7b", "phase": "decode", "context": 8, "formats": {"W": "int3"}}, "workload.formats.W"),
    ({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [4, 0]}, "workload.kv_lengths"),
    ({"model": "pointpillars-kitti", "layers": ["block9.conv0"]}, "workload.layers"),
    ({"model": "resnet-50", "phase": "decode"}, "workload.phase"),
])
def test_bad_specs(spec, field):
    with pytest.raises(WorkloadError) as err:
        build(spec)
    assert str(err.value).startswith(field) and "\n" not in str(err.value)
