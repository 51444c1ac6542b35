"""Pipelined MAC units and PE arrays: at every pipeline depth a unit is bit-exact against its golden
model shifted by exactly its latency (1 + pipeline), and by no other shift."""

import numpy as np
import pytest

from hw import generators, golden, pysim, stimuli
from hw.adapters import delay
from hw.int_mac import MAX_PIPELINE

INT_UNITS = ["int4xint4", "dint4xint8"]  # exhaustive in a few thousand cycles
BLOCK_UNITS = [("mxfp4", "e8m0", 2), ("amxfp4", "e5m2", 3), ("amxfp4", "e4m3", 3), ("amxfp4", "e8m0", 2)]


def _mismatches(component, inputs, got):
    return sum(golden.mismatches(golden.outputs(component, inputs), got).values())


def assert_exact_at_its_latency_only(component, inputs):
    got = pysim.run(component, inputs)
    assert _mismatches(component, inputs, got) == 0
    latency = component.latency
    for wrong in (latency - 1, latency + 1):  # the golden model at another latency must disagree
        if wrong >= 1:
            component.latency = wrong
            assert _mismatches(component, inputs, got) > 0, f"latency {latency} also matches {wrong}"
    component.latency = latency


@pytest.mark.parametrize("pipeline", range(MAX_PIPELINE + 1))
@pytest.mark.parametrize("name", INT_UNITS)
def test_int_units_exhaustive(name, pipeline):
    component = generators.build(name, pipeline=pipeline)
    assert component.latency == 1 + pipeline
    inputs = stimuli.exhaustive(component)
    inputs["valid"] = (np.arange(len(inputs["w"])) % 7 != 3).astype(np.int64)  # gaps travel with the data
    assert_exact_at_its_latency_only(component, inputs)


@pytest.mark.parametrize("name,scale_format,deepest", BLOCK_UNITS)
def test_block_units_exhaustive_and_random(name, scale_format, deepest):
    for pipeline in range(deepest + 1):
        component = generators.build(name, block=4, scale_format=scale_format, pipeline=pipeline)
        assert component.max_pipeline == deepest and component.latency == 1 + pipeline
        exhaustive, rand = stimuli.exhaustive(component), stimuli.random(component, np.random.default_rng(pipeline), 64)
        inputs = {k: np.concatenate([exhaustive[k], rand[k]]) for k in exhaustive}
        assert_exact_at_its_latency_only(component, inputs)


@pytest.mark.parametrize("name,params", [("dint4xint8", {"pipeline": 1}),
                                         ("amxfp4", {"block": 4, "pipeline": 3, "datapath": "magnitude"})])
def test_pe_array_of_pipelined_pes(name, params):
    array = generators.build("pe_array", pe=name, rows=2, cols=3, **params)
    rng = np.random.default_rng(3)
    inputs = stimuli.random(array, rng, cycles=24)
    inputs["last"] = (rng.random((len(inputs["valid"]), 2)) < 0.3).astype(np.int64)
    got = pysim.run(array, inputs)
    assert _mismatches(array, inputs, got) == 0
    latency = array.pes[0][0].latency
    if "out_valid" in got:  # the random stream's idle tail drains every valid row out of every PE
        assert got["out_valid"].sum() == inputs["valid"].sum() * 3
    for r in range(2):
        for c in range(3):  # done: `last` of row r, r + c cycles to reach PE (r, c), then the PE's latency
            assert np.array_equal(got["done"][:, r * 3 + c], delay(inputs["last"][:, r], r + c + latency - 1))
