"""Recipe: reference MX quantize-dequantize outputs from torchao (the OCP MX reference in PyTorch).

Runs torchao 0.18.0's ``to_mx`` / ``to_dtype`` (``ScaleCalculationMode.FLOOR``, the spec's scale
rule; elements cast with round-to-nearest-even and saturation) on seeded float32 tensors:
Gaussian, heavy-tailed (Student t, 2 dof), tiny (down to float32 subnormals), huge (up to 2^120),
exact ties between E2M1/E4M3 neighbours, blocks with zeros and all-zero blocks, blocks at float32's
ends (float32 max, all-subnormal blocks), and blocks holding +-inf or NaN (where our documented rule
differs from torchao for inf; ``sim.numerics.quantize.mx`` says why). Writes
``tests/data/numerics/mx_torchao.npz`` (input and output per case and format), which
``tests/sim/test_numerics_reference.py`` compares with ``sim.numerics.fake_quantize``.

Run: ``python benchmarks/mx_reference.py``. It creates ``benchmarks/.torchao-venv`` on first use
(``pip install torch==2.13.0 torchao==0.18.0``; the venv sees the system's packages, so an
installed torch 2.13.0 is reused) and re-runs itself there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).parent / ".torchao-venv"
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "numerics" / "mx_torchao.npz"
PACKAGES = ["torch==2.13.0", "torchao==0.18.0", "numpy"]
BLOCK = 32


def cases():
    import numpy as np

    rng = np.random.default_rng(2026)
    f32 = np.float32
    gauss = rng.standard_normal((64, 256)).astype(f32)
    heavy = rng.standard_t(2, size=(64, 256)).astype(f32)
    tiny = (rng.standard_normal((16, 256)) * np.exp2(rng.integers(-149, -100, size=(16, 1)))).astype(f32)
    huge = (rng.standard_normal((16, 256)) * np.exp2(rng.integers(60, 120, size=(16, 1)))).astype(f32)
    grid = np.array([0, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 6, 448, 416, 432, 464, 480], f32)
    ties = (rng.choice(grid, size=(16, 256)) * rng.choice([-1, 1], size=(16, 256))).astype(f32)
    ties[:, ::BLOCK] = 6.0  # pin each block's scale to 1 so that the grid values are exact ties
    zeros = gauss[:16].copy()
    zeros[rng.random(zeros.shape) < 0.5] = 0.0
    zeros[0] = 0.0
    limits = np.finfo(f32)
    extremes = gauss[:8].copy()
    extremes[0, ::BLOCK] = limits.max  # float32 max beside ordinary values
    extremes[1, 1::BLOCK] = -limits.max
    extremes[2] = limits.max * np.sign(gauss[2])  # whole blocks at +-max
    extremes[3] = rng.integers(1, 1 << 23, 256) * limits.smallest_subnormal * np.sign(gauss[3])  # all subnormal
    extremes[4] = limits.smallest_subnormal * np.sign(gauss[4])
    extremes[5, ::2] = limits.smallest_subnormal  # subnormals beside ordinary values
    extremes[6, ::BLOCK] = limits.tiny
    extremes[7] = -0.0
    non_finite = gauss[:6].copy()
    for row, value in enumerate([np.inf, -np.inf, np.nan]):
        non_finite[row, 3::BLOCK] = value  # one in every block
        non_finite[row + 3, 5:BLOCK * 4:BLOCK] = value  # in the first four blocks only
    non_finite[3, 100] = -np.inf  # beside the +inf at 101: both infinities in one block
    non_finite[4, 7] = np.nan  # inf beside NaN
    return {"gaussian": gauss, "heavy_tailed": heavy, "tiny": tiny, "huge": huge, "ties": ties, "zeros": zeros,
            "extremes": extremes.astype(f32), "non_finite": non_finite.astype(f32)}


def main() -> None:
    import numpy as np
    import torch
    from torchao.prototype.mx_formats.mx_tensor import ScaleCalculationMode, to_dtype, to_mx

    formats = {"mxfp4": torch.float4_e2m1fn_x2, "mxfp6_e2m3": "fp6_e2m3", "mxfp6_e3m2": "fp6_e3m2",
               "mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2}
    arrays = {}
    for name, x in cases().items():
        arrays[f"{name}/input"] = x
        for fmt, dtype in formats.items():
            scale, data = to_mx(torch.from_numpy(x), dtype, BLOCK, ScaleCalculationMode.FLOOR)
            y = to_dtype(data, scale, dtype, BLOCK, torch.float32)
            arrays[f"{name}/{fmt}"] = y.numpy()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays; torch {torch.__version__})")


def venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


if __name__ == "__main__":
    try:
        import torchao  # noqa: F401
    except ImportError:
        os.execv(venv_python(), [str(venv_python()), __file__])
    main()
