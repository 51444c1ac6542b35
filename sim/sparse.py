"""Rulebooks of sparse 2D convolutions on pillar grids, with spconv 2.x conventions.

A sparse tensor is a set of active sites (``coords``, (n, 2) int32 rows ``(y, x)``) on a grid of
``spatial_shape = (H, W)``. A convolution's rulebook lists, per kernel offset ``(ky, kx)`` (offset
index ``ky * kw + kx``), the ``(input row, output row)`` pairs whose sites satisfy, per axis,

    in = out * stride - padding + k * dilation          (spconv 2.x ``getIndicePairs``)

and the output grid is ``floor((L + 2p - d(k - 1) - 1) / s) + 1`` per axis. Layer kinds:

- regular (dilating) conv: an output site is active iff some pair reaches it; raster order;
- submanifold (``subm=True``): output set = input set in input order, stride 1, centred odd kernel;
- transposed (inverse) conv: ``Rules.inverse()`` of the matching strided conv (spconv's
  ``SparseInverseConv``): same pairs with input and output swapped, output = the strided conv's input;
- SD-Conv (``sd_conv_rules``): the top-t % pillars by importance dilate like a stride-1 'same' conv,
  the others act as SubM;
- no-dilation strided conv of MinkowskiEngine (``minkowski_rules``): output = inputs quantised to the
  stride;
- dynamic vector pruning (``dvp_keep``): the rows whose importance score is among the top ratio or
  reaches a threshold.

``Rules.n_in`` / ``Rules.n_out`` give a layer's active-set growth, ``Rules.macs`` its gather-GEMM-
scatter MACs and ``Rules.dense_pairs`` the pair count of the same layer run densely.

Algorithm (the sorted-merge scheme SPADE's rule generation unit is assumed to use; the numba kernels
in ``sim.sparse_kernels``, loaded on first use): one radix sort puts the sites in raster order; each
kernel offset's outputs then form a sorted stream, the output set is their duplicate-free merge and
each offset's pairs come from one merge scan. Linear in the active sites times k*k, independent of
the grid size (no dense index grid, no hashing). Checked against spconv 2.3.8 in the tests.

Errors: bad input raises ``WorkloadError`` with one line naming the field, the value and what is
allowed (coordinates outside the grid, repeated sites, a non-integer dtype, a shape other than
(n, 2), a kernel beyond the padded grid, out-of-range parameters, NaN scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.errors import WorkloadError, field_error

MAX_EXTENT = 2**31 - 1  # grid sides and coordinates are int32


@dataclass(frozen=True, eq=False)  # arrays: no element-wise ==
class Rules:
    """The rulebook of one sparse conv layer.

    ``pairs`` rows are ``[offset, in_row, out_row]`` sorted by offset then ``in_row``;
    ``pair_count[o]`` is the number of rows with offset ``o``. ``selected`` holds the input rows an
    SD-Conv dilated (None for other kinds). ``transposed`` marks the rules of an inverse conv.
    """

    in_coords: np.ndarray
    in_shape: tuple[int, int]
    out_coords: np.ndarray
    out_shape: tuple[int, int]
    pair_count: np.ndarray
    pairs: np.ndarray
    selected: np.ndarray | None = None
    transposed: bool = False

    @property
    def n_in(self) -> int:
        return len(self.in_coords)

    @property
    def n_out(self) -> int:
        """Active output sites; ``n_out / n_in`` is the layer's active-set growth."""
        return len(self.out_coords)

    def macs(self, cin: int, cout: int) -> int:
        """Multiply-accumulates of the gather-GEMM-scatter execution: sum over offsets n_o * Cin * Cout."""
        return len(self.pairs) * cin * cout

    def dense_pairs(self) -> int:
        """Pairs of the same layer run densely: every site of the strided side's grid times k*k
        (the output grid of a conv; the input grid of a transposed conv)."""
        h, w = self.in_shape if self.transposed else self.out_shape
        return h * w * len(self.pair_count)

    def inverse(self) -> Rules:
        """Rules of the matching transposed conv: the same pairs with input and output swapped."""
        swapped = self.pairs[:, [0, 2, 1]]
        order = np.lexsort((swapped[:, 1], swapped[:, 0]))
        return Rules(self.out_coords, self.out_shape, self.in_coords, self.in_shape, self.pair_count,
                     np.ascontiguousarray(swapped[order]), None, not self.transposed)


def conv_rules(coords, spatial_shape, kernel=3, stride=1, padding=0, dilation=1, subm=False) -> Rules:
    """Rulebook of a regular (``subm=False``) or submanifold sparse conv; spconv 2.x semantics.

    ``kernel``, ``stride``, ``padding`` and ``dilation`` are an int or a ``(y, x)`` pair. SubM needs
    stride 1 and an odd kernel (its centre is the output site); its padding is implied, so only 0 or
    the 'same' value ``d * (k // 2)`` is accepted.
    """
    shape = _shape(spatial_shape)
    sites = _sites(coords, shape)
    k, s, d = _pair("kernel", kernel, 1), _pair("stride", stride, 1), _pair("dilation", dilation, 1)
    p = _pair("padding", padding, 0)
    if subm:
        same = _same_padding(k, d, kernel)
        if s != (1, 1):
            raise field_error("stride", stride, "1 for a submanifold conv", WorkloadError)
        if p not in ((0, 0), same):
            raise field_error("padding", padding, f"0 or {same} (the 'same' padding) for a submanifold conv",
                              WorkloadError)
        return _match_rules(sites, shape, sites.pts, sites.order, shape, k, (1, 1), same, d, submanifold=True)
    out_shape = _out_shape(shape, k, s, p, d, kernel)
    out, out_pos = _dilate(sites, sites.order, k, s, p, d, out_shape)
    return _rules(sites, shape, out, out_shape, out_pos, np.arange(len(out)))


def sd_conv_rules(coords, spatial_shape, scores, top_percent, kernel=3, dilation=1) -> Rules:
    """Rulebook of an SD-Conv (selective dilation, SD-Conv paper Appx A): a stride-1 'same' conv whose
    output set is the input set plus the kernel neighbourhoods of the top-t % pillars by ``scores``.

    Assumptions (documented defaults): ``ceil(t / 100 * n)`` pillars are selected, ties broken by
    lower row; every active input feeds every active output its kernel reaches (the pairs are those
    of a conv onto that output set, so non-selected pillars also feed the new sites around selected
    ones). ``Rules.selected`` holds the selected input rows, ascending.
    """
    shape = _shape(spatial_shape)
    sites = _sites(coords, shape)
    pts = sites.pts
    values = _scores(scores, len(pts))
    t = _number("top_percent", top_percent)
    if not 0 < t <= 100:
        raise field_error("top_percent", top_percent, "a percentage in (0, 100]", WorkloadError)
    k, d = _pair("kernel", kernel, 1), _pair("dilation", dilation, 1)
    p = _same_padding(k, d, kernel)
    selected = _top_rows(values, _share(t / 100, len(pts)))
    chosen = np.zeros(len(pts), bool)
    chosen[selected] = True
    grown, _ = _dilate(sites, sites.order[chosen[sites.order]], k, (1, 1), p, d, shape)
    out = np.unique(np.concatenate([pts, grown]), axis=0)  # np.unique sorts rows: raster order
    rules = _match_rules(sites, shape, out, np.arange(len(out)), shape, k, (1, 1), p, d)
    return Rules(rules.in_coords, shape, rules.out_coords, shape, rules.pair_count, rules.pairs,
                 selected.astype(np.int32))


def minkowski_rules(coords, spatial_shape, kernel=3, stride=1, dilation=1) -> Rules:
    """Rulebook with MinkowskiEngine's default (no ``expand_coordinates``) output set: the input sites
    quantised to the stride, ``floor(c / s)``, raster order; output grid ``ceil(L / s)``.

    MinkowskiEngine's hypercube kernel region is centred on the output for odd sizes and spans
    offsets ``0 .. k-1`` for even sizes (``kernel_region::set_bounds`` in its ``src/kernel_region.hpp``),
    i.e. spconv's relation with padding ``d * (k // 2)`` (odd) or 0 (even). Offsets keep spconv's index
    ``ky * kw + kx`` (MinkowskiEngine enumerates them in another order, so its per-offset counts
    are these reordered). Use it to match MAC counts to MinkowskiEngine; ``conv_rules`` matches spconv.
    """
    shape = _shape(spatial_shape)
    sites = _sites(coords, shape)
    k, s, d = _pair("kernel", kernel, 1), _pair("stride", stride, 1), _pair("dilation", dilation, 1)
    p = tuple(di * (ki // 2) if ki % 2 else 0 for ki, di in zip(k, d))
    out_shape = (-(-shape[0] // s[0]), -(-shape[1] // s[1]))
    quantised = np.unique(sites.pts // np.array(s, np.int32), axis=0).reshape(-1, 2)  # sorted: raster order
    return _match_rules(sites, shape, quantised, np.arange(len(quantised)), out_shape, k, s, p, d)


def dvp_keep(scores, ratio=None, threshold=None) -> np.ndarray:
    """Dynamic vector pruning (SPADE): the rows kept, ascending int32.

    ``scores`` is each row's importance as the caller measures it; SPADE's criterion is assumed to be
    the magnitude (a norm) of the row's feature vector. Exactly one rule: ``ratio`` in (0, 1] keeps
    the ``ceil(ratio * n)`` highest scores (ties: lower row first; SPADE's per-layer keep ratio, the
    default rule); ``threshold`` keeps the rows whose score is >= it.
    """
    values = _scores(scores, None)
    if (ratio is None) == (threshold is None):
        raise field_error("ratio/threshold", (ratio, threshold), "exactly one of ratio or threshold", WorkloadError)
    if ratio is not None:
        r = _number("ratio", ratio)
        if not 0 < r <= 1:
            raise field_error("ratio", ratio, "a keep ratio in (0, 1]", WorkloadError)
        return _top_rows(values, _share(r, len(values))).astype(np.int32)
    limit = _number("threshold", threshold)
    if math.isnan(limit):
        raise field_error("threshold", threshold, "a number (not NaN)", WorkloadError)
    return np.flatnonzero(values >= limit).astype(np.int32)


def _share(fraction: float, n: int) -> int:
    """``ceil(fraction * n)``, rounded first to 9 digits so that e.g. 7 % of 100 rows is 7, not 8; at
    least one row of a non-empty set (the fraction is > 0)."""
    return max(math.ceil(round(fraction * n, 9)), min(n, 1))


def _top_rows(values: np.ndarray, count: int) -> np.ndarray:
    """Rows of the ``count`` highest values (stable: lower row first among ties), ascending."""
    return np.sort(np.argsort(-values, kind="stable")[:count])


def _match_rules(sites, shape, out, out_order, out_shape, k, s, p, d, submanifold=False) -> Rules:
    """Rules of the conv from the input ``sites`` onto the given output sites ``out`` (``out_order``:
    the rows of ``out`` in raster order; ``submanifold``: ``out`` is the input set and the kernel is
    centred, so the mirrored offsets are derived instead of scanned)."""
    from sim import sparse_kernels

    out_keys = out[out_order, 0].astype(np.int64) * out_shape[1] + out[out_order, 1]
    out_pos = sparse_kernels.match(sites.wide, sites.order, out_keys, *k, *s, *p, *d, *out_shape, submanifold)
    return _rules(sites, shape, out, out_shape, out_pos, out_order)


def _rules(sites, shape, out, out_shape, out_pos, out_order) -> Rules:
    """Rules from each offset's output position by input raster position (``out_order``: the rows
    of ``out`` in raster order)."""
    from sim import sparse_kernels

    return Rules(sites.pts, shape, out, out_shape, *sparse_kernels.pairs(out_pos, sites.order, out_order))


def _dilate(sites, order, k, s, p, d, out_shape) -> tuple[np.ndarray, np.ndarray]:
    """Output sites (raster order) reached by the input rows ``order`` (raster order), and each
    offset's output position by input raster position."""
    from sim import sparse_kernels

    return sparse_kernels.dilate(sites.wide, order, *k, *s, *p, *d, *out_shape)


# ---------------------------------------------------------------------------------------------
# Input checks: one line naming the field, the value and what is allowed.

def _shape(spatial_shape) -> tuple[int, int]:
    allowed = f"two integers (H, W), each in [1, {MAX_EXTENT}]"
    try:
        h, w = spatial_shape
    except (TypeError, ValueError):
        raise field_error("spatial_shape", spatial_shape, allowed, WorkloadError) from None
    if not all(_is_int(v) and 1 <= v <= MAX_EXTENT for v in (h, w)):
        raise field_error("spatial_shape", spatial_shape, allowed, WorkloadError)
    return int(h), int(w)


@dataclass(frozen=True)
class _Sites:
    """Checked input sites: int32 rows, the same as int64 (for the kernels), rows in raster order."""

    pts: np.ndarray
    wide: np.ndarray
    order: np.ndarray


def _sites(coords, shape) -> _Sites:
    from sim import sparse_kernels

    arr = np.asarray(coords)
    if arr.dtype.kind not in "iu":
        raise field_error("coords.dtype", str(arr.dtype), "an integer dtype (int32 preferred)", WorkloadError)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise field_error("coords.shape", arr.shape, "(n, 2) rows of (y, x)", WorkloadError)
    wide = np.ascontiguousarray(arr, dtype=np.int64)  # uint64 beyond int64 wraps negative: reported as outside
    order, outside, first, second = sparse_kernels.prepare(wide, *shape)
    if outside >= 0:
        raise field_error(f"coords[{outside}]", tuple(int(v) for v in arr[outside]),
                          f"0 <= y < {shape[0]} and 0 <= x < {shape[1]} (the grid)", WorkloadError)
    if first >= 0:
        raise field_error(f"coords[{second}]", tuple(int(v) for v in arr[second]),
                          f"distinct sites (it repeats coords[{first}])", WorkloadError)
    return _Sites(wide.astype(np.int32), wide, order)


def _pair(field, value, minimum) -> tuple[int, int]:
    pair = (value, value) if _is_int(value) else value
    try:
        ok = len(pair) == 2 and all(_is_int(v) and minimum <= v <= MAX_EXTENT for v in pair)
    except TypeError:
        ok = False
    if not ok:
        raise field_error(field, value, f"an integer >= {minimum} or a (y, x) pair of them", WorkloadError)
    return int(pair[0]), int(pair[1])


def _same_padding(k, d, kernel) -> tuple[int, int]:
    """The 'same' padding of a centred kernel (``kernel``: the value the caller gave, for the message)."""
    if k[0] % 2 == 0 or k[1] % 2 == 0:
        raise field_error("kernel", kernel, "odd sizes (a centred kernel)", WorkloadError)
    return d[0] * (k[0] // 2), d[1] * (k[1] // 2)


def _out_shape(shape, k, s, p, d, kernel) -> tuple[int, int]:
    """The spconv output grid; ``kernel``: the value the caller gave, for the message."""
    out = []
    for axis, (length, ki, si, pi, di) in enumerate(zip(shape, k, s, p, d)):
        span = di * (ki - 1) + 1
        if span > length + 2 * pi:
            raise field_error("kernel", kernel, f"a dilated extent d*(k-1)+1 <= the padded grid ({length + 2 * pi} "
                              f"on axis {'yx'[axis]})", WorkloadError)
        out.append((length + 2 * pi - span) // si + 1)
    return out[0], out[1]


def _scores(scores, n) -> np.ndarray:
    values = np.asarray(scores)
    if values.dtype.kind not in "iuf" or values.ndim != 1 or (n is not None and len(values) != n):
        want = "one real number per row" + ("" if n is None else f" ({n} values)")
        raise field_error("scores", f"{values.dtype} array of shape {values.shape}", want, WorkloadError)
    nan = np.flatnonzero(np.isnan(values.astype(np.float64)))
    if len(nan):
        raise field_error(f"scores[{nan[0]}]", float("nan"), "a real number (not NaN)", WorkloadError)
    return values.astype(np.float64)


def _number(field, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise field_error(field, value, "a number", WorkloadError)
    return float(value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
