"""Hypothesis strategies for number-format tests: every class of float32 value.

``st.floats(width=32)`` covers the whole float32 range and draws its edges often (+-0, +-inf, NaN,
subnormals, float32 max); ``note_classes`` records how often each class occurs in a test's examples.
"""

import numpy as np
from hypothesis import event
from hypothesis import strategies as st

F32 = np.finfo(np.float32)
NON_FINITE = [np.inf, -np.inf, np.nan]

finite_float32s = st.floats(width=32, allow_nan=False, allow_infinity=False)
float32s = st.floats(width=32)
ordinary_float32s = st.floats(-1e3, 1e3, width=32)  # one block's values within a few binades: rounding is busy
EDGES = [float(s * v) for s in (1, -1) for v in (0.0, F32.smallest_subnormal, F32.tiny, F32.max, np.inf)]
edge_float32s = st.one_of(st.sampled_from([*EDGES, np.nan]), ordinary_float32s)  # the edges beside ordinary values
any_float32s = st.one_of(st.sampled_from([*EDGES, np.nan]), float32s)  # single values: each edge drawn often


def blocks(n_blocks: int, block: int, elements=None):
    """(n_blocks, block) float64 arrays of float32 values. By default each block is, at random, ordinary,
    finite anywhere in float32's range, anything (+-inf and NaN too), or edge values among ordinary
    ones, so that every path is hit."""
    one = (lambda e: st.lists(e, min_size=block, max_size=block))
    block_values = one(elements) if elements is not None else st.one_of(
        one(ordinary_float32s), one(finite_float32s), one(float32s), one(edge_float32s))
    return st.lists(block_values, min_size=n_blocks, max_size=n_blocks).map(lambda v: np.array(v, dtype=np.float64))


def note_classes(x: np.ndarray) -> None:
    """Record which value classes an example holds (shown by ``pytest --hypothesis-show-statistics``)."""
    mag = np.abs(x)
    for name, present in (("inf", np.isinf(x)), ("nan", np.isnan(x)), ("-0", (x == 0) & np.signbit(x)),
                          ("float32 subnormal", (mag > 0) & (mag < F32.tiny)), ("float32 max", mag == F32.max)):
        if present.any():
            event(name)
