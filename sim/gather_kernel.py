"""Numba kernel of ``sim.gather`` (imported on first use, so ``sim.gather`` imports without numba):
the in-order issue count of its module doc.

Memory safety: ``taken`` is indexed only modulo ``banks``, its length."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def issue(rows, words, banks, per_cycle):
    """Cycles to issue ``rows`` in order, one word per bank and ``per_cycle`` vectors per cycle."""
    if rows.size == 0:
        return 0
    taken = np.full(banks, -1, np.int64)  # cycle in which each bank was last used
    cycle, in_cycle = 0, 0  # current cycle, vectors issued in it
    for r in rows:
        start = (r % banks) * (words % banks) % banks  # bank of word 0, without forming r * words
        if words > banks:
            cycle += (in_cycle > 0) + (words + banks - 1) // banks - 1
            in_cycle = per_cycle  # nothing shares the vector's last cycle
            continue
        free = in_cycle < per_cycle
        for j in range(words):
            free = free and taken[(start + j) % banks] != cycle
        if not free:
            cycle += 1
            in_cycle = 0
        for j in range(words):
            taken[(start + j) % banks] = cycle
        in_cycle += 1
    return cycle + 1
