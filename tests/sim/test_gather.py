"""``sim.gather`` against brute-force references written from the contract: word addresses from Python
integers, the in-order issue count by an explicit cycle-by-cycle schedule of bank sets; extremes
(empty rows, more words than banks, one bank, row indices at the int64 limit) and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import gather
from sim.errors import ConfigError


def reference_addresses(rows, words, banks):
    pairs = [((r * words + j) % banks, (r * words + j) // banks) for r in map(int, rows) for j in range(words)]
    return [b for b, _ in pairs], [line for _, line in pairs]


def reference_issue(rows, words, banks, per_cycle):
    """Cycles as a list of (banks used, vectors) filled in order; a self-conflicting vector gets whole cycles."""
    cycles = []
    for r in map(int, rows):
        used = {(r * words + j) % banks for j in range(words)}
        if words > banks:
            cycles += [(set(range(banks)), per_cycle)] * -(-words // banks)
        elif cycles and cycles[-1][1] < per_cycle and not cycles[-1][0] & used:
            cycles[-1] = (cycles[-1][0] | used, cycles[-1][1] + 1)
        else:
            cycles.append((used, 1))
    return len(cycles)


def test_vector_words():
    assert gather.vector_words(64, 8, 64) == 8
    assert gather.vector_words(64, 8, 128) == 4
    assert gather.vector_words(3, 8, 64) == 1  # a partly empty word
    assert gather.vector_words(65, 8, 64) == 9
    assert gather.vector_words(1, 1, 1024) == 1


def test_word_addresses_by_hand():
    bank, line = gather.word_addresses([0, 5], words=3, banks=4)
    # vector 0: addresses 0 1 2; vector 5: addresses 15 16 17
    assert bank.tolist() == [0, 1, 2, 3, 0, 1] and line.tolist() == [0, 0, 0, 3, 4, 4]
    assert bank.dtype == np.int64 and line.dtype == np.int64


def test_issue_by_hand():
    # 4 banks, 2 words: vectors 0 (banks 0 1) and 1 (2 3) share a cycle, 2 (0 1) opens the next
    assert gather.issue_cycles([0, 1, 2], 2, 4, vectors_per_cycle=4) == 2
    assert gather.issue_cycles([0, 2, 4], 2, 4, vectors_per_cycle=4) == 3  # every vector on banks 0 1
    assert gather.issue_cycles([0, 1, 2, 3], 1, 4, vectors_per_cycle=2) == 2  # the vector cap
    assert gather.issue_cycles([0, 1], 5, 2, vectors_per_cycle=8) == 6  # ceil(5 / 2) = 3 cycles each
    assert gather.issue_cycles([0, 1], 5, 2, 8, conflict_free=True) == 5


@pytest.mark.numba
@settings(max_examples=150)
@given(rows=st.lists(st.integers(0, 200), max_size=40), words=st.integers(1, 9), log_banks=st.integers(0, 4),
       per_cycle=st.integers(1, 5), odd_banks=st.booleans())
def test_matches_reference(rows, words, log_banks, per_cycle, odd_banks):
    banks = (1 << log_banks) + (3 if odd_banks else 0)  # the golden also takes banks that are no power of two
    bank, line = gather.word_addresses(np.array(rows, np.int64), words, banks)
    want_bank, want_line = reference_addresses(rows, words, banks)
    assert bank.tolist() == want_bank and line.tolist() == want_line
    cycles = gather.issue_cycles(np.array(rows, np.int64), words, banks, per_cycle)
    assert cycles == reference_issue(rows, words, banks, per_cycle)
    ideal = gather.issue_cycles(np.array(rows, np.int64), words, banks, per_cycle, conflict_free=True)
    assert ideal == max(-(-len(rows) * words // banks), -(-len(rows) // per_cycle)) and ideal <= cycles


@pytest.mark.numba
def test_extremes():
    empty = np.zeros(0, np.int64)
    assert [a.size for a in gather.word_addresses(empty, 4, 8)] == [0, 0]
    assert gather.issue_cycles(empty, 4, 8, 2) == 0 and gather.issue_cycles(empty, 4, 8, 2, conflict_free=True) == 0
    rows = np.arange(10)
    assert gather.issue_cycles(rows, 3, 1, 4) == 30  # one bank: one word per cycle
    assert gather.issue_cycles(rows, 1, 1, 4) == 10
    assert gather.issue_cycles(rows, 4, 4, 4) == 10  # a vector fills every bank
    words = 7
    top = np.iinfo(np.int64).max // words - 1
    huge = np.array([top, top - 1, 0, top], np.int64)
    bank, line = gather.word_addresses(huge, words, 8)
    want_bank, want_line = reference_addresses(huge, words, 8)
    assert bank.tolist() == want_bank and line.tolist() == want_line
    assert gather.issue_cycles(huge, words, 8, 3) == reference_issue(huge, words, 8, 3)
    assert gather.issue_cycles(huge // 2, 9, 8, 3) == 8  # more words than banks: 2 cycles each


def test_bad_input():
    with pytest.raises(ConfigError, match="rows: got -1"):
        gather.word_addresses([3, -1], 2, 4)
    with pytest.raises(ConfigError, match="rows: .* 0 to "):
        gather.issue_cycles([np.iinfo(np.int64).max // 2], 2, 4, 1)
    with pytest.raises(ConfigError, match="rows: .*1-D integer"):
        gather.word_addresses([[1, 2]], 2, 4)
    with pytest.raises(ConfigError, match="rows: .*1-D integer"):
        gather.word_addresses([1.5], 2, 4)
    for kwargs, field in (({"words": 0}, "words"), ({"banks": 0}, "banks"), ({"vectors_per_cycle": True}, "vectors_per_cycle")):
        with pytest.raises(ConfigError, match=f"^{field}: got"):
            gather.issue_cycles([1], **{"words": 2, "banks": 4, "vectors_per_cycle": 1, **kwargs})
    with pytest.raises(ConfigError, match="^word_bits: got 0"):
        gather.vector_words(4, 8, 0)
