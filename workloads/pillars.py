"""Pillar-based 3D detectors (PointPillars, CenterPoint-pillar, PillarNet) as traces driven by a
LiDAR scene: the dense network, or its sparse backbone with the rulebook of every layer.

A network is a table of layers (``network(model)``): the pillar feature net (PFN), the backbone convs,
the upsampling (deconvs, and the 2x2 stride-2 conv of an upsample stride 0.5), and the detection
head. ``trace(model, variant, ...)`` casts a synthetic scene (``workloads.lidar``), pillarizes it on
the network's grid and emits one op per layer:

- the PFN as a ``gemm``: M = points fed to it, K = point features, N = filters (OpenPCDet PFNLayer).
  Its max-pool over a pillar's points and the scatter into the pseudo-image are not MACs and are not
  emitted. M counts ``max_points`` slots per pillar in the dense variant of a network whose VFE pads
  (PillarVFE: the padded slots are multiplied too) and only the real points otherwise (dynamic VFEs,
  and every sparse variant: an accelerator feeds the real points);
- ``variant`` ``dense``: every layer as ``conv2d``/``deconv2d`` over the full pseudo-image;
- sparse variants, each layer as ``sparse_conv2d``/``sparse_deconv2d`` with the payloads of contract
  2 (``coords``, ``out_coords``, ``pair_count``, ``pairs``; ``selected`` for SD-Conv, ``dvp_kept`` for
  DVP), rules from ``sim.sparse``:

  ========== =================== ================================ ===================================
  variant    stride-1 3x3 conv   stride-2 3x3 conv                deconv (kernel = stride)
  ========== =================== ================================ ===================================
  spconv     regular (dilating)  regular, pad 1                   sparse inverse conv
  subm       SubM                regular, pad 1                   sparse inverse conv
  spconv-p   regular, then DVP   regular, pad 1                   sparse inverse conv
  sd-conv    SD-Conv (top t %)   2x2 stride-2 sparse conv         sparse inverse conv
  ========== =================== ================================ ===================================

  (SD-Conv paper Appx A.2's backbone replacement is the ``sd-conv`` row.) A 2x2 stride-2 conv (the
  nuScenes upsample stride 0.5) never dilates and is the same regular sparse conv in every variant.
  A transposed conv's rules are ``Rules.inverse()`` of the strided conv from its output set (every
  input's stride x stride children) back to its input set.

Assumptions (parameters, with their defaults):

- ``head``: ``dense`` (default): the detection head stays a dense conv over the whole map in every
  variant (the SD-Conv paper's backbone replacement, Appx A.2, names only the backbone convs and the
  deconvs); ``sparse``: each head conv runs as a SubM conv (1x1 or 3x3) on the union of the upsampled
  maps' active sites (their concatenation), i.e. predictions only where there are features.
  [assumption]
- PillarNet: the sparse variants make its sparse encoder (stages 1-4, PillarRes18BackBone8x) sparse;
  its dense stage 5, neck and head stay ``conv2d``/``deconv2d`` as in the published network, which
  densifies the stage-4 output. [assumption for the SD-Conv variant: the paper says only that
  PillarNet's convs are "replaced the same way"]
- ``importance``: there is no trained network, so DVP and SD-Conv score pillars by a proxy of the
  pillar feature vector's magnitude. ``pfn`` (default): the L2 norm of the output of a random-weight
  PFN seeded by ``seed`` (10 PillarVFE features -> the first PFN layer's filters, ReLU, max over the
  pillar's real points); ``points``: the pillar's point count. Scores then flow through every
  layer's rulebook as a non-negative feature magnitude would: an output's score is the sum of its
  inputs' scores over its pairs divided by the kernel's k*k offsets (a positive averaging filter); a
  concatenation adds its inputs' scores. [assumption; SPADE's and SD-Conv's criteria are open]
- ``keep`` (spconv-p): the DVP keep ratio after every stride-1 dilating conv (its output keeps the
  ceil(keep * n_out) highest-score rows), 0.8 by default, a choice without a published value: a
  3x3 conv's output is 1.1-1.7x its input on the default KITTI scene, and with 0.8 a block's active
  set grows at most ~1.7x over the block (spconv: up to 2.6x). A strided conv is not pruned
  (its output is already smaller than its input). [open: SPADE's per-layer ratios]
  ``dvp_threshold`` instead keeps the rows scoring >= that multiple of their layer's mean score
  (SPADE's other keep rule, a per-layer threshold, made scale-free). [open: SPADE's thresholds]
- ``rules``: ``spconv`` (default): regular convs dilate (spconv 2.x); ``minkowski``: MinkowskiEngine's
  default output set (the inputs quantised to the stride, never dilated; ``sim.sparse.minkowski_rules``),
  so MAC counts can be matched to either library. SubM, SD-Conv and transposed convs are the same in
  both.
- ``t`` (sd-conv): top-t % of the input pillars by score dilate, 2 by default (the SD-Conv paper's
  chosen point). [paper: Appx Table 1]

Dense count of PointPillars on KITTI against the published 46.43 GFLOPs (SD-Conv paper Appx Table 1;
checked part by part in tests/workloads/test_pillars.py): backbone convs 29.62 G MACs, deconvs 3.07 G,
head 1.48 G, PFN 0.18 G (8.7k pillars x 32 slots x 10 x 64 on the default scene): 34.35 G MACs, or
68.7 GFLOPs at 2 FLOPs per MAC. No sum of these parts, in MACs or in FLOPs, comes within 10 % of
46.43 (it is 1.35x our MAC total, 0.68x our FLOPs), so the published figure counts something the
network's description does not fix (its counting tool or head); compare variants by ratios. The only
decomposition found within 1 %: a 3x3 instead of the 1x1 head (13.33 G), one FLOP per MAC: 46.20 G,
a candidate only (no published PointPillars config has a 3x3 head).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from sim.errors import WorkloadError, field_error
from sim.lowering import conv_output_size
from sim.trace import Trace, TraceBuilder
from workloads import checks, lidar
from workloads.zoo import family, lookup

VARIANTS = ("dense", "spconv", "subm", "spconv-p", "sd-conv")
IMPORTANCE = ("pfn", "points")
HEADS = ("dense", "sparse")
RULES = ("spconv", "minkowski")
ARCHS = ("pointpillars", "pointpillars-multihead", "centerpoint", "pillarnet")
DEFAULT_FORMATS = {"W": "int8", "A": "int8", "O": "int8"}
PARAMETERS = {
    "variant": checks.Param("str", None, None, "dense, spconv, subm, spconv-p or sd-conv (selects the scene-driven trace)"),
    "seed": checks.Param("int", 0, 2**32 - 1, "seed of the synthetic LiDAR scene"),
    "t": checks.Param("float", None, None, "sd-conv: top-t % of pillars dilated, in (0, 100] (default 2)"),
    "keep": checks.Param("float", None, None, "spconv-p: DVP keep ratio after each stride-1 dilating conv, in (0, 1] (default 0.8)"),
    "dvp_threshold": checks.Param("float", None, None, "spconv-p: keep instead the vectors scoring >= this multiple of "
                                  "their layer's mean score, > 0 (not with keep)"),
    "rules": checks.Param("str", None, None, "output sets of regular convs: spconv (default: dilating) or minkowski "
                          "(MinkowskiEngine's default: inputs quantised to the stride, no dilation)"),
    "head": checks.Param("str", None, None, "detection head in sparse variants: dense (default) or sparse (SubM on the active set)"),
    "importance": checks.Param("str", None, None, "pillar importance proxy for DVP and SD-Conv: pfn (default) or points"),
    "max_points": checks.Param("int", 1, 1024, "points kept per pillar (default: the grid's)"),
    "max_pillars": checks.Param("int", 1, 2**21, "pillars kept per scan (default: the grid's)"),
}
KEYS = ("model", "formats", *PARAMETERS)


class Layer(NamedTuple):
    """One MAC layer: ``op`` conv or deconv (kernel = stride), inputs ``src`` (several: their
    channel concatenation; ``pfn``: the pillar pseudo-image), channels, kernel, stride, padding,
    ``role`` (backbone, neck or head) and ``sparse`` (run sparse in the sparse variants)."""

    name: str
    op: str
    src: tuple[str, ...]
    cin: int
    cout: int
    kernel: int
    stride: int
    pad: int
    role: str
    sparse: bool = True


# -- layer tables ----------------------------------------------------------------------------------

def _bev_backbone(net: dict, src: str) -> tuple[list[Layer], tuple[str, ...], int]:
    """BaseBEVBackbone: per block a 3x3 conv with the block's stride then 3x3 stride-1 convs; per
    block an upsampling deconv (stride >= 1) or a kernel = stride conv (stride < 1)."""
    layers, outputs, c = [], [], net["input"]["channels"]
    for i, blk in enumerate(net["blocks"], start=1):
        f = blk["filters"]
        layers.append(Layer(f"block{i}.conv0", "conv", (src,), c, f, 3, blk["stride"], 1, "backbone"))
        layers += [Layer(f"block{i}.conv{j}", "conv", (f"block{i}.conv{j - 1}",), f, f, 3, 1, 1, "backbone")
                   for j in range(1, blk["layers"] + 1)]
        c, src = f, layers[-1].name
        outputs.append((src, f))
    up, ups = net["upsample"], []
    for i, ((block_out, c), s, f) in enumerate(zip(outputs, up["strides"], up["filters"]), start=1):
        if s >= 1:
            layers.append(Layer(f"deblock{i}", "deconv", (block_out,), c, f, int(s), int(s), 0, "neck"))
        else:
            k = round(1 / s)
            layers.append(Layer(f"deblock{i}", "conv", (block_out,), c, f, k, k, 0, "neck"))
        ups.append(layers[-1].name)
    return layers, tuple(ups), sum(up["filters"])


def _head(head: dict, src: tuple[str, ...], c: int, sparse: bool = True) -> list[Layer]:
    """Detection head: the KITTI AnchorHeadSingle (1x1 cls, box, dir convs) or a head with an
    optional shared conv and per-output branches of ``middle`` convs plus an output conv."""
    if "anchors" in head:
        a = head["anchors"]
        return [Layer(f"head.{n}", "conv", src, c, a * per, 1, 1, 0, "head", sparse)
                for n, per in (("conv_cls", head["classes"]), ("conv_box", head["box_code"]),
                               ("conv_dir", head["direction_bins"]))]
    k, layers = head["kernel"], []
    if "shared" in head:
        layers.append(Layer("head.shared", "conv", src, c, head["shared"], k, 1, k // 2, "head", sparse))
        src, c = ("head.shared",), head["shared"]
    for name, out in head["branches"].items():
        prev, cin = src, c
        for j in range(head["middle"]):
            layers.append(Layer(f"head.{name}.mid{j}", "conv", prev, cin, c, k, 1, k // 2, "head", sparse))
            prev, cin = (layers[-1].name,), c
        layers.append(Layer(f"head.{name}.out", "conv", prev, cin, out, k, 1, k // 2, "head", sparse))
    return layers


def _pillarnet(net: dict) -> list[Layer]:
    """PillarRes18BackBone8x (sparse stages 1-4, dense stage 5), BaseBEVBackboneV1 neck, CenterHead."""
    layers, src, c = [], "pfn", net["input"]["channels"]
    for i, stage in enumerate([*net["encoder"], net["dense_stage"]], start=1):
        f, dense = stage["filters"], stage is net["dense_stage"]
        convs = [(3, stage["stride"], 1)] * (stage["stride"] > 1) + [(3, 1, 1)] * stage["convs"]
        for j, (k, s, p) in enumerate(convs):
            layers.append(Layer(f"conv{i}.{j}", "conv", (src,), c, f, k, s, p, "backbone", not dense))
            src, c = layers[-1].name, f
    conv4 = next(l.name for l in reversed(layers) if l.name.startswith(f"conv{len(net['encoder'])}."))
    neck, f, up = net["neck"], net["neck"]["filters"], net["neck"]["upsample_filters"]
    layers.append(Layer("deblock1", "deconv", (conv4,), f, up, 1, 1, 0, "neck", False))
    src = layers[-2].name
    for j in range(neck["layers"] + 1):
        layers.append(Layer(f"neck.block2.conv{j}", "conv", (src,), f, f, 3, 1, 1, "neck", False))
        src = layers[-1].name
    layers.append(Layer("deblock2", "deconv", (src,), f, up, 2, 2, 0, "neck", False))
    src, c = ("deblock1", "deblock2"), 2 * up
    for j in range(neck["layers"] + 1):
        layers.append(Layer(f"neck.block1.conv{j}", "conv", src, c, f, 3, 1, 1, "neck", False))
        src, c = (layers[-1].name,), f
    return layers + _head(net["head"], src, c, sparse=False)


def network(model: str) -> list[Layer]:
    """The MAC layers of a pillar detector after its PFN, in network order."""
    return _layers(_net(model))


def _layers(net: dict) -> list[Layer]:
    if net["arch"] == "pillarnet":
        return _pillarnet(net)
    layers, ups, c = _bev_backbone(net, "pfn")
    return layers + _head(net["head"], ups, c)


def _shapes(net: dict, layers: list[Layer]) -> dict[str, tuple[int, int]]:
    """Input (rows, columns) of every layer, keyed by the layer's name."""
    shapes = {"pfn": (net["input"]["height"], net["input"]["width"])}
    out = dict(shapes)
    for l in layers:
        h, w = shapes[l.name] = out[l.src[0]]
        out[l.name] = ((h * l.stride, w * l.stride) if l.op == "deconv" else
                       (conv_output_size(h, l.kernel, l.stride, l.pad), conv_output_size(w, l.kernel, l.stride, l.pad)))
    return shapes


def dense_layers(net: dict, batch: int) -> list[tuple[str, str, dict[str, int]]]:
    """The dense network as (kind, name, dims) rows for ``workloads.cnn`` (no PFN: it starts at the
    pseudo-image)."""
    layers = _layers(net)
    shapes = _shapes(net, layers)
    return [("deconv2d" if l.op == "deconv" else "conv2d", l.name, _dims(l, shapes[l.name], batch)) for l in layers]


def _dims(l: Layer, shape: tuple[int, int], batch: int = 1, kernel: int | None = None, pad: int | None = None) -> dict:
    k = l.kernel if kernel is None else kernel
    return dict(N=batch, C=l.cin, H=shape[0], W=shape[1], K=l.cout, R=k, S=k, stride=l.stride,
                pad=l.pad if pad is None else pad)


def _net(model) -> dict:
    fam, net = lookup(model)
    if fam != "cnn" or net["arch"] not in ARCHS:
        pillar_models = [m for m, e in family("cnn").items() if e["arch"] in ARCHS]
        raise field_error("workload.model", model, ", ".join(pillar_models) + " (pillar detectors)", WorkloadError)
    return net


# -- scene-driven traces ---------------------------------------------------------------------------

class _Active(NamedTuple):
    """A layer output in a sparse variant: active coords (raster order), per-site score, or None
    for a dense map."""

    coords: np.ndarray | None
    scores: np.ndarray | None


def _importance(pillars: lidar.Pillars, how: str, filters: int, seed: int) -> np.ndarray:
    """Per-pillar importance proxy (module docstring)."""
    if how == "points":
        return pillars.counts.astype(np.float64)
    features = _pfn_features(pillars)
    w = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(features.shape[1]), (features.shape[1], filters))
    per_point = np.maximum(features @ w, 0.0)
    pooled = np.maximum.reduceat(per_point, pillars.offsets[:-1], axis=0) if len(per_point) else per_point
    return np.linalg.norm(pooled, axis=1)


def _pfn_features(p: lidar.Pillars) -> np.ndarray:
    """PillarVFE point features: x, y, z, r, offsets to the pillar's point mean (3) and to the
    pillar centre (x, y, z; the centre z is the middle of the grid's z range)."""
    pts = p.points.astype(np.float64)
    which = np.repeat(np.arange(len(p.counts)), p.counts)
    mean = np.add.reduceat(pts[:, :3], p.offsets[:-1], axis=0) / p.counts[:, None] if len(pts) else pts[:, :3]
    g = p.grid
    centre = np.column_stack([g.x[0] + (p.coords[:, 1] + 0.5) * g.pillar, g.y[0] + (p.coords[:, 0] + 0.5) * g.pillar,
                              np.full(len(p.coords), (g.z[0] + g.z[1]) / 2)])
    return np.column_stack([pts, pts[:, :3] - mean[which], pts[:, :3] - centre[which]])


def _union(inputs: list[_Active], shape: tuple[int, int]) -> _Active:
    """Active set of a channel concatenation: the union of the inputs' sites (raster order); scores add."""
    if len(inputs) == 1:
        return inputs[0]
    keys = np.concatenate([a.coords[:, 0].astype(np.int64) * shape[1] + a.coords[:, 1] for a in inputs])
    cells, where = np.unique(keys, return_inverse=True)
    scores = np.bincount(where, weights=np.concatenate([a.scores for a in inputs]), minlength=len(cells))
    return _Active(np.column_stack([cells // shape[1], cells % shape[1]]).astype(np.int32), scores)


def _transposed_rules(coords: np.ndarray, in_shape: tuple[int, int], stride: int):
    """Rules of a kernel = stride transposed conv: the inverse of the strided conv that maps every
    input's stride x stride children back onto it."""
    from sim.sparse import conv_rules

    dy, dx = np.divmod(np.arange(stride * stride), stride)
    children = np.column_stack([(coords[:, None, 0] * stride + dy[None]).ravel(),
                                (coords[:, None, 1] * stride + dx[None]).ravel()]).astype(np.int32)
    order = np.lexsort((children[:, 1], children[:, 0]))
    out_shape = (in_shape[0] * stride, in_shape[1] * stride)
    forward = conv_rules(children[order], out_shape, kernel=stride, stride=stride)
    return forward.inverse()


class _Options(NamedTuple):
    """How a sparse variant builds its layers: the variant, SD-Conv's t, the DVP rule (``ratio`` or
    ``threshold``, and its value) and the rules library of regular convs (spconv or minkowski)."""

    variant: str
    t: float
    prune: tuple[str, float]
    rules: str


def _kept(scores: np.ndarray, prune: tuple[str, float]) -> np.ndarray:
    """Rows DVP keeps: the top ratio, or those scoring >= threshold x the layer's mean score."""
    from sim.sparse import dvp_keep

    rule, value = prune
    if rule == "ratio":
        return dvp_keep(scores, ratio=value)
    return dvp_keep(scores, threshold=value * float(scores.mean()) if len(scores) else 0.0)


def _sparse_op(l: Layer, x: _Active, shape: tuple[int, int], o: _Options):
    """(kind, dims, payload, output) of one layer of a sparse variant."""
    from sim.sparse import conv_rules, minkowski_rules, sd_conv_rules

    variant, t = o.variant, o.t

    kind, dims, payload, dilating = "sparse_conv2d", _dims(l, shape), {}, False
    if l.op == "deconv":
        kind, rules = "sparse_deconv2d", _transposed_rules(x.coords, shape, l.stride)
    elif l.stride == 1 and (l.role == "head" or l.kernel == 1 or variant == "subm"):
        rules = conv_rules(x.coords, shape, kernel=l.kernel, padding=l.pad, subm=True)
    elif l.stride == 1 and variant == "sd-conv":
        rules = sd_conv_rules(x.coords, shape, x.scores, t, kernel=l.kernel)
        payload["selected"] = np.asarray(rules.selected, dtype=np.int32)
    elif variant == "sd-conv" and l.kernel > l.stride:  # a stride-2 3x3 conv becomes 2x2 stride 2
        rules = conv_rules(x.coords, shape, kernel=l.stride, stride=l.stride)
        dims.update(R=l.stride, S=l.stride, pad=0)
    elif o.rules == "minkowski":
        rules = minkowski_rules(x.coords, shape, kernel=l.kernel, stride=l.stride)
    else:
        rules = conv_rules(x.coords, shape, kernel=l.kernel, stride=l.stride, padding=l.pad)
        dilating = l.stride == 1 and l.kernel > 1
    k = dims["R"]
    scores = np.bincount(rules.pairs[:, 2], weights=x.scores[rules.pairs[:, 1]], minlength=len(rules.out_coords)) / (k * k)
    out = _Active(rules.out_coords, scores)
    if variant == "spconv-p" and dilating:
        kept = np.asarray(_kept(scores, o.prune), dtype=np.int32)
        payload["dvp_kept"] = kept
        out = _Active(rules.out_coords[kept], scores[kept])
    payload.update(coords=x.coords, out_coords=rules.out_coords, pair_count=rules.pair_count, pairs=rules.pairs)
    return kind, dims, payload, out


def trace(spec: Mapping, points: np.ndarray | None = None) -> Trace:
    """The trace of one frame of a pillar detector (keys: ``KEYS``; see ``workloads`` for their
    meaning) on the synthetic scene of ``seed``, or on ``points`` (an (N, >= 4) x, y, z, r cloud,
    e.g. from ``lidar.load_kitti_bin``; ``seed`` then only picks the pillars kept over the cap)."""
    checks.keys(spec, KEYS, "pillar detectors with a scene")
    model = spec["model"]
    net = _net(model)
    variant = _choice(spec, "variant", VARIANTS)
    seed = PARAMETERS["seed"].check("seed", spec.get("seed", 0))
    t = _fraction("workload.t", spec.get("t", 2.0), 100.0, "a number in (0, 100] (percent of pillars dilated)")
    prune = _prune(spec)
    rules = _choice(spec, "rules", RULES)
    importance, head = _choice(spec, "importance", IMPORTANCE), _choice(spec, "head", HEADS)
    grid = lidar.with_limits(lidar.grid_of(net["grid"]),
                             *(None if spec.get(k) is None else PARAMETERS[k].check(k, spec[k]) for k in ("max_points", "max_pillars")))
    fmts = {**DEFAULT_FORMATS, **checks.formats("workload.formats", spec.get("formats"), tuple(DEFAULT_FORMATS))}
    cloud = lidar.scene(seed).points if points is None else points
    pillars = lidar.pillarize(cloud, grid, seed)
    if not len(pillars.coords):
        raise field_error("points", f"{len(cloud)} points, none inside the grid", f"a scan with points in x {grid.x}, "
                          f"y {grid.y}, z {grid.z} m (the {grid.name} grid)", WorkloadError)
    meta = {"model": model, "phase": "conv", "batch": 1, "variant": variant, "seed": seed, "formats": fmts,
            "source": net["source"], "grid": grid.name, "pillars": len(pillars.coords),
            "scene": "synthetic" if points is None else "given", "points": int(pillars.counts.sum()),
            "occupancy": pillars.occupancy, "importance": importance, "head": head,
            "work": {"unit": "frame", "count": 1}}
    meta.update({"t": t} if variant == "sd-conv" else {"dvp": list(prune)} if variant == "spconv-p" else {})
    meta["rules"] = rules
    options = _Options(variant, t, prune, rules)
    b = TraceBuilder(meta=meta)
    _pfn(b, net, pillars, variant, fmts)
    layers = _layers(net)
    shapes = _shapes(net, layers)
    active = {"pfn": _Active(pillars.coords, _importance(pillars, importance, net["pfn"][0][1], seed))}
    for index, l in enumerate(layers, start=1):
        in_shape = shapes[l.name]
        if variant == "dense" or not l.sparse or (l.role == "head" and head == "dense"):
            kind = "deconv2d" if l.op == "deconv" else "conv2d"
            b.add(kind, l.name, _dims(l, in_shape), layer=index, phase="conv", formats=fmts)
            active[l.name] = _Active(None, None)
            continue
        x = _union([active[s] for s in l.src], in_shape)
        kind, dims, payload, active[l.name] = _sparse_op(l, x, in_shape, options)
        b.add(kind, l.name, dims, layer=index, phase="conv", formats=fmts, payload=payload)
    return b.build()


def _pfn(b: TraceBuilder, net: dict, pillars: lidar.Pillars, variant: str, fmts: dict) -> None:
    """The PFN's per-point linear layers as gemms (module docstring: which points M counts)."""
    padded = variant == "dense" and net["pfn_padded"]
    rows = len(pillars.coords) * pillars.grid.max_points if padded else int(pillars.counts.sum())
    for i, (k, n) in enumerate(net["pfn"]):
        b.add("gemm", f"pfn.{i}", dict(M=rows, K=k, N=n), layer=0, phase="conv", formats=fmts)


def _choice(spec: Mapping, key: str, allowed: tuple[str, ...]) -> str:
    """``spec[key]`` (default: the first allowed value), one of ``allowed``."""
    value = spec.get(key, allowed[0])
    if value not in allowed:
        raise field_error(f"workload.{key}", value, ", ".join(allowed), WorkloadError)
    return value


def _prune(spec: Mapping) -> tuple[str, float]:
    """The DVP rule of a spec: ("ratio", keep) [0.8], or ("threshold", dvp_threshold)."""
    if "dvp_threshold" not in spec:
        return "ratio", _fraction("workload.keep", spec.get("keep", 0.8), 1.0, "a number in (0, 1] (DVP keep ratio)")
    if "keep" in spec:
        raise field_error("workload.keep", spec["keep"], "absent when dvp_threshold is given (one DVP rule)",
                          WorkloadError)
    return "threshold", _fraction("workload.dvp_threshold", spec["dvp_threshold"], float("inf"),
                                  "a number > 0 (multiple of the layer's mean score)")


def _fraction(field: str, value, high: float, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value <= high:
        raise field_error(field, value, allowed, WorkloadError)
    return float(value)


# -- per-layer report ------------------------------------------------------------------------------

def growth(trace: Trace) -> list[dict]:
    """Per-layer active-set growth of a pillar trace: one row per conv/deconv op with ``layer``,
    ``kind``, ``n_in`` and ``n_out`` active sites (every site for a dense op), ``density`` (n_out / output
    grid sites), ``pairs`` (dense: sites x offsets), ``macs`` and ``dense_macs``."""
    rows = []
    ops = trace.ops
    for _, op in ops[ops["kind"] != "gemm"].iterrows():
        h, w, k2 = int(op["H"]), int(op["W"]), int(op["R"] * op["S"])
        transposed = op["kind"].endswith("deconv2d")
        ho, wo = ((h * op["stride"], w * op["stride"]) if transposed else
                  (int(conv_output_size(h, op["R"], op["stride"], op["pad"])),
                   int(conv_output_size(w, op["S"], op["stride"], op["pad"]))))
        dense_pairs = (h * w if transposed else ho * wo) * k2
        payload = trace.payloads.get(int(op["id"]))
        n_in, n_out, pairs = (h * w, ho * wo, dense_pairs) if payload is None else (
            len(payload["coords"]), len(payload["out_coords"]), len(payload["pairs"]))
        rows.append({"layer": op["name"], "kind": op["kind"], "n_in": n_in, "n_out": n_out,
                     "density": n_out / (ho * wo), "pairs": pairs, "macs": pairs * int(op["C"] * op["K"]),
                     "dense_macs": dense_pairs * int(op["C"] * op["K"])})
    return rows
