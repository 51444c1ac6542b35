"""MX agrees bit for bit with torchao's MX reference (FLOOR scale mode, RNE elements) on every finite
block -- Gaussian, heavy-tailed, tiny, huge, tie, zero-containing and float32-extreme (max,
subnormal) tensors -- in all five MX float formats. Blocks holding NaN are NaN in both. Blocks
holding +-inf are NaN here (the rule ``sim.numerics.quantize.mx`` documents) while torchao returns
+-inf at the infinities and 0 elsewhere; that difference is asserted too, so the documentation
stays true. Reference outputs were produced by benchmarks/mx_reference.py with torch 2.13.0 +
torchao 0.18.0."""

from pathlib import Path

import numpy as np
import pytest

from sim.numerics import fake_quantize

pytestmark = pytest.mark.numba

REFERENCE = np.load(Path(__file__).parent.parent / "data" / "numerics" / "mx_torchao.npz")
CASES = sorted({key.split("/")[0] for key in REFERENCE.files})
FORMATS = ["mxfp4", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp8_e4m3", "mxfp8_e5m2"]
BLOCK = 32


def test_reference_has_every_case():
    assert CASES == ["extremes", "gaussian", "heavy_tailed", "huge", "non_finite", "ties", "tiny", "zeros"]
    assert set(REFERENCE.files) == {f"{case}/{key}" for case in CASES for key in ["input", *FORMATS]}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_bit_exact_with_torchao_on_finite_blocks(case, fmt):
    x = REFERENCE[f"{case}/input"]
    want = REFERENCE[f"{case}/{fmt}"].reshape(-1, BLOCK)
    got = fake_quantize(x.astype(np.float64), fmt).reshape(-1, BLOCK)
    blocks = x.reshape(-1, BLOCK)
    finite = np.all(np.isfinite(blocks), axis=-1)
    assert finite.any() and finite.all() == (case != "non_finite")
    bits = lambda a: a[finite].astype(np.float32).view(np.uint32)  # noqa: E731
    assert np.array_equal(bits(got), bits(want))
    assert np.array_equal(got[finite], want[finite].astype(np.float64))  # exactly representable in float32 too


@pytest.mark.parametrize("fmt", FORMATS)
def test_nan_and_inf_blocks_against_torchao(fmt):
    blocks = REFERENCE["non_finite/input"].reshape(-1, BLOCK)
    want = REFERENCE[f"non_finite/{fmt}"].reshape(-1, BLOCK)
    got = fake_quantize(blocks.astype(np.float64), fmt)
    has_nan = np.isnan(blocks).any(axis=-1)
    inf_only = np.isinf(blocks).any(axis=-1) & ~has_nan
    assert has_nan.any() and inf_only.any()
    assert np.isnan(got[has_nan | inf_only]).all()  # ours: the whole block is NaN
    assert np.isnan(want[has_nan]).all()  # torchao agrees for NaN ...
    x, y = blocks[inf_only], want[inf_only]  # ... but not for inf: +-inf stays, every finite element is 0
    assert np.array_equal(y[np.isinf(x)], x[np.isinf(x)]) and (y[np.isfinite(x)] == 0).all()
