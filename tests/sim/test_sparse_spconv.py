"""conv_rules against spconv 2.3.8's CPU rule generation on the seeded sets that
benchmarks/spconv_reference.py recorded in tests/data/spconv (README there): identical per-offset
counts, identical pair sets (as (offset, input site, output site), since row orders differ) and
identical output site sets; the inverse conv checked through its output features."""

from pathlib import Path

import numpy as np
import pytest

from sim.sparse import conv_rules

pytestmark = pytest.mark.numba

DATA = Path(__file__).resolve().parent.parent / "data" / "spconv"
SETS = sorted(p.stem for p in DATA.glob("*.npz"))
LAYERS = ("conv3_s1_p1", "conv3_s2_p1", "conv2_s2", "subm3")


def load(name):
    with np.load(DATA / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


def site_keys(coords, shape):
    return coords[:, 0].astype(np.int64) * shape[1] + coords[:, 1]


def pair_keys(pairs, in_coords, in_shape, out_coords, out_shape):
    """Each pair as one int64 (offset, input site, output site), sorted."""
    cells_out = out_shape[0] * out_shape[1]
    ins, outs = site_keys(in_coords, in_shape)[pairs[:, 1]], site_keys(out_coords, out_shape)[pairs[:, 2]]
    return np.sort((pairs[:, 0].astype(np.int64) * in_shape[0] * in_shape[1] + ins) * cells_out + outs)


def test_reference_data_present():
    assert len(SETS) >= 5 and {"kitti_uniform_3pct", "uniform_6pct", "clustered", "hand_16x16"} <= set(SETS)
    data = load("kitti_uniform_3pct")
    assert str(data["spconv"]) == "2.3.8" and str(data["torch"]).startswith("2.13.0")
    assert tuple(data["shape"]) == (496, 432) and len(data["coords"]) == round(0.03 * 496 * 432)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", SETS)
def test_rules_equal_spconv(name, layer):
    data = load(name)
    coords, shape = data["coords"], tuple(int(v) for v in data["shape"])
    kernel, stride, padding, subm = (int(v) for v in data[f"{layer}/settings"])
    ours = conv_rules(coords, shape, kernel, stride, padding, subm=bool(subm))
    theirs, their_out = data[f"{layer}/pairs"], data[f"{layer}/out_coords"]
    assert np.array_equal(ours.pair_count, data[f"{layer}/count"])
    assert len(ours.out_coords) == len(their_out)
    assert np.array_equal(np.sort(site_keys(ours.out_coords, ours.out_shape)),
                          np.sort(site_keys(their_out, ours.out_shape)))
    assert np.array_equal(pair_keys(ours.pairs, coords, shape, ours.out_coords, ours.out_shape),
                          pair_keys(theirs, coords, shape, their_out, ours.out_shape))
    if subm:
        assert np.array_equal(their_out, coords) and np.array_equal(ours.out_coords, coords)


@pytest.mark.parametrize("layer", ("conv3_s2_p1", "conv2_s2"))
@pytest.mark.parametrize("name", SETS)
def test_inverse_equals_spconv_inverse_conv(name, layer):
    """spconv's SparseInverseConv2d output (sites and exact integer-valued features) recomputed by a
    gather-GEMM-scatter over ``Rules.inverse()``."""
    data = load(name)
    coords, shape = data["coords"], tuple(int(v) for v in data["shape"])
    kernel, stride, padding, _ = (int(v) for v in data[f"{layer}/settings"])
    inverse = conv_rules(coords, shape, kernel, stride, padding).inverse()
    case = {key.rsplit("/", 1)[1]: value for key, value in data.items() if key.startswith(f"{layer}/inverse/")}
    assert np.array_equal(case["out_coords"], coords) and np.array_equal(inverse.out_coords, coords)
    # Our input rows are the strided conv's outputs in raster order; spconv's are in its own order.
    theirs = site_keys(case["in_coords"], inverse.in_shape)
    row_of = np.argsort(theirs)[np.searchsorted(np.sort(theirs), site_keys(inverse.in_coords, inverse.in_shape))]
    assert np.array_equal(theirs[row_of], site_keys(inverse.in_coords, inverse.in_shape))
    features = case["features"][row_of]
    cout, cin = case["weight"].shape[0], case["weight"].shape[-1]
    weight = case["weight"].reshape(cout, kernel * kernel, cin)
    out = np.zeros((inverse.n_out, cout), np.float32)
    for offset, i, j in inverse.pairs:
        out[j] += weight[:, offset, :] @ features[i]
    assert np.array_equal(out, case["out_features"])


def test_hand_set_counts_agree_with_spconv():
    """spconv's counts for the 16x16 set equal the ones worked out by hand in test_sparse.py."""
    data = load("hand_16x16")
    assert data["conv3_s1_p1/count"].tolist() == [3, 3, 2, 3, 4, 3, 2, 3, 3]
    assert data["conv3_s2_p1/count"].tolist() == [1, 1, 1, 0, 1, 0, 1, 1, 2]
    assert data["conv2_s2/count"].tolist() == [1, 0, 1, 2]
    assert data["subm3/count"].tolist() == [0, 0, 0, 1, 4, 1, 0, 0, 0]
