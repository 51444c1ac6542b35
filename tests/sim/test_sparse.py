"""sim.sparse against a brute-force reference written here from the definition (enumerate every output
site of the output grid and every kernel offset), against hand-worked counts, and by properties."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sim.errors import WorkloadError
from sim.sparse import conv_rules, dvp_keep, minkowski_rules, sd_conv_rules

pytestmark = pytest.mark.numba


def brute_force(coords, shape, k, s=1, p=0, d=1, subm=False):
    """{(offset, in_coord, out_coord)} and the output site set, by enumerating every output site o of the
    output grid and every offset (ky, kx): the input is o * s - p + (ky, kx) * d (spconv's relation).
    Each parameter is an int or a (y, x) pair. SubM: output sites = input sites, p = d * (k // 2)."""
    k, s, p, d = ((v, v) if isinstance(v, int) else tuple(v) for v in (k, s, p, d))
    active = {tuple(c) for c in np.asarray(coords).tolist()}
    if subm:
        s, p = (1, 1), (d[0] * (k[0] // 2), d[1] * (k[1] // 2))
    grid = [(shape[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in (0, 1)]
    triples = set()
    for oy in range(grid[0]):
        for ox in range(grid[1]):
            if subm and (oy, ox) not in active:
                continue
            for ky in range(k[0]):
                for kx in range(k[1]):
                    site = (oy * s[0] - p[0] + ky * d[0], ox * s[1] - p[1] + kx * d[1])
                    if site in active:
                        triples.add((ky * k[1] + kx, site, (oy, ox)))
    return triples, {t[2] for t in triples}


def as_triples(rules):
    """The pairs of ``rules`` as {(offset, in_coord, out_coord)}."""
    return {(o, tuple(rules.in_coords[i].tolist()), tuple(rules.out_coords[j].tolist()))
            for o, i, j in rules.pairs.tolist()}


def check_structure(rules):
    """Invariants of every Rules: dtypes, counts, sort order of pairs and rows in range."""
    assert rules.out_coords.dtype == np.int32 and rules.out_coords.shape == (rules.n_out, 2)
    assert rules.pairs.dtype == np.int32 and rules.pair_count.dtype == np.int64
    assert rules.pair_count.sum() == len(rules.pairs)
    assert (np.bincount(rules.pairs[:, 0], minlength=len(rules.pair_count)) == rules.pair_count).all()
    keys = rules.pairs[:, 0].astype(np.int64) * (rules.n_in + 1) + rules.pairs[:, 1]
    assert (np.diff(keys) > 0).all()  # sorted by offset then in_row, no repeated (offset, in_row)
    assert ((rules.pairs[:, 1] >= 0) & (rules.pairs[:, 1] < rules.n_in)).all()
    assert ((rules.pairs[:, 2] >= 0) & (rules.pairs[:, 2] < rules.n_out)).all()


@st.composite
def site_sets(draw, max_side=11):
    """A grid (H, W) and distinct active sites on it, in random row order."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    cells = draw(st.lists(st.integers(0, h * w - 1), unique=True, max_size=h * w))
    coords = np.array([(c // w, c % w) for c in cells], np.int32).reshape(-1, 2)
    return coords, (h, w)


@given(site_sets(), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3))
def test_regular_conv_equals_brute_force(sites, k, s, p, d):
    coords, shape = sites
    if d * (k - 1) + 1 > min(shape) + 2 * p:
        with pytest.raises(WorkloadError, match="kernel"):
            conv_rules(coords, shape, k, s, p, d)
        return
    rules = conv_rules(coords, shape, k, s, p, d)
    triples, outs = brute_force(coords, shape, k, s, p, d)
    check_structure(rules)
    assert as_triples(rules) == triples
    assert rules.out_shape == tuple((side + 2 * p - d * (k - 1) - 1) // s + 1 for side in shape)
    assert set(map(tuple, rules.out_coords.tolist())) == outs and rules.n_out == len(outs)
    assert np.array_equal(rules.out_coords, np.array(sorted(outs), np.int32).reshape(-1, 2))  # raster order
    o, i, j = rules.pairs.T  # the pair relation, read off the arrays directly
    kk = np.stack([o // k, o % k], axis=1)
    assert np.array_equal(rules.in_coords[i], rules.out_coords[j] * s - p + kk * d)


def axis_pairs(low, high):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@given(site_sets(), axis_pairs(1, 4), axis_pairs(1, 3), axis_pairs(0, 2), axis_pairs(1, 2))
def test_per_axis_parameters_equal_brute_force(sites, k, s, p, d):
    coords, shape = sites
    assume(all(d[a] * (k[a] - 1) + 1 <= shape[a] + 2 * p[a] for a in (0, 1)))
    rules = conv_rules(coords, shape, k, s, p, d)
    triples, outs = brute_force(coords, shape, k, s, p, d)
    check_structure(rules)
    assert len(rules.pair_count) == k[0] * k[1] and as_triples(rules) == triples
    assert rules.out_coords.tolist() == sorted(map(list, outs))
    assert rules.out_shape == tuple((shape[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in (0, 1))


@given(site_sets(), st.sampled_from([1, 3, 5]), st.integers(1, 2))
def test_submanifold_equals_brute_force(sites, k, d):
    coords, shape = sites
    rules = conv_rules(coords, shape, k, dilation=d, subm=True)
    check_structure(rules)
    assert np.array_equal(rules.out_coords, coords) and rules.out_shape == shape  # input set, input order
    assert as_triples(rules) == brute_force(coords, shape, k, d=d, subm=True)[0]
    assert rules.pair_count[k * k // 2] == len(coords)  # the centre offset pairs every site with itself


@given(site_sets(), st.sampled_from([(3, 2, 1), (2, 2, 0), (3, 1, 1), (1, 1, 0)]), st.booleans())
def test_inverse_is_the_swap(sites, layer, subm):
    coords, shape = sites
    k, s, p = layer
    assume(k <= min(shape) + 2 * p)
    rules = conv_rules(coords, shape, k, 1, k // 2, subm=True) if subm and k % 2 else conv_rules(coords, shape, k, s, p)
    inv = rules.inverse()
    check_structure(inv)
    assert {tuple(r) for r in inv.pairs.tolist()} == {(o, j, i) for o, i, j in rules.pairs.tolist()}
    assert np.array_equal(inv.out_coords, rules.in_coords) and inv.out_shape == rules.in_shape
    assert np.array_equal(inv.in_coords, rules.out_coords) and inv.in_shape == rules.out_shape
    assert np.array_equal(inv.pair_count, rules.pair_count)
    assert inv.transposed and not inv.inverse().transposed
    assert np.array_equal(inv.inverse().pairs, rules.pairs)
    assert inv.dense_pairs() == rules.dense_pairs()


def test_hand_checked_16x16():
    # Sites (0,0), (5,5), (5,6), (15,15) on a 16x16 grid, rows given out of raster order.
    coords = np.array([[5, 6], [15, 15], [0, 0], [5, 5]], np.int32)
    # 3x3 s1 p1: out = in + (1 - ky, 1 - kx). (0,0) reaches only ky, kx <= 1 (offsets 0 1 3 4);
    # (15,15) only ky, kx >= 1 (offsets 4 5 7 8); (5,5) and (5,6) all nine.
    # Outputs: 4 around (0,0) + rows 4-6 x cols 4-7 (12) + 4 around (15,15) = 20.
    r = conv_rules(coords, (16, 16), 3, 1, 1)
    assert r.pair_count.tolist() == [3, 3, 2, 3, 4, 3, 2, 3, 3] and r.n_out == 20 and r.out_shape == (16, 16)
    # 3x3 s2 p1: out = (in + 1 - k) / 2 where even, < 8. (0,0): ky = kx = 1 -> (0,0), offset 4.
    # (5,5): ky, kx in {0, 2} -> (3|2, 3|2), offsets 0 2 6 8. (5,6): ky in {0, 2}, kx = 1 -> (3,3), (2,3),
    # offsets 1 7. (15,15): ky = kx = 2 -> (7,7), offset 8 (ky = 0 gives 8, outside). Outputs:
    # (0,0) (2,2) (2,3) (3,2) (3,3) (7,7).
    r = conv_rules(coords, (16, 16), 3, 2, 1)
    assert r.pair_count.tolist() == [1, 1, 1, 0, 1, 0, 1, 1, 2] and r.out_shape == (8, 8)
    assert r.out_coords.tolist() == [[0, 0], [2, 2], [2, 3], [3, 2], [3, 3], [7, 7]]
    # 2x2 s2: in = 2 out + k, so offset = (y % 2) * 2 + x % 2: (0,0) -> 0, (5,5) -> 3, (5,6) -> 2, (15,15) -> 3.
    r = conv_rules(coords, (16, 16), 2, 2, 0)
    assert r.pair_count.tolist() == [1, 0, 1, 2] and r.out_coords.tolist() == [[0, 0], [2, 2], [2, 3], [7, 7]]
    assert r.pairs.tolist() == [[0, 2, 0], [2, 0, 2], [3, 1, 3], [3, 3, 1]]
    # SubM 3x3: 4 centre pairs; (5,6) feeds (5,5) through offset (1, 2) = 5, (5,5) feeds (5,6) through 3.
    r = conv_rules(coords, (16, 16), 3, subm=True)
    assert r.pair_count.tolist() == [0, 0, 0, 1, 4, 1, 0, 0, 0]
    assert r.pairs[r.pairs[:, 0] != 4].tolist() == [[3, 3, 0], [5, 0, 3]]
    assert r.macs(64, 128) == 6 * 64 * 128 and r.dense_pairs() == 16 * 16 * 9


def test_empty_set():
    empty = np.zeros((0, 2), np.int32)
    for rules in (conv_rules(empty, (4, 5), 3, 2, 1), conv_rules(empty, (4, 5), subm=True),
                  conv_rules(empty, (4, 5)).inverse(), minkowski_rules(empty, (4, 5), 3, 2)):
        check_structure(rules)
        assert rules.n_in == rules.n_out == 0 == len(rules.pairs)
    assert conv_rules(empty, (4, 5), 3).out_shape == (2, 3)
    assert sd_conv_rules(empty, (4, 5), np.zeros(0), 2).selected.shape == (0,)
    assert dvp_keep(np.zeros(0), ratio=0.5).shape == (0,)


def test_extreme_grid_sizes():
    side = 2**31 - 1
    corners = np.array([[side - 1, side - 1], [0, 0], [side - 1, 0], [0, side - 1], [1, 1]], np.int32)
    r = conv_rules(corners, (side, side), 3, 1, 1)
    triples, outs = brute_force_sparse(corners, 3, 1, 1, (side, side))
    assert as_triples(r) == triples and len(outs) == r.n_out
    r = conv_rules(corners, (side, side), 2, 2)
    # Output grid (side - 2) // 2 + 1 = side // 2: the even last row/column index side - 1 maps to side // 2,
    # outside, so only (0,0) (offset 0) and (1,1) (offset 3) remain, both onto output (0,0).
    assert r.out_shape == (side // 2, side // 2) and r.pairs.tolist() == [[0, 1, 0], [3, 4, 0]]
    r = conv_rules(corners, (side, side), subm=True)
    # SubM: five centre pairs; (0,0) and (1,1) are diagonal neighbours: output (1,1) takes input (0,0)
    # through offset (0,0) = 0, output (0,0) takes (1,1) through offset (2,2) = 8.
    assert np.array_equal(r.out_coords, corners) and r.pair_count.tolist() == [1, 0, 0, 0, 5, 0, 0, 0, 1]
    assert r.pairs[r.pairs[:, 0] != 4].tolist() == [[0, 1, 4], [8, 4, 1]]
    one = conv_rules(np.array([[0, 0]]), (1, 1), 3, 1, 1)
    assert one.pair_count.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0] and one.out_coords.tolist() == [[0, 0]]


def brute_force_sparse(coords, k, s, p, shape):
    """Brute force over the offsets of each input (for grids too large to enumerate): the outputs
    o = (i + p - k) / s that are whole and inside the output grid."""
    ho, wo = ((n + 2 * p - k) // s + 1 for n in shape)
    triples = set()
    for y, x in coords.tolist():
        for ky in range(k):
            for kx in range(k):
                ny, nx = y + p - ky, x + p - kx
                if ny >= 0 and nx >= 0 and ny % s == 0 and nx % s == 0 and ny // s < ho and nx // s < wo:
                    triples.add((ky * k + kx, (y, x), (ny // s, nx // s)))
    return triples, {t[2] for t in triples}


def pairs_onto(coords, outputs, k, s, p, d):
    """{(offset, in_coord, out_coord)} onto the given output sites: for every output o and offset
    (ky, kx), the input site o * s - p + (ky, kx) * d when it is active."""
    active = {tuple(c) for c in np.asarray(coords).tolist()}
    return {(ky * k + kx, (oy * s - p + ky * d, ox * s - p + kx * d), (oy, ox))
            for oy, ox in outputs for ky in range(k) for kx in range(k)
            if (oy * s - p + ky * d, ox * s - p + kx * d) in active}


@given(site_sets(), st.data(), st.sampled_from([1, 3, 5]), st.integers(1, 2))
def test_sd_conv_equals_brute_force(sites, data, k, d):
    coords, shape = sites
    n = len(coords)
    scores = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), np.float64)  # ties likely
    t = data.draw(st.sampled_from([0.5, 2, 7, 33.3, 50, 100]))
    rules = sd_conv_rules(coords, shape, scores, t, k, d)
    check_structure(rules)
    # top ceil(t % of n) rows by score, lower row first among equal scores
    count = -(-round(t * 10) * n // 1000)
    selected = sorted(sorted(range(n), key=lambda i: (-scores[i], i))[:count])
    assert rules.selected.tolist() == selected and rules.selected.dtype == np.int32
    half = d * (k // 2)
    grown = {(y + half - ky * d, x + half - kx * d) for y, x in coords[selected].tolist()
             for ky in range(k) for kx in range(k)}
    inside = {(y, x) for y, x in grown if 0 <= y < shape[0] and 0 <= x < shape[1]}
    outputs = {tuple(c) for c in coords.tolist()} | inside
    assert rules.out_coords.tolist() == sorted(map(list, outputs)) and rules.out_shape == shape
    assert as_triples(rules) == pairs_onto(coords, outputs, k, 1, half, d)


@given(site_sets(), st.sampled_from([1, 3, 5]))
def test_sd_conv_at_100_percent_is_the_regular_same_conv(sites, k):
    coords, shape = sites
    full = sd_conv_rules(coords, shape, np.ones(len(coords)), 100, k)
    regular = conv_rules(coords, shape, k, 1, k // 2)
    assert np.array_equal(full.out_coords, regular.out_coords) and np.array_equal(full.pairs, regular.pairs)
    assert full.selected.tolist() == list(range(len(coords)))


@given(site_sets(), st.integers(1, 4), st.integers(1, 3), st.integers(1, 2))
def test_minkowski_quantises_without_dilation(sites, k, s, d):
    coords, shape = sites
    rules = minkowski_rules(coords, shape, k, s, d)
    check_structure(rules)
    quantised = sorted({(y // s, x // s) for y, x in coords.tolist()})
    assert rules.out_coords.tolist() == [list(q) for q in quantised]
    assert rules.out_shape == (-(-shape[0] // s), -(-shape[1] // s))
    # MinkowskiEngine's hypercube region: centred on the output for odd k, offsets 0..k-1 for even k
    region = (k // 2) * d if k % 2 else 0
    assert as_triples(rules) == pairs_onto(coords, quantised, k, s, region, d)
    if s == 1 and k % 2:  # stride 1, odd kernel: the same pairs as the submanifold conv
        assert as_triples(rules) == as_triples(conv_rules(coords, shape, k, dilation=d, subm=True))


@given(st.lists(st.integers(-5, 5), max_size=40), st.sampled_from([0.01, 0.07, 0.25, 0.5, 0.9, 1.0]))
def test_dvp_keep_by_ratio(scores, ratio):
    values = np.array(scores, np.float32)
    kept = dvp_keep(values, ratio=ratio)
    n = len(scores)
    assert kept.dtype == np.int32 and list(kept) == sorted(set(kept.tolist()))
    assert len(kept) == -(-round(ratio * 100) * n // 100)  # ceil(ratio * n) in exact arithmetic
    dropped = sorted(set(range(n)) - set(kept.tolist()))
    if len(kept) and dropped:
        worst_kept = min(scores[i] for i in kept)
        assert worst_kept >= max(scores[i] for i in dropped)
        # ties at the cut: the lower rows are kept
        assert all(i > max(j for j in kept if scores[j] == worst_kept) for i in dropped if scores[i] == worst_kept)


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), max_size=40), st.floats(-1e3, 1e3, allow_nan=False))
def test_dvp_keep_by_threshold(scores, threshold):
    kept = dvp_keep(np.array(scores), threshold=threshold)
    assert kept.tolist() == [i for i, v in enumerate(scores) if v >= threshold]


def test_a_tiny_share_still_selects_one_row():
    """ceil(t / 100 * n) and ceil(ratio * n) are at least 1 for a non-empty set, however small t is."""
    coords = np.array([[0, 0], [5, 5], [9, 9]], np.int32)
    rules = sd_conv_rules(coords, (10, 10), np.array([1.0, 3.0, 2.0]), 1e-9)
    assert rules.selected.tolist() == [1]
    assert dvp_keep(np.array([1.0, 3.0, 2.0]), ratio=1e-12).tolist() == [1]
    assert dvp_keep(np.array([]), ratio=1e-12).tolist() == []
