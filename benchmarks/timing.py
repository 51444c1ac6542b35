"""Wall-clock timing shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time


def timed(fn):
    """``(fn(), seconds)`` of one call."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def median_time(fn, repeats: int = 20) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (robust to a stray slow call)."""
    return statistics.median(timed(fn)[1] for _ in range(repeats))
