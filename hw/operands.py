"""MAC-unit input streams from real tensors: what a unit sees while it computes dot products of a
layer's weight rows with its activation rows (output-stationary: one output per dot product).

Weights and activations are encoded with ``sim.numerics.codes`` in the unit's formats: INT-b
weights per output channel and activations per tensor (W8A8 / W4A8); dINT4 weights per channel with
the same scale rule as the MiniLM study; MXFP4 / AMXFP4 blocks of the unit's size along the
reduction axis (each unit's adapter, ``hw.adapters``, encodes). ``dot_products`` output/token pairs
are drawn with a seeded generator; an integer MAC takes one element pair per cycle (``first`` on the
first), a block unit one block per cycle.
"""

from __future__ import annotations

import numpy as np

from hw.adapters import adapter


def dot_product_stream(unit, weight: np.ndarray, act: np.ndarray, dot_products: int = 8,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of ``unit`` computing ``dot_products`` random (output channel, token) dot products."""
    rng = np.random.default_rng(seed)
    pairs = np.stack([rng.integers(0, len(weight), dot_products), rng.integers(0, len(act), dot_products)], axis=1)
    return adapter(unit).tensor_stream(unit, weight, act, pairs)
