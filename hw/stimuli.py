"""Input vectors for the generators: a MAC unit's from its adapter (``hw.adapters``), exhaustive
over its operand codes or seeded random; a PE array's as random streams of its PE's inputs per
row and column, followed by rows + cols + (PE latency - 1) idle cycles, so the last results reach
the outputs.
"""

from __future__ import annotations

import numpy as np

from hw.adapters import adapter
from hw.pe_array import PEArray, _is_weight_side
from sim.errors import ConfigError


def exhaustive(component) -> dict[str, np.ndarray]:
    if isinstance(component, PEArray):
        raise ConfigError("stimulus: 'exhaustive' covers single MAC units, not PEArray; allowed: random")
    return adapter(component).exhaustive(component)


def random(component, rng: np.random.Generator, cycles: int = 64) -> dict[str, np.ndarray]:
    if not isinstance(component, PEArray):
        return adapter(component).random(component, rng, cycles)
    pe_stream = random(component.pes[0][0], rng, cycles * max(component.rows, component.cols))
    idle = component.rows + component.cols + component.pes[0][0].latency - 1
    out = {}
    for name, values in pe_stream.items():
        lanes = component.cols if _is_weight_side(name) else component.rows
        v = values[:cycles * lanes].reshape(cycles, lanes, *values.shape[1:])
        out[name] = np.concatenate([v, np.zeros((idle, *v.shape[1:]), v.dtype)])
    return out
