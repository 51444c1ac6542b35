"""CNN traces: the networks of ``zoo/cnn.yaml`` expanded, by architecture, into conv2d/deconv2d/gemm ops.

Modelling assumptions:

- Convolutions carry explicit padding (standard arithmetic: out = (in + 2 pad - kernel) // stride + 1;
  "same" 3x3 convs pad 1). Transposed convs (PointPillars upsampling) have kernel = stride and no
  padding, so their outputs do not overlap and they lower exactly to GEMMs.
- Only MAC layers are emitted. Batch norm is folded into the convs (inference); ReLU, max/average
  pooling, ResNet's residual adds (assumed fused into the producing conv's output path) and the
  channel concatenation of PointPillars are not emitted.
- PointPillars starts at the dense BEV pseudo-image: the pillar feature net (a 10 -> 64 linear
  layer per point of every non-empty pillar), the scatter into the grid and box decoding/NMS are
  not emitted (they depend on the point cloud).
- Every op has phase 'conv' and its layer index is its position in the full network, so a subset
  of layers keeps the indices. Operand formats W, A, O default to int8.
"""

from __future__ import annotations

from sim.errors import WorkloadError, field_error
from sim.trace import Trace, TraceBuilder
from workloads import accuracy, checks, pillars
from workloads.assemble import op_formats
from workloads.zoo import family, lookup

DEFAULT_FORMATS = {"W": "int8", "A": "int8", "O": "int8"}
PARAMETERS = {
    "batch": checks.BATCH,
    "layers": checks.Param("list[str]", None, None, "only these layers, by name (default: all)"),
    "formats": checks.Param("mapping", None, None, checks.FORMATS_DOC + " (operands W, A, O)"),
}

Layer = tuple[str, str, dict[str, int]]  # (kind, name, dims)


def _out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def resnet(net: dict, batch: int) -> list[Layer]:
    """Stem conv (+ max pool), bottleneck stages (1x1, 3x3 with the stage stride on the first block,
    1x1 expansion, and a strided 1x1 downsample projection on each stage's first block), FC."""
    c, h, w = net["input"]["channels"], net["input"]["height"], net["input"]["width"]
    stem, pool = net["stem"], net["stem"]["pool"]
    k, s, p = stem["kernel"], stem["stride"], stem["pad"]
    layers = [("conv2d", "conv1", dict(N=batch, C=c, H=h, W=w, K=stem["filters"], R=k, S=k, stride=s, pad=p))]
    h, w = _out(h, k, s, p), _out(w, k, s, p)
    h, w = _out(h, pool["kernel"], pool["stride"], pool["pad"]), _out(w, pool["kernel"], pool["stride"], pool["pad"])
    c = stem["filters"]
    for i, stage in enumerate(net["stages"], start=1):
        width, out = stage["width"], stage["width"] * net["expansion"]
        for j in range(stage["blocks"]):
            s, p = (stage["stride"] if j == 0 else 1), f"layer{i}.{j}"
            ho, wo = _out(h, 3, s, 1), _out(w, 3, s, 1)
            layers += [("conv2d", f"{p}.conv1", dict(N=batch, C=c, H=h, W=w, K=width, R=1, S=1)),
                       ("conv2d", f"{p}.conv2", dict(N=batch, C=width, H=h, W=w, K=width, R=3, S=3, stride=s, pad=1)),
                       ("conv2d", f"{p}.conv3", dict(N=batch, C=width, H=ho, W=wo, K=out, R=1, S=1))]
            if j == 0:
                layers.append(("conv2d", f"{p}.downsample", dict(N=batch, C=c, H=h, W=w, K=out, R=1, S=1, stride=s)))
            c, h, w = out, ho, wo
    return layers + [("gemm", "fc", dict(M=batch, N=net["classes"], K=c))]


def pointpillars(net: dict, batch: int) -> list[Layer]:
    """BaseBEVBackbone blocks (block{i}.conv0 strided, conv1.. stride 1), deblock{i} upsampling to the
    first block's resolution, and the AnchorHeadSingle 1x1 convs on the concatenated map."""
    c, h, w = net["input"]["channels"], net["input"]["height"], net["input"]["width"]
    layers, outputs = [], []
    for i, blk in enumerate(net["blocks"], start=1):
        f, s = blk["filters"], blk["stride"]
        layers.append(("conv2d", f"block{i}.conv0", dict(N=batch, C=c, H=h, W=w, K=f, R=3, S=3, stride=s, pad=1)))
        c, h, w = f, _out(h, 3, s, 1), _out(w, 3, s, 1)
        layers += [("conv2d", f"block{i}.conv{j}", dict(N=batch, C=c, H=h, W=w, K=c, R=3, S=3, pad=1))
                   for j in range(1, blk["layers"] + 1)]
        outputs.append((c, h, w))
    up = net["upsample"]
    for i, ((c, h, w), s, f) in enumerate(zip(outputs, up["strides"], up["filters"]), start=1):
        layers.append(("deconv2d", f"deblock{i}", dict(N=batch, C=c, H=h, W=w, K=f, R=s, S=s, stride=s)))
    head = net["head"]
    c, h, w = sum(up["filters"]), h * up["strides"][-1], w * up["strides"][-1]
    for name, per_anchor in (("conv_cls", head["classes"]), ("conv_box", head["box_code"]),
                             ("conv_dir", head["direction_bins"])):
        layers.append(("conv2d", f"head.{name}", dict(N=batch, C=c, H=h, W=w, K=head["anchors"] * per_anchor, R=1, S=1)))
    return layers


# The other pillar detectors' layer tables live in workloads/pillars.py (with their sparse variants).
ARCHITECTURES = {"resnet": resnet, "pointpillars": pointpillars,
                 **{arch: pillars.dense_layers for arch in ("pointpillars-multihead", "centerpoint", "pillarnet")}}
WORK_UNITS = {"resnet": "sample", **{arch: "frame" for arch in pillars.ARCHS}}  # what one batch element is


def layers_of(model: str, batch: int = 1) -> list[Layer]:
    """All MAC layers of a zoo CNN, in network order."""
    net = _net(model)
    return ARCHITECTURES[net["arch"]](net, batch)


def trace(model: str, batch: int = 1, layers: list[str] | None = None, formats: dict[str, str] | None = None) -> Trace:
    """Trace of one inference of ``batch`` images, optionally only the named layers (kept in network order)."""
    net = _net(model)
    batch = PARAMETERS["batch"].check("batch", batch)
    all_layers = layers_of(model, batch)
    if layers is not None:
        layers = checks.names("workload.layers", layers, [name for _, name, _ in all_layers])
    fmts = {**DEFAULT_FORMATS, **checks.formats("workload.formats", formats, tuple(DEFAULT_FORMATS))}
    meta = {"model": model, "phase": "conv", "batch": batch, "formats": fmts, "source": net["source"],
            "work": {"unit": WORK_UNITS[net["arch"]], "count": batch}}
    if (quality := accuracy.proxy(fmts)) is not None:
        meta["accuracy"] = quality
    if layers is not None:
        meta["layers"] = layers
    b = TraceBuilder(meta=meta)
    for index, (kind, name, dims) in enumerate(all_layers):
        if layers is None or name in layers:
            b.add(kind, name, dims, layer=index, phase="conv", formats=op_formats(kind, fmts))
    return b.build()


def _net(model) -> dict:
    fam, net = lookup(model)
    if fam != "cnn":
        raise field_error("workload.model", model, ", ".join(family("cnn")), WorkloadError)
    return net
