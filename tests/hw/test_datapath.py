"""BlockDot's "magnitude" datapath (unsigned trees per product sign, sign applied after the sum) is
bit-exact against the golden model for every combination of asymmetric operands and scale format."""

import itertools

import numpy as np
import pytest

from hw import generators, golden, pysim, stimuli
from sim.errors import ConfigError

ASYMMETRY = list(itertools.product([False, True], repeat=2))


def _assert_exact(component, inputs):
    bad = golden.mismatches(golden.outputs(component, inputs), pysim.run(component, inputs))
    assert not any(bad.values()), bad


@pytest.mark.parametrize("scale_format", ["e8m0", "e5m2", "e4m3"])
@pytest.mark.parametrize("a_asym,w_asym", ASYMMETRY)
def test_magnitude_datapath_exhaustive_and_random(a_asym, w_asym, scale_format):
    component = generators.build("amxfp4", block=8, scale_format=scale_format, a_asymmetric=a_asym,
                                 w_asymmetric=w_asym, datapath="magnitude")
    exhaustive, rand = stimuli.exhaustive(component), stimuli.random(component, np.random.default_rng(5), 128)
    _assert_exact(component, {k: np.concatenate([exhaustive[k], rand[k]]) for k in exhaustive})


@pytest.mark.parametrize("a_asym,w_asym", ASYMMETRY)
def test_magnitude_datapath_full_block_extremes(a_asym, w_asym):
    """Block 32, every lane at the largest magnitude (6 x 6) with one sign pattern per row, and rows
    whose lanes alternate: the unsigned trees' full width and both signs of every partial sum."""
    component = generators.build("amxfp4", a_asymmetric=a_asym, w_asymmetric=w_asym, datapath="magnitude")
    top, lanes = 0b0111, np.arange(32)
    rows = [(top | sa << 3, top | sw << 3) for sa in (0, 1) for sw in (0, 1)]
    a = np.array([np.full(32, x) for x, _ in rows] + [top | (lanes % 2) << 3, np.full(32, top)])
    w = np.array([np.full(32, y) for _, y in rows] + [np.full(32, top), top | (lanes % 2) << 3])
    n = len(a)
    scales = np.full((n, 2), 0x7B)  # the largest finite E5M2 mantissa (1.75), so every scale multiply is wide
    _assert_exact(component, {"a": a, "w": w, "a_scale": scales[:, :component.n_a],
                              "w_scale": scales[:, :component.n_w], "valid": np.ones(n, np.int64)})


def test_unknown_datapath_is_one_line():
    with pytest.raises(ConfigError, match=r"^amxfp4\.datapath: got 'sign'; allowed: signed, magnitude$"):
        generators.build("amxfp4", datapath="sign")
