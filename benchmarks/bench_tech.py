"""Speed of a cached ``TechLibrary.load`` against building the library afresh, in the same process.

Every model build and sweep point calls ``TechLibrary.load``; after the first call per node and
overrides it must be a cache hit. Prints microseconds per cached call (with and without overrides;
target <= 50 us) beside a load from scratch (YAML files parsed, entries copied, overrides
applied) in the same process, and the ratio scratch / cached (target >= 100x).

Run: ``python benchmarks/bench_tech.py``.
"""

from __future__ import annotations

from timing import median_time

from sim.tech import TechLibrary
from sim.tech.library import _data, _load

CALLS = 1000
TARGET_US = 50
TARGET_RATIO = 100
OVERRIDES = {"int_add_8_pj": 0.04}


def main() -> None:
    TechLibrary.load(16), TechLibrary.load(16, OVERRIDES)  # fill the cache (and parse the YAML) once

    def cached():
        for _ in range(CALLS):
            TechLibrary.load(16)
            TechLibrary.load(16, OVERRIDES)

    def scratch():
        _data.cache_clear(), _load.cache_clear()
        TechLibrary.load(16)

    hit_us = median_time(cached, repeats=5) / (2 * CALLS) * 1e6
    scratch_us = median_time(scratch, repeats=5) * 1e6
    ratio = scratch_us / hit_us
    print(f"TechLibrary.load cached: {hit_us:.2f} us per call (target <= {TARGET_US} us) "
          f"{'OK' if hit_us <= TARGET_US else 'MISSED'}")
    print(f"from scratch: {scratch_us:.0f} us; scratch / cached: {ratio:.0f}x (target >= {TARGET_RATIO}x) "
          f"{'OK' if ratio >= TARGET_RATIO else 'MISSED'}")


if __name__ == "__main__":
    main()
