"""Speed of MX quantize-dequantize: a 4096 x 4096 tensor to each MX format, on one core.

Prints seconds per format (target < 0.5 s) and the speed-up of the fused numba kernel over the
element-wise numpy reference (``FloatFormat.quantize`` with the same shared-exponent rule) run in
the same process. Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_numerics.py``.
"""

from __future__ import annotations

import time

import numpy as np

from sim.numerics import fake_quantize
from sim.numerics.quantize import MX_ELEMENTS

TARGET_S = 0.5


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_reference(x: np.ndarray, fmt: str) -> np.ndarray:
    elem = MX_ELEMENTS[fmt]
    blocks = x.reshape(*x.shape[:-1], -1, 32)
    amax = np.max(np.abs(blocks), axis=-1, keepdims=True)
    shared = np.clip(np.floor(np.log2(np.where(amax == 0, 2.0**-126, amax))) - elem.emax, -127, 127)
    return (elem.quantize(blocks / np.exp2(shared)) * np.exp2(shared)).reshape(x.shape)


def main() -> None:
    x = np.random.default_rng(0).standard_normal((4096, 4096))
    fake_quantize(x[:1], "mxfp4")  # compile the kernel outside the timing
    for fmt, elem in MX_ELEMENTS.items():
        ours = best_of(lambda: fake_quantize(x, fmt))
        line = f"{fmt:<12} {ours:6.3f} s  (target {TARGET_S} s: {TARGET_S / ours:4.1f}x margin)"
        if elem is not None:
            reference = best_of(lambda: numpy_reference(x, fmt))
            line += f"  numpy reference {reference:6.3f} s ({reference / ours:.1f}x slower)"
        print(line)


if __name__ == "__main__":
    main()
