"""Trace generators for CNNs described as data in ``zoo/cnn.yaml`` (ResNet-50, PointPillars).

Convolutions carry explicit padding (standard conv arithmetic: "same" 3x3 convs pad 1). Pooling,
batch-norm (folded into the convs at inference) and activations are not emitted: they do no MACs
and the dense arrays modelled here do not run them. Residual additions are not emitted either
(assumption: fused into the following conv's output path).
"""

from __future__ import annotations

from sim.trace import Trace, TraceBuilder

DEFAULT_FORMATS = {"W": "int8", "A": "int8", "O": "int8"}


def _out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def resnet_layers(net: dict, batch: int) -> list[tuple]:
    """(kind, name, dims) of every MAC layer of a bottleneck ResNet."""
    c, hw = net["input"]["channels"], net["input"]["height"]
    stem = net["stem"]
    layers = [("conv2d", "conv1", dict(N=batch, C=c, H=hw, W=hw, K=stem["filters"], R=stem["kernel"],
                                       S=stem["kernel"], stride=stem["stride"], pad=stem["pad"]))]
    hw = _out(hw, stem["kernel"], stem["stride"], stem["pad"])
    pool = stem["pool"]
    hw = _out(hw, pool["kernel"], pool["stride"], pool["pad"])
    c = stem["filters"]
    for s, stage in enumerate(net["stages"], start=1):
        width, out = stage["width"], stage["width"] * net["expansion"]
        for blk in range(stage["blocks"]):
            stride = stage["stride"] if blk == 0 else 1
            p = f"layer{s}.{blk}"
            layers.append(("conv2d", f"{p}.conv1", dict(N=batch, C=c, H=hw, W=hw, K=width, R=1, S=1)))
            layers.append(("conv2d", f"{p}.conv2", dict(N=batch, C=width, H=hw, W=hw, K=width, R=3, S=3,
                                                          stride=stride, pad=1)))
            hw_out = _out(hw, 3, stride, 1)
            layers.append(("conv2d", f"{p}.conv3", dict(N=batch, C=width, H=hw_out, W=hw_out, K=out, R=1, S=1)))
            if blk == 0:
                layers.append(("conv2d", f"{p}.downsample", dict(N=batch, C=c, H=hw, W=hw, K=out, R=1, S=1,
                                                                   stride=stride)))
            c, hw = out, hw_out
    layers.append(("gemm", "fc", dict(M=batch, N=net["classes"], K=c)))
    return layers


def pointpillars_layers(net: dict, batch: int) -> list[tuple]:
    """(kind, name, dims) of the PointPillars 2D backbone, upsampling deconvs and detection head."""
    c, h, w = net["input"]["channels"], net["input"]["height"], net["input"]["width"]
    layers, block_out = [], []
    for i, blk in enumerate(net["blocks"], start=1):
        f = blk["filters"]
        layers.append(("conv2d", f"block{i}.conv0", dict(N=batch, C=c, H=h, W=w, K=f, R=3, S=3,
                                                        stride=blk["stride"], pad=1)))
        h, w, c = _out(h, 3, blk["stride"], 1), _out(w, 3, blk["stride"], 1), f
        for j in range(1, blk["layers"] + 1):
            layers.append(("conv2d", f"block{i}.conv{j}", dict(N=batch, C=c, H=h, W=w, K=c, R=3, S=3, pad=1)))
        block_out.append((c, h, w))
    up = net["upsample"]
    for i, ((c, h, w), s, f) in enumerate(zip(block_out, up["strides"], up["filters"]), start=1):
        layers.append(("deconv2d", f"deblock{i}", dict(N=batch, C=c, H=h, W=w, K=f, R=s, S=s, stride=s)))
    c, h, w = sum(up["filters"]), block_out[0][1], block_out[0][2]
    head = net["head"]
    outs = {"conv_cls": head["anchors"] * head["classes"], "conv_box": head["anchors"] * head["box_code"],
            "conv_dir": head["anchors"] * head["direction_bins"]}
    for name, k in outs.items():
        layers.append(("conv2d", f"head.{name}", dict(N=batch, C=c, H=h, W=w, K=k, R=1, S=1)))
    return layers


EXPANDERS = {"resnet-50": resnet_layers, "pointpillars-kitti": pointpillars_layers}


def cnn_layers(name: str, net: dict, batch: int) -> list[tuple]:
    return EXPANDERS[name](net, batch)


def cnn_trace(name: str, net: dict, batch: int = 1, layers: list[str] | None = None,
              formats: dict | None = None) -> Trace:
    """Trace of a CNN inference, optionally restricted to the named layers (in network order)."""
    fmts = {**DEFAULT_FORMATS, **(formats or {})}
    b = TraceBuilder(meta={"model": name, "phase": "conv", "batch": batch, "formats": fmts,
                           "source": net["source"], **({"layers": list(layers)} if layers else {})}, formats=fmts)
    for index, (kind, opname, dims) in enumerate(cnn_layers(name, net, batch)):
        if layers is None or opname in layers:
            b.add(kind, opname, dims, layer=index, phase="conv")
    return b.build()
