"""Golden addressing of the gather/scatter unit: where a feature vector's words live in a banked SRAM and
how many cycles an in-order stream of vectors takes to issue under bank conflicts.

Layout: a feature vector of ``channels`` values of ``bits`` bits fills ``vector_words`` SRAM words of
``word_bits`` bits (a vector starts on a word boundary; its last word may be partly empty). Vector
``r`` (an active-set row) occupies word addresses ``a = r * words + j`` (``j < words``), interleaved
over ``banks`` banks: bank ``a mod banks``, line ``a div banks``. The RTL gather-address generator
(``hw.gather_address``) is checked against :func:`word_addresses`.

Issue model (:func:`issue_cycles`), in order, no reordering: a cycle serves at most one word per
bank and at most ``vectors_per_cycle`` vectors, and a vector issues whole, in one cycle, when its
banks are all free in the current cycle (else the cycle closes and it opens the next). A vector
of more words than banks conflicts with itself: it takes ``ceil(words / banks)`` cycles of its
own, sharing none of them. ``conflict_free=True`` is the ideal the PillarAcc abstract claims
("gather-scatter memory access free of conflicts"): ``ceil(n * words / banks)`` cycles, at least
``ceil(n / vectors_per_cycle)``.
"""

from __future__ import annotations

import numpy as np

from sim.errors import field_error

INT64_MAX = np.iinfo(np.int64).max


def _positive(field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise field_error(field, value, "an integer >= 1")
    return int(value)


def vector_words(channels: int, bits: int, word_bits: int) -> int:
    """SRAM words per feature vector: ceil(channels * bits / word_bits)."""
    total = _positive("channels", channels) * _positive("bits", bits)
    return -(-total // _positive("word_bits", word_bits))


def _rows(rows, words: int) -> np.ndarray:
    """``rows`` as a 1-D int64 array of vector indices whose last word address fits in int64."""
    arr = np.asarray(rows)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise field_error("rows", f"{arr.dtype} array of shape {arr.shape}", "a 1-D integer array")
    arr = arr.astype(np.int64)
    top = INT64_MAX // words - 1  # (top + 1) * words - 1 still fits
    if arr.size and (arr.min() < 0 or arr.max() > top):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise field_error("rows", int(bad), f"0 to {top} (word addresses must fit in int64 at {words} words)")
    return arr


def word_addresses(rows, words: int, banks: int) -> tuple[np.ndarray, np.ndarray]:
    """(bank, line) int64 arrays of length len(rows) * words, vector by vector, words in order."""
    words, banks = _positive("words", words), _positive("banks", banks)
    addr = (_rows(rows, words)[:, None] * words + np.arange(words, dtype=np.int64)).reshape(-1)
    return addr % banks, addr // banks


def issue_cycles(rows, words: int, banks: int, vectors_per_cycle: int, conflict_free: bool = False) -> int:
    """Cycles to issue the vectors ``rows`` in order (the module doc states the rules)."""
    words, banks = _positive("words", words), _positive("banks", banks)
    per_cycle = _positive("vectors_per_cycle", vectors_per_cycle)
    arr = _rows(rows, words)
    if conflict_free:
        n = len(arr)
        return max(-(-n * words // banks), -(-n // per_cycle))
    from sim import gather_kernel

    return int(gather_kernel.issue(arr, words, banks, per_cycle))
