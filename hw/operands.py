"""MAC-unit input streams from real tensors: what a unit sees while it computes dot products of a
layer's weight rows with its activation rows (output-stationary: one output per dot product).

Weights and activations are encoded with ``sim.numerics.codes`` in the unit's formats: INT-b
weights per output channel and activations per tensor (W8A8 / W4A8); dINT4 weights per channel with
the same scale rule as the MiniLM study; MXFP4 / AMXFP4 blocks of the unit's size along the
reduction axis. ``dot_products`` output/token pairs are drawn with a seeded generator; an integer
MAC takes one element pair per cycle (``first`` on the first), a block unit one block per cycle.
"""

from __future__ import annotations

import numpy as np

from hw.block_dot import BlockDot
from hw.int_mac import IntMAC
from sim.errors import ConfigError
from sim.numerics.codes import amxfp4_codes, dint4_codes, int_codes, mx_codes
from sim.numerics.minifloat import E4M3, E5M2

AMX_SCALE_MODE = {None: "pot", E5M2: "e5m2", E4M3: "e4m3"}  # BlockDot scale format -> amxfp4_codes mode


def _int_stream(unit: IntMAC, weight: np.ndarray, act: np.ndarray, pairs: np.ndarray) -> dict[str, np.ndarray]:
    if unit.weight_format == "dint4":
        w, _ = dint4_codes(weight, granularity="channel", special_shift=unit.shift)
    else:
        w, _ = int_codes(weight, unit.w_bits, granularity="channel")
    a, _ = int_codes(act, unit.a_bits, granularity="tensor")
    w, a = w.reshape(weight.shape), a.reshape(act.shape)
    k = weight.shape[1]
    first = np.zeros(k, np.int64)
    first[0] = 1
    return {"w": w[pairs[:, 0]].reshape(-1), "a": a[pairs[:, 1]].reshape(-1),
            "valid": np.ones(len(pairs) * k, np.int64), "first": np.tile(first, len(pairs))}


def _block_codes(unit: BlockDot, x: np.ndarray, asymmetric: bool):
    if not asymmetric:
        if unit.fmt is not None:
            raise ConfigError("scale_format: a symmetric operand needs e8m0 scales (MX); allowed: e8m0")
        codes, scale = mx_codes(x, unit.block)
        return codes, (scale[..., 0],)
    codes, s_pos, s_neg = amxfp4_codes(x, unit.block, AMX_SCALE_MODE[unit.fmt])
    return codes, (s_pos[..., 0], s_neg[..., 0])


def _block_stream(unit: BlockDot, weight: np.ndarray, act: np.ndarray, pairs: np.ndarray) -> dict[str, np.ndarray]:
    if weight.shape[1] % unit.block:
        raise ConfigError(f"block: got {unit.block}; allowed: a divisor of the reduction length {weight.shape[1]}")
    w, w_scales = _block_codes(unit, weight, unit.n_w == 2)
    a, a_scales = _block_codes(unit, act, unit.n_a == 2)
    rows = lambda codes: codes.reshape(-1, unit.block)  # noqa: E731  (pairs x blocks, block)
    return {"w": rows(w[pairs[:, 0]]), "a": rows(a[pairs[:, 1]]),
            "w_scale": np.stack([s[pairs[:, 0]].reshape(-1) for s in w_scales], axis=-1),
            "a_scale": np.stack([s[pairs[:, 1]].reshape(-1) for s in a_scales], axis=-1),
            "valid": np.ones(len(pairs) * (weight.shape[1] // unit.block), np.int64)}


def dot_product_stream(unit, weight: np.ndarray, act: np.ndarray, dot_products: int = 8,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of ``unit`` computing ``dot_products`` random (output channel, token) dot products."""
    rng = np.random.default_rng(seed)
    pairs = np.stack([rng.integers(0, len(weight), dot_products), rng.integers(0, len(act), dot_products)], axis=1)
    if isinstance(unit, IntMAC):
        return _int_stream(unit, weight, act, pairs)
    if isinstance(unit, BlockDot):
        return _block_stream(unit, weight, act, pairs)
    raise ConfigError(f"unit: got {type(unit).__name__}; allowed: IntMAC, BlockDot")
