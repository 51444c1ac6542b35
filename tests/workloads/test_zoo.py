"""Model zoo: published shapes of a few models, and the consistency of every entry."""

from workloads import models
from workloads.cnn import ARCHITECTURES
from workloads.llm import OPS_PER_ELEMENT
from workloads.zoo import family

LLM_FIELDS = ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab")


def shape(name):
    return {k: family("llm")[name][k] for k in LLM_FIELDS}


def test_published_llm_shapes():
    assert shape("llama-2-7b") == dict(hidden=4096, layers=32, heads=32, kv_heads=32, head_dim=128, ffn=11008, vocab=32000)
    assert shape("llama-2-70b") == dict(hidden=8192, layers=80, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=32000)
    assert shape("llama-3-8b") == dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256)
    assert shape("llama-3.1-405b") == dict(hidden=16384, layers=126, heads=128, kv_heads=8, head_dim=128, ffn=53248,
                                           vocab=128256)
    assert shape("opt-66b") == dict(hidden=9216, layers=64, heads=72, kv_heads=72, head_dim=128, ffn=36864, vocab=50272)
    llama, opt = family("llm")["llama-3-70b"], family("llm")["opt-6.7b"]
    assert (llama["ffn_type"], llama["norm"], llama["positions"]) == ("swiglu", "rmsnorm", "rope")
    assert (opt["ffn_type"], opt["norm"], opt["positions"]) == ("relu", "layernorm", "learned")


def test_every_llm_entry_is_consistent():
    for name, s in family("llm").items():
        assert s["hidden"] == s["heads"] * s["head_dim"], name
        assert s["heads"] % s["kv_heads"] == 0, name
        assert s["ffn_type"] in ("swiglu", "relu") and s["norm"] in OPS_PER_ELEMENT and s["positions"] in ("rope", "learned")
        assert s["source"].startswith("https://"), name
    assert all(s["arch"] in ARCHITECTURES and s["source"] for s in family("cnn").values())


def test_models_lists_names_by_family():
    assert models() == {"llm": ["llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b",
                                "llama-3.1-405b", "opt-6.7b", "opt-66b"],
                        "cnn": ["resnet-50", "pointpillars-kitti", "pointpillars-nuscenes", "centerpoint-pillar",
                                "pillarnet"]}
