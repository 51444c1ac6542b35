"""Every bad workload spec ends in one WorkloadError line naming the field, the value and what is allowed."""

import numpy as np
import pytest

from sim.errors import WorkloadError
from workloads import build

DECODE = {"model": "llama-2-7b", "phase": "decode", "context": 8}


@pytest.mark.parametrize("spec, field", [
    ("llama-2-7b", "workload"),
    ({}, "workload.model"),
    ({"model": "gpt-9"}, "workload.model"),
    ({"model": ["llama-2-7b"]}, "workload.model"),
    ({"model": "llama-2-7b"}, "workload.phase"),
    ({"model": "llama-2-7b", "phase": "train"}, "workload.phase"),
    ({"model": "llama-2-7b", "phase": "prefill"}, "workload.prompt"),
    ({"model": "llama-2-7b", "phase": "prefill", "prompt": 0}, "workload.prompt"),
    ({"model": "llama-2-7b", "phase": "prefill", "prompt": 8, "context": 8}, "workload.context"),
    ({"model": "llama-2-7b", "phase": "decode"}, "workload.context"),
    ({**DECODE, "context": 0}, "workload.context"),
    ({**DECODE, "context": 8.0}, "workload.context"),
    ({**DECODE, "prompt": 8}, "workload.prompt"),
    ({**DECODE, "batch": 0}, "workload.batch"),
    ({**DECODE, "batch": "two"}, "workload.batch"),
    ({**DECODE, "batch": True}, "workload.batch"),
    ({**DECODE, "num_layers": 33}, "workload.num_layers"),
    ({**DECODE, "num_layers": 0}, "workload.num_layers"),
    ({**DECODE, "lm_head": "yes"}, "workload.lm_head"),
    ({**DECODE, "colour": 1}, "workload.colour"),
    ({**DECODE, "layers": ["L0.q_proj"]}, "workload.layers"),
    ({**DECODE, "formats": "int8"}, "workload.formats"),
    ({**DECODE, "formats": {"W": "int3"}}, "workload.formats.W"),
    ({**DECODE, "formats": {"W": ["int8"]}}, "workload.formats.W"),
    ({**DECODE, "formats": {"X": "int8"}}, "workload.formats.X"),
    ({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [4, 0]}, "workload.kv_lengths[1]"),
    ({"model": "llama-2-7b", "phase": "decode", "kv_lengths": [4, 2.5]}, "workload.kv_lengths[1]"),
    ({"model": "llama-2-7b", "phase": "decode", "kv_lengths": []}, "workload.kv_lengths"),
    ({"model": "llama-2-7b", "phase": "decode", "kv_lengths": "4,8"}, "workload.kv_lengths"),
    ({**DECODE, "kv_lengths": [4, 8]}, "workload.kv_lengths"),
    ({"model": "llama-2-7b", "phase": "decode", "batch": 2, "kv_lengths": [4, 8]}, "workload.kv_lengths"),
    ({"model": "resnet-50", "phase": "decode"}, "workload.phase"),
    ({"model": "resnet-50", "batch": 0}, "workload.batch"),
    ({"model": "resnet-50", "formats": {"KV": "int8"}}, "workload.formats.KV"),
    ({"model": "pointpillars-kitti", "layers": ["block9.conv0"]}, "workload.layers[0]"),
    ({"model": "pointpillars-kitti", "layers": []}, "workload.layers"),
    ({"model": "pointpillars-kitti", "layers": "block1.conv0"}, "workload.layers"),
])
def test_bad_spec(spec, field):
    with pytest.raises(WorkloadError) as err:
        build(spec)
    message = str(err.value)
    assert message.startswith(f"{field}: got ") and "; allowed: " in message and "\n" not in message


def test_messages_list_what_is_allowed():
    with pytest.raises(WorkloadError, match=r"^workload.model: got 'gpt-9'; allowed: llama-2-7b, .*, pointpillars-kitti, .*, pillarnet$"):
        build({"model": "gpt-9"})
    with pytest.raises(WorkloadError, match=r"^workload.batch: got 0; allowed: an integer from 1 to 4096$"):
        build({**DECODE, "batch": 0})
    with pytest.raises(WorkloadError, match=r"allowed: block1.conv0, .*, head.conv_dir$"):
        build({"model": "pointpillars-kitti", "layers": ["block9.conv0"]})


def test_numpy_integers_are_accepted():
    t = build({"model": "llama-2-7b", "phase": "decode", "context": np.int64(8), "batch": np.int32(2), "num_layers": 1})
    assert t.meta["context"] == 8 and type(t.meta["batch"]) is int
