"""Input vectors for the generators: exhaustive over a MAC unit's operand codes, or seeded random.

- ``IntMAC``: every (w, a) code pair once, in sequences of ``SEQUENCE`` steps (``first`` at each
  start), so products and accumulation are both exercised (2^(w_bits + a_bits) cycles).
- ``BlockDot``: 256 cycles in which every lane sees all 16 x 16 element code pairs and each scale
  input runs through all 256 scale codes.
- ``PEArray``: random streams of its PE's inputs per row and column, followed by r + c idle cycles.
"""

from __future__ import annotations

import numpy as np

from hw.block_dot import BlockDot
from hw.int_mac import IntMAC
from hw.pe_array import PEArray, _is_weight_side
from sim.errors import ConfigError

SEQUENCE = 16


def exhaustive(component) -> dict[str, np.ndarray]:
    if isinstance(component, IntMAC):
        w = np.arange(-(1 << (component.w_bits - 1)), 1 << (component.w_bits - 1))
        a = np.arange(-(1 << (component.a_bits - 1)), 1 << (component.a_bits - 1))
        ww, aa = (g.reshape(-1) for g in np.meshgrid(w, a, indexing="ij"))
        n = len(ww)
        return {"w": ww, "a": aa, "valid": np.ones(n, np.int64), "first": (np.arange(n) % SEQUENCE == 0).astype(np.int64)}
    if isinstance(component, BlockDot):
        t = np.arange(256)
        pair = (t[:, None] + 8 * np.arange(component.block)[None, :]) % 256
        return {"a": pair // 16, "w": pair % 16,
                "a_scale": (t[:, None] + 85 * np.arange(component.n_a)) % 256,
                "w_scale": (7 * t[:, None] + 51 * np.arange(component.n_w)) % 256,
                "valid": np.ones(256, np.int64)}
    raise ConfigError(f"stimulus: 'exhaustive' covers single MAC units, not {type(component).__name__}; allowed: random")


def random(component, rng: np.random.Generator, cycles: int = 64) -> dict[str, np.ndarray]:
    if isinstance(component, IntMAC):
        return {"w": rng.integers(-(1 << (component.w_bits - 1)), 1 << (component.w_bits - 1), cycles),
                "a": rng.integers(-(1 << (component.a_bits - 1)), 1 << (component.a_bits - 1), cycles),
                "valid": (rng.random(cycles) < 0.9).astype(np.int64),
                "first": (rng.random(cycles) < 0.1).astype(np.int64)}
    if isinstance(component, BlockDot):
        return {"a": rng.integers(0, 16, (cycles, component.block)), "w": rng.integers(0, 16, (cycles, component.block)),
                "a_scale": rng.integers(0, 256, (cycles, component.n_a)),
                "w_scale": rng.integers(0, 256, (cycles, component.n_w)),
                "valid": (rng.random(cycles) < 0.9).astype(np.int64)}
    if isinstance(component, PEArray):
        pe_stream = random(component.pes[0][0], rng, cycles * max(component.rows, component.cols))
        idle = component.rows + component.cols
        out = {}
        for name, values in pe_stream.items():
            lanes = component.cols if _is_weight_side(name) else component.rows
            v = values[:cycles * lanes].reshape(cycles, lanes, *values.shape[1:])
            out[name] = np.concatenate([v, np.zeros((idle, *v.shape[1:]), v.dtype)])
        return out
    raise TypeError(f"no random vectors for {type(component).__name__}")
