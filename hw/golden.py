"""Golden outputs of any generator for per-cycle input vectors: a MAC unit's through its adapter
(``hw.adapters``, named by the PE registry), a PE array's by shifting its PEs' golden outputs.
Rows follow the sampling of ``hw.pysim.run`` (row t = just after edge t).
"""

from __future__ import annotations

import numpy as np

from hw.adapters import adapter, delay
from hw.pe_array import PEArray, _is_weight_side


def outputs(component, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What ``component`` must output for ``inputs``, computed by the golden models."""
    if isinstance(component, PEArray):
        return _array_outputs(component, inputs)
    return adapter(component).golden(component, inputs)


def _array_outputs(array: PEArray, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PE (r, c) sees its row's and column's stream r + c cycles late, zeros before (the skew registers' reset)."""
    pe = array.pes[0][0]
    cycles = len(next(iter(inputs.values())))
    result: dict[str, np.ndarray] = {}
    for r in range(array.rows):
        for c in range(array.cols):
            lag = r + c
            pe_in = {}
            for name, values in inputs.items():
                stream = values[:, c] if _is_weight_side(name) else values[:, r]
                pe_in[name] = delay(stream, lag)
            for name, values in outputs(pe, pe_in).items():
                out = result.setdefault(name, np.zeros((cycles, array.rows * array.cols, *values.shape[1:]), np.int64))
                out[:, r * array.cols + c] = values
    return result


def mismatches(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> dict[str, int]:
    """Rows (cycles) in which an output differs from the golden one, per output port."""
    return {name: int(np.any((want != got[name]).reshape(len(want), -1), axis=1).sum())
            for name, want in expected.items()}
