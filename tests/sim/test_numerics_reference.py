"""MXFP4 and MXFP8 (E4M3) agree bit for bit with torchao's MX reference (FLOOR scale mode, RNE
elements) on Gaussian, heavy-tailed, tiny, huge, tie and zero-containing tensors. Reference outputs
were produced by benchmarks/mx_reference.py with torch 2.13.0 + torchao 0.18.0."""

from pathlib import Path

import numpy as np
import pytest

from sim.numerics import fake_quantize

REFERENCE = np.load(Path(__file__).parent.parent / "data" / "numerics" / "mx_torchao.npz")
CASES = sorted({key.split("/")[0] for key in REFERENCE.files})


def test_reference_has_every_case():
    assert CASES == ["gaussian", "heavy_tailed", "huge", "ties", "tiny", "zeros"]


@pytest.mark.parametrize("fmt", ["mxfp4", "mxfp8_e4m3"])
@pytest.mark.parametrize("case", CASES)
def test_bit_exact_with_torchao(case, fmt):
    x = REFERENCE[f"{case}/input"]
    want = REFERENCE[f"{case}/{fmt}"]
    got = fake_quantize(x.astype(np.float64), fmt)
    assert got.astype(np.float32).view(np.uint32).tolist() == want.view(np.uint32).tolist()
    assert np.array_equal(got, want.astype(np.float64))  # exactly representable in float32 too
