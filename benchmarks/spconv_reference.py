"""Recipe: reference rulebooks from spconv 2.3.8 (CPU build), for ``tests/sim/test_sparse_spconv.py``.

Runs spconv's CPU rule generation, ``spconv.pytorch.ops.get_indice_pairs`` (``ConvAlgo.Native``, the
path ``SparseConv2d`` / ``SubMConv2d`` take on CPU), on the seeded site sets of ``site_sets()`` for
the layers of ``LAYERS``, and the inverse conv (``SparseConv2d`` then ``SparseInverseConv2d`` with the
same ``indice_key``) on integer-valued features and weights, so every float32 sum is exact. Writes one
``tests/data/spconv/<set>.npz`` per set and ``tests/data/spconv/README.md``.

spconv conventions mapped here (spconv 2.3.8 ``spconv/pytorch/ops.py``):
- indices are ``(batch, y, x)`` int32 rows; batch 0 is added on input and dropped on output;
- ``get_indice_pairs`` returns ``pair`` of shape ``(2, k*k, n_in)`` (row 0 input, row 1 output index,
  padded with -1) and ``indice_num_per_loc`` (k*k,); offset index ``ky * kw + kx``;
- for SubM the CPU path fills only offsets below the centre: ``indice_conv`` reads the count of an
  offset ``i`` past the centre from ``indice_num_per_loc[k*k - 1 - i]`` and multiplies the centre
  offset as one dense GEMM of every site with itself (``pair[:, centre]`` holds that identity). The
  stored counts and pairs apply the same reading.
Stored per layer ``<layer>/count`` (k*k,) int64, ``<layer>/pairs`` (P, 3) int32 rows
``[offset, in_row, out_row]`` (rows of spconv's input and output indices), ``<layer>/out_coords``;
per inverse ``<layer>/inverse/...`` (see ``inverse_case``).

Run: ``python benchmarks/spconv_reference.py``. It creates ``benchmarks/.spconv-venv`` on first use
(``pip install spconv==2.3.8 torch==2.13.0`` from PyPI; the venv sees the system's packages, so an
installed torch 2.13.0 is reused) and re-runs itself there.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".spconv-venv"
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "spconv"
PACKAGES = ["spconv==2.3.8", "torch==2.13.0"]
KITTI = (496, 432)  # PointPillars KITTI pillar grid: H = 496 rows (y), W = 432 columns (x)
# name: (kernel, stride, padding, subm)
LAYERS = {"conv3_s1_p1": (3, 1, 1, False), "conv3_s2_p1": (3, 2, 1, False), "conv2_s2": (2, 2, 0, False),
          "subm3": (3, 1, 1, True)}
INVERTED = ("conv3_s2_p1", "conv2_s2")  # layers whose inverse conv is run too
CHANNELS = 4  # features and weights of the inverse-conv check


def uniform(rng, shape, share):
    """``round(share * H * W)`` distinct sites drawn uniformly, in random row order."""
    cells = rng.choice(shape[0] * shape[1], round(share * shape[0] * shape[1]), replace=False)
    return cells // shape[1], cells % shape[1]


def site_sets() -> dict:
    """Seeded (coords (n, 2) int32 (y, x), spatial shape) per set name."""
    import numpy as np

    rng = np.random.default_rng(2026)
    sets = {"kitti_uniform_3pct": (KITTI, uniform(rng, KITTI, 0.03)),
            "uniform_6pct": ((124, 108), uniform(rng, (124, 108), 0.06))}
    # Clustered: 12 Gaussian blobs (sd 6 cells) of 150 draws on the KITTI grid, duplicates merged.
    centres = rng.uniform((0, 0), KITTI, size=(12, 2))
    blobs = np.rint(np.repeat(centres, 150, axis=0) + rng.normal(0, 6, size=(1800, 2))).astype(np.int64)
    blobs = np.unique(np.clip(blobs, 0, np.array(KITTI) - 1), axis=0)
    rng.shuffle(blobs)
    sets["clustered"] = (KITTI, (blobs[:, 0], blobs[:, 1]))
    # Hand-checkable: the four sites whose counts tests/sim/test_sparse.py works out by hand.
    sets["hand_16x16"] = ((16, 16), ([5, 15, 0, 5], [6, 15, 0, 5]))
    # Edges of an odd-sized grid: every border cell plus 10 % of the interior.
    h, w = 31, 17
    yy, xx = np.divmod(np.arange(h * w), w)
    keep = (yy == 0) | (yy == h - 1) | (xx == 0) | (xx == w - 1) | (rng.random(h * w) < 0.1)
    cells = rng.permutation(np.flatnonzero(keep))
    sets["edges_31x17"] = ((h, w), (cells // w, cells % w))
    return {name: (np.stack(yx, axis=1).astype(np.int32), shape) for name, (shape, yx) in sets.items()}


def rulebook(coords, shape, kernel, stride, padding, subm):
    """spconv's rules of one layer as (count, pairs [offset, in, out], out_coords); see the module doc."""
    import numpy as np
    import torch
    from spconv.core import ConvAlgo
    from spconv.pytorch import ops

    indices = torch.from_numpy(np.concatenate([np.zeros((len(coords), 1), np.int32), coords], axis=1))
    out, pair, num = ops.get_indice_pairs(indices, 1, list(shape), ConvAlgo.Native, [kernel] * 2, [stride] * 2,
                                          [padding] * 2, [1, 1], [0, 0], subm, False)
    pair, num, kv = pair.numpy(), num.numpy().astype(np.int64), kernel * kernel
    if subm:  # spconv's reading of its half-filled SubM table (ops.indice_conv)
        num = np.array([num[i] if i < kv // 2 else len(coords) if i == kv // 2 else num[kv - 1 - i]
                        for i in range(kv)], np.int64)
    pairs = [np.stack([np.full(c, i), pair[0, i, :c], pair[1, i, :c]], axis=1) for i, c in enumerate(num)]
    out = out.numpy()
    assert (out[:, 0] == 0).all()
    return num, np.concatenate(pairs).astype(np.int32).reshape(-1, 3), out[:, 1:].astype(np.int32)


def inverse_case(coords, shape, kernel, stride, padding, rng):
    """``SparseInverseConv2d`` after ``SparseConv2d`` (shared ``indice_key``): the inverse conv's input
    features (rows of the conv's output indices) and weight (Cout, kh, kw, Cin), and its output
    indices and features. Small integers, so the float32 sums are exact."""
    import numpy as np
    import spconv.pytorch as spconv
    import torch
    from spconv.core import ConvAlgo

    indices = torch.from_numpy(np.concatenate([np.zeros((len(coords), 1), np.int32), coords], axis=1))
    conv = spconv.SparseConv2d(CHANNELS, CHANNELS, kernel, stride, padding, bias=False, indice_key="down",
                               algo=ConvAlgo.Native)
    inverse = spconv.SparseInverseConv2d(CHANNELS, CHANNELS, kernel, indice_key="down", bias=False,
                                         algo=ConvAlgo.Native)
    weight = rng.integers(-3, 4, size=tuple(inverse.weight.shape)).astype(np.float32)
    with torch.no_grad():
        inverse.weight.copy_(torch.from_numpy(weight))
        down = conv(spconv.SparseConvTensor(torch.zeros(len(coords), CHANNELS), indices, list(shape), 1))
        features = rng.integers(-3, 4, size=(down.indices.shape[0], CHANNELS)).astype(np.float32)
        up = inverse(down.replace_feature(torch.from_numpy(features)))
    return {"in_coords": down.indices.numpy()[:, 1:], "features": features, "weight": weight,
            "out_coords": up.indices.numpy()[:, 1:], "out_features": up.features.numpy()}


def main() -> None:
    import importlib.metadata

    import numpy as np
    import torch

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    meta = {"spconv": importlib.metadata.version("spconv"), "cumm": importlib.metadata.version("cumm"),
            "torch": torch.__version__}
    for name, (coords, shape) in site_sets().items():
        arrays = {"coords": coords, "shape": np.array(shape), **{k: np.array(v) for k, v in meta.items()}}
        for layer, (kernel, stride, padding, subm) in LAYERS.items():
            count, pairs, out = rulebook(coords, shape, kernel, stride, padding, subm)
            arrays |= {f"{layer}/settings": np.array([kernel, stride, padding, int(subm)]),
                       f"{layer}/count": count, f"{layer}/pairs": pairs, f"{layer}/out_coords": out}
            if layer in INVERTED:
                case = inverse_case(coords, shape, kernel, stride, padding, rng)
                arrays |= {f"{layer}/inverse/{key}": value for key, value in case.items()}
        np.savez_compressed(OUT / f"{name}.npz", **arrays)
        print(f"{name}: {len(coords)} sites on {shape[0]}x{shape[1]}, {(OUT / f'{name}.npz').stat().st_size} bytes")
    print(f"wrote {OUT} ({', '.join(f'{k} {v}' for k, v in meta.items())})")


def venv_python() -> Path:
    """The venv's interpreter; (re)creates the venv and installs the pinned packages unless it already
    holds spconv 2.3.8."""
    python = VENV / "bin" / "python"
    version = [str(python), "-c", "import importlib.metadata as m; print(m.version('spconv'))"]
    if python.exists() and subprocess.run(version, capture_output=True, text=True).stdout.strip() == "2.3.8":
        return python
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES], check=True)
    return python


if __name__ == "__main__":
    if importlib.util.find_spec("spconv") is None:  # not in the spconv venv: re-run there
        python = venv_python()
        os.execv(python, [str(python), __file__])
    main()
