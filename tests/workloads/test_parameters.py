"""Workload parameters have documented bounds (``workloads.parameters``), enforced at build time,
and the largest allowed values give exact (not overflowed) traces for every zoo model."""

import pytest
import yaml

from sim.config import load_config
from sim.engine import run
from sim.errors import WorkloadError
from sim.models import build_model
from workloads import build, models, parameters
from workloads.zoo import ZOO

LLMS, CNNS = models()["llm"], models()["cnn"]
EDGE = build_model(load_config("edge-32"))


def _spec(model, name):
    """A valid spec of ``model`` in which parameter ``name`` applies."""
    if model in CNNS:
        return {"model": model}
    return {"model": model, **({"phase": "prefill", "prompt": 8} if name == "prompt" else {"phase": "decode", "context": 8})}


@pytest.mark.parametrize("model", LLMS + CNNS)
def test_every_bound_is_enforced_with_the_allowed_range(model):
    for name, param in parameters(model).items():
        if param.type != "int":
            continue
        for bad in (param.low - 1, param.high + 1):
            with pytest.raises(WorkloadError) as err:
                build({**_spec(model, name), name: bad})
            assert str(err.value) == f"workload.{name}: got {bad}; allowed: an integer from {param.low} to {param.high}"


def test_huge_context_is_refused():
    with pytest.raises(WorkloadError, match=r"workload.context: got 999999999; allowed: an integer from 1 to \d+$"):
        build({"model": "llama-2-7b", "phase": "decode", "context": 999999999})


def test_num_layers_is_bounded_by_the_models_layer_count():
    zoo = yaml.safe_load((ZOO / "llm.yaml").read_text())
    assert {m: parameters(m)["num_layers"].high for m in LLMS} == {m: zoo[m]["layers"] for m in LLMS}


def test_ragged_batch_is_bounded_in_count_and_length():
    params = parameters("llama-2-7b")
    with pytest.raises(WorkloadError, match=r"kv_lengths: got \d+ lengths; allowed: at most 4096"):
        build({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [1] * (params["batch"].high + 1)})
    with pytest.raises(WorkloadError, match=r"kv_lengths\[1\]: got 1048577"):
        build({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [1, params["kv_lengths"].high + 1]})


@pytest.mark.parametrize("model", LLMS)
def test_largest_allowed_llm_traces_are_exact(model):
    """At the corners of the bounds every op is within the trace's work bound, and the attention
    MACs equal the product of the shape's numbers in exact integers (no int64 wrap-around)."""
    zoo = yaml.safe_load((ZOO / "llm.yaml").read_text())[model]
    params = parameters(model)
    batch = params["batch"].high
    for phase, key in (("prefill", "prompt"), ("decode", "context")):
        tokens = params[key].high
        ops = run(build({"model": model, "phase": phase, key: tokens, "batch": batch, "num_layers": 1}), EDGE).ops
        q = tokens if phase == "prefill" else 1
        macs = ops.loc[ops["kind"] == "attention_score", "macs"].tolist()
        assert macs == [batch * zoo["heads"] * q * tokens * zoo["head_dim"]]
        assert (ops.select_dtypes("number").fillna(0) >= 0).all().all()


@pytest.mark.parametrize("model", CNNS)
def test_largest_allowed_cnn_batch_builds(model):
    trace = build({"model": model, "batch": parameters(model)["batch"].high})
    assert set(trace.ops["N"][trace.ops["kind"] != "gemm"]) == {parameters(model)["batch"].high}
