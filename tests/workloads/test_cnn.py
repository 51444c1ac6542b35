"""CNN traces: ResNet-50 MACs, PointPillars map sizes from the emitted dims, layer subsets."""

import pytest

from sim.trace import Trace
from workloads import build


def out(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


def conv_outputs(trace):
    return {op["name"]: (out(op["H"], op["R"], op["stride"], op["pad"]), out(op["W"], op["S"], op["stride"], op["pad"]))
            for _, op in trace.ops[trace.ops["kind"] == "conv2d"].iterrows()}


def test_resnet50_macs():
    t = build({"model": "resnet-50"})
    conv, fc = t.ops[t.ops["kind"] == "conv2d"], t.ops[t.ops["kind"] == "gemm"]
    maps = conv_outputs(t)
    macs = sum(op["N"] * maps[op["name"]][0] * maps[op["name"]][1] * op["K"] * op["C"] * op["R"] * op["S"]
               for _, op in conv.iterrows()) + int((fc["M"] * fc["N"] * fc["K"]).sum())
    assert macs == pytest.approx(4.09e9, rel=0.02)
    assert macs == 4_089_184_256  # torchvision resnet50 (v1.5): conv + fc MACs
    assert len(conv) == 53 and maps["conv1"] == (112, 112) and maps["layer4.2.conv3"] == (7, 7)
    assert (fc["M"].item(), fc["N"].item(), fc["K"].item()) == (1, 1000, 2048)


def test_pointpillars_map_sizes():
    t = build({"model": "pointpillars-kitti"})
    maps = conv_outputs(t)
    for block, size, convs in ((1, (248, 216), 4), (2, (124, 108), 6), (3, (62, 54), 6)):
        assert [maps[f"block{block}.conv{j}"] for j in range(convs)] == [size] * convs
    assert maps["block1.conv0"] == (248, 216) and t.ops.iloc[0][["C", "H", "W", "K"]].tolist() == [64, 496, 432, 64]
    deconv = t.ops[t.ops["kind"] == "deconv2d"]
    assert (deconv["R"] == deconv["stride"]).all() and (deconv["S"] == deconv["stride"]).all()
    assert list(zip(deconv["H"] * deconv["stride"], deconv["W"] * deconv["stride"], deconv["K"])) == [(248, 216, 128)] * 3
    head = t.ops[t.ops["name"].str.startswith("head.")]
    assert head["name"].tolist() == ["head.conv_cls", "head.conv_box", "head.conv_dir"]
    assert head["K"].tolist() == [18, 42, 12] and set(head["C"]) == {384} and set(head["R"]) == {1}
    assert {maps[n] for n in head["name"]} == {(248, 216)}


def test_layer_subset_keeps_network_order_and_indices(tmp_path):
    t = build({"model": "pointpillars-kitti", "layers": ["deblock2", "block1.conv0"], "batch": 2})
    assert t.ops["name"].tolist() == ["block1.conv0", "deblock2"] and t.ops["layer"].tolist() == [0, 17]
    assert set(t.ops["N"]) == {2} and set(t.ops["phase"]) == {"conv"}
    assert t.ops[["fmt_W", "fmt_A", "fmt_O", "fmt_KV"]].iloc[0].tolist() == ["int8", "int8", "int8", ""]
    assert Trace.load(t.save(tmp_path / "pp.parquet")).equals(t)
