"""SCALE-Sim 3.0.0's double-buffered SRAMs: stall cycles and "Total Cycles (incl. prefetch)" of one
layer, replayed at the granularity of SCALE-Sim's buffer sets rather than of single addresses.

What is reproduced (SCALE-Sim 3.0.0's memory model, described here in this project's terms and
checked against 67 measured runs in tests/data/scalesim/stalls.csv):

- Words are 1 byte. A read SRAM (IFMAP, filter) of S bytes has an active part A = ceil(S/2) and a
  prefetch part P = S - A. Its operand, in SCALE-Sim's prefetch order, is cut into lookup sets of
  e = ceil(S/100) present entries (n = E // e + 1 sets for E entries; absent ones, the padding of
  partial folds and the conv windows that SCALE-Sim's ceil output size hangs over the input's
  edge, occupy none). The active window is min(ceil(A/e), n) consecutive sets modulo n; a prefetch
  slides it forward by min(ceil(P/e), n - window) sets, so an operand whose sets all fit never
  misses.
- A demand row reads its elements in order; one that is in no set of the window (a conv layer's
  im2col reads an input element from several positions, and any of their sets will do) triggers
  prefetches until it is inside (a row that straddles the window's edge can thus cycle the window around the whole
  operand). The prefetches of one buffer form a chain independent of the array: the k-th is ready
  at k (L + 1) - 1, with L = ceil(P / bandwidth) request lines; the initial fill of the active
  part happens before cycle 0 and only counts in "incl. prefetch".
- A row at cycle c that waits for a prefetch ready at cycle a is charged 2 (a - c - 1) stall
  cycles (SCALE-Sim's accounting); a prefetch ready early moves the row's offset back by as much.
  A row's stall is the largest of the three buffers' and shifts every later row.
- The OFMAP SRAM of S bytes starts draining D = S - ceil(S/2) words over ceil(D / bandwidth)
  cycles once it holds more than D words and no drain runs; a write that fills it waits for the
  running drain. Total Cycles ends at the last demand row; the final drain after it ends
  "incl. prefetch", which starts at the earlier of the two read buffers' initial fills.

Prefetch and demand order (SCALE-Sim's mapping: Sr x Sc spatial, T temporal, column fold outer):
the streamed operand (OS, WS: IFMAP; IS: filter) is stored as its row-fold blocks (T x R each,
stacked) and the OS filter as its column-fold blocks (T x C), both in anti-diagonal order; a fold
reads its block one anti-diagonal per row (the skewed feed), after R preload rows for WS/IS. The
stationary operand of WS/IS (filter, IFMAP) is stored row-major as column-fold blocks (Sr x C) and
read one row per cycle, last row first, during the fold's first R rows. Outputs leave skewed: each
used column c writes one word per row from row T - 1 + R - rows used + c for rows-used rows (OS)
or from row 2R - 1 + c for T rows (WS/IS). Assumption: a batch of several images is treated as a
GEMM (no absent or repeated entries). Cost: the operands' layouts, ranks and copies (O(operand
entries) memory) and one replay step per demand row and set (per element where elements repeat),
no per-address trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Layer:
    """One GEMM as SCALE-Sim maps it: dataflow, array R x C, IFMAP M x K, filter K x N, and the
    distinct IFMAP / filter elements (CALC mode's bandwidth estimate counts those)."""

    dataflow: str
    R: int
    C: int
    M: int
    N: int
    K: int
    ifmap_unique: int = 0
    filter_unique: int = 0
    conv: tuple[int, ...] = ()  # (H, W, R, S, C, stride) of a conv layer; () for a GEMM

    def ifmap_ids(self) -> np.ndarray:
        """M x K IFMAP operand: the input element each entry reads, -1 where it reads none (SCALE-Sim's
        ceil output size lets the last windows hang over the input's edge; k is r, s, c)."""
        if not self.conv:
            return np.arange(self.M * self.K).reshape(self.M, self.K)
        H, W, R, S, C, stride = self.conv
        ow = -(-(W - S) // stride) + 1
        oy, ox = np.divmod(np.arange(self.M), ow)
        r, s, c = np.arange(self.K) // (S * C), np.arange(self.K) // C % S, np.arange(self.K) % C
        y, x = oy[:, None] * stride + r[None, :], ox[:, None] * stride + s[None, :]
        return np.where((y < H) & (x < W), (y * W + x) * C + c[None, :], -1)

    @cached_property
    def spatial(self) -> tuple[int, int, int]:
        return {"os": (self.M, self.N, self.K), "ws": (self.K, self.N, self.M),
                "is": (self.K, self.M, self.N)}[self.dataflow]

    @cached_property
    def fold_rows(self) -> int:
        return (self.R if self.dataflow == "os" else 2 * self.R) + self.C + self.spatial[2] - 2

    @cached_property
    def folds(self) -> tuple[int, int]:
        Sr, Sc, _ = self.spatial
        return -(-Sr // self.R), -(-Sc // self.C)


def _grid(layer: Layer):
    """Array rows used per row fold, columns used per column fold, and each fold's row and column
    fold index (column fold outer)."""
    Sr, Sc, _ = layer.spatial
    rf, cf = layer.folds
    ru = np.minimum(layer.R, Sr - layer.R * np.arange(rf))
    cu = np.minimum(layer.C, Sc - layer.C * np.arange(cf))
    return ru, cu, np.tile(np.arange(rf), cf), np.repeat(np.arange(cf), rf)


def _stacked(ids: np.ndarray, width: int) -> np.ndarray:
    """SCALE-Sim's prefetch layout of an operand: the column folds of ``ids`` (``width`` columns
    each, the last padded with absent entries, -1) stacked on top of each other."""
    rows, cols = ids.shape
    folds = -(-cols // width)
    padded = np.full((rows, folds * width), -1, dtype=np.int64)
    padded[:, :cols] = ids
    return padded.reshape(rows, folds, width).transpose(1, 0, 2).reshape(folds * rows, width)


def _ranks(layout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of present entries before each entry of ``layout`` (row-major order), and the
    present entries in that order."""
    flat = layout.ravel() >= 0
    return (np.cumsum(flat) - flat).reshape(layout.shape), layout.ravel()[flat]


def _diagonal_reads(stacked, T, block_of_fold, used, first_row, fold_rows):
    """Per demand row: stall-free row, first and last position (prefetch order) read from an
    operand laid out in anti-diagonal order; fold f reads block ``block_of_fold[f]`` (T rows of
    ``stacked``, ``used[f]`` columns) one anti-diagonal per row from ``first_row``."""
    height, width = stacked.shape
    skewed = np.full((height + width - 1, width), -1, dtype=np.int64)  # row d: anti-diagonal d, column ascending
    for c in range(width):
        skewed[c:c + height, c] = stacked[:, c]
    before, order = _ranks(skewed)
    n_rows = T + used - 1
    fold = np.repeat(np.arange(len(used)), n_rows)
    t = np.arange(n_rows.sum()) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    diag = block_of_fold[fold] * T + t
    c_lo, c_hi = np.maximum(0, t - T + 1), np.minimum(t, used[fold] - 1)
    return (fold * fold_rows + first_row + t, before[diag, c_lo],
            before[diag, c_hi] + (skewed[diag, c_hi] >= 0) - 1, order)


def _stationary_reads(stacked, layer: Layer, fold_rows: int):
    """Per demand row: stall-free row, first and last position read from the WS/IS stationary
    operand, laid out row-major; fold (fc, fr) reads its rows of column-fold block fc last first."""
    R, Sr = layer.R, layer.spatial[0]
    ru, cu, fr, fc = _grid(layer)
    before, order = _ranks(stacked)
    n = ru[fr]
    fold = np.repeat(np.arange(len(fr)), n)
    i = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # i-th row read, last row first
    row = fc[fold] * Sr + fr[fold] * R + n[fold] - 1 - i
    last = cu[fc[fold]] - 1
    return (fold * fold_rows + R - n[fold] + i, before[row, 0], before[row, last] + (stacked[row, last] >= 0) - 1,
            order)


def _demands(layer: Layer):
    """(rows, first, last, element read at each position, laid-out entries) of the IFMAP and filter
    reads, positions counting present entries in prefetch order."""
    R, C, df = layer.R, layer.C, layer.dataflow
    T = layer.spatial[2]
    ru, cu, fr, fc = _grid(layer)
    fold_rows = layer.fold_rows
    ifmap, filt = layer.ifmap_ids(), np.arange(layer.K * layer.N).reshape(layer.K, layer.N)
    streamed = {"os": ifmap.T, "ws": ifmap, "is": filt.T}[df]  # T x Sr
    stacked = _stacked(streamed, R)
    reads = [_diagonal_reads(stacked, T, fr, ru[fr], 0 if df == "os" else R, fold_rows) + (stacked.size,)]
    stacked = _stacked(filt if df in ("os", "ws") else ifmap.T, C)  # (T or Sr) x Sc
    if df == "os":
        reads.append(_diagonal_reads(stacked, T, fc, cu[fc], 0, fold_rows) + (stacked.size,))
    else:
        reads.append(_stationary_reads(stacked, layer, fold_rows) + (stacked.size,))
    return reads if df in ("os", "ws") else reads[::-1]


def _copies(order: np.ndarray):
    """For each position, its element's group of positions (the element's copies, SCALE-Sim finds an
    element in any of them): (group of each position, group starts, positions sorted by group);
    empty arrays when every element is read from one position only."""
    by_element = np.argsort(order, kind="stable")
    sorted_ids = order[by_element]
    first = np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1]))
    if first.all():
        return (np.zeros(0, dtype=np.int64),) * 3
    group = np.empty(len(order), dtype=np.int64)
    group[by_element] = np.cumsum(first) - 1
    return group, np.append(np.flatnonzero(first), len(order)), by_element


def _writes(layer: Layer) -> np.ndarray:
    """OFMAP words written in each demand row: per fold, output column c writes its ``count``
    words one per row from row ``start + c`` (SCALE-Sim's skewed drain)."""
    R, T = layer.R, layer.spatial[2]
    ru, cu, fr, fc = _grid(layer)
    if layer.dataflow == "os":
        start, count = T - 1 + R - ru[fr], ru[fr]
    else:
        start, count = np.full(len(fr), 2 * R - 1), np.full(len(fr), T)
    fold = np.repeat(np.arange(len(fr)), cu[fc])
    c = np.arange(len(fold)) - np.repeat(np.cumsum(cu[fc]) - cu[fc], cu[fc])
    first = fold * layer.fold_rows + start[fold] + c
    steps = np.zeros(len(fr) * layer.fold_rows + 1, dtype=np.int64)
    np.add.at(steps, first, 1)
    np.add.at(steps, first + count[fold], -1)
    return np.cumsum(steps[:-1])


def _read_buffers(layer: Layer, sram_bytes, bandwidth):
    """Per read buffer: positions read per row, copies of each element, and window parameters
    (``scalesim_replay.replay``'s inputs)."""
    n_rows = layer.folds[0] * layer.folds[1] * layer.fold_rows
    lo = np.full((2, n_rows), -1, dtype=np.int64)
    hi = np.full((2, n_rows), -2, dtype=np.int64)
    params = np.zeros((5, 2), dtype=np.int64)  # entries per set, n_sets, window, step, lines
    copies, fills = [], []
    for b, ((rows, first, last, order, padded), size, bw) in enumerate(
            zip(_demands(layer), sram_bytes[:2], bandwidth[:2])):
        per_set = math.ceil(size / 100)
        active = math.ceil(size / 2)
        n_sets = len(order) // per_set + 1
        window = min(math.ceil(active / per_set), n_sets)
        params[:, b] = (per_set, n_sets, window, min(math.ceil((size - active) / per_set), n_sets - window),
                        math.ceil((size - active) / bw))
        lo[b, rows], hi[b, rows] = first, last  # a row whose entries are all absent has last < first
        copies += _copies(order)
        fills.append(min(math.ceil(active / bw), math.ceil(padded / bw)))
    return lo, hi, params, copies, max(fills)


def layer_cycles(layer: Layer, sram_bytes: tuple[int, int, int], bandwidth: tuple[int, int, int]) -> tuple[int, int]:
    """USER mode: (stall cycles, total cycles incl. prefetch) of one layer; ``sram_bytes`` and
    ``bandwidth`` (words/cycle) are (IFMAP, filter, OFMAP)."""
    from sim.models.systolic.scalesim_replay import replay  # numba, loaded only for USER mode

    lo, hi, params, copies, fill = _read_buffers(layer, sram_bytes, bandwidth)
    stall, last_drain = replay(lo, hi, *params, *copies, _writes(layer), sram_bytes[2], bandwidth[2])
    return int(stall), int(last_drain + fill)


def calc_incl_prefetch(dataflow: str, R: int, C: int, M, N, K, ifmap_unique, filter_unique,
                       sram_bytes: tuple[int, int, int]) -> np.ndarray:
    """CALC mode (SCALE-Sim sizes the bandwidth, no stalls): total cycles incl. prefetch.

    Assumptions (SCALE-Sim 3.0.0's bandwidth-estimating read buffer): distinct elements fill sets
    of floor(S/100); an operand of at most 50 sets is fetched before cycle 0 at 10 words/cycle, a
    larger one starts a 50-set prefetch at 10 words/cycle before its first demand row (R for the
    streamed operand of WS/IS, else 0). The OFMAP drains as in USER mode at the array's width C:
    a row writes at most C words, so a drain always ends before the next is due and the k-th
    starts in the row where the written words first exceed D + (k - 1) r, r = min(ceil(D/C) C, D + 1)
    being the words one drain removes (closed form over numpy arrays of ops, no replay: the row is
    found fold by fold, column folds outer, and inside the fold by inverting its running count).
    """
    Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    rf, cf = (Sr + R - 1) // R, (Sc + C - 1) // C
    fold_rows = (R if dataflow == "os" else 2 * R) + C + T - 2
    starts = []
    for unique, size, row in zip((ifmap_unique, filter_unique), sram_bytes[:2],
                                 {"os": (0, 0), "ws": (R, 0), "is": (0, R)}[dataflow]):
        per_set = max(size // 100, 1)
        sets = np.minimum((unique + per_set - 1) // per_set, 50)
        starts.append(row * (sets == 50) - (sets * per_set + 9) // 10)
    size = sram_bytes[2]
    drain = size - math.ceil(size / 2)
    lines = math.ceil(drain / C)
    removed = min(lines * C, drain + 1)
    if dataflow == "os":  # words per used column per row fold, and its first write row: full and last row fold
        count, start, last_count = R, T - 1, Sr - R * (rf - 1)
        last_start = T - 1 + R - last_count
    else:
        count = last_count = T
        start = last_start = 2 * R - 1
    per_column_fold = count * (rf - 1) + last_count
    total = Sc * per_column_fold
    drains = np.maximum((total - drain - 1) // removed + 1, 0)
    word = drain + 1 + (np.maximum(drains, 1) - 1) * removed  # the word that starts the last drain
    fc = np.minimum((word - 1) // (C * per_column_fold), cf - 1)
    word = word - fc * C * per_column_fold
    used = np.minimum(C, Sc - C * fc)
    fr = np.minimum((word - 1) // (used * count), rf - 1)
    word = word - fr * used * count
    last_fold = fr == rf - 1
    k, s = np.where(last_fold, last_count, count), np.where(last_fold, last_start, start)
    row = (fc * rf + fr) * fold_rows + s + _rows_to_write(word, used, k) - 1
    last = np.where(drains > 0, row + lines - 1, -1)  # -1: no drain starts before the last row
    held = total - drains * removed
    last = np.where(held > 0, np.maximum(last, rf * cf * fold_rows - 1 + (-(-held // C)) - 1), last)
    return last - np.minimum(*starts)


def _rows_to_write(word, used, k):
    """Fewest rows u after which ``used`` output columns, column c writing one word per row from row
    c + 1 for ``k`` rows, have written ``word`` words: the count rises as a triangle up to
    a = min(used, k), linearly by a per row up to b = max(used, k), then as a closing triangle."""
    a, b = np.minimum(used, k), np.maximum(used, k)
    rising, flat = a * (a + 1) // 2, a * (b - a)
    closing = word > rising + flat
    x = np.maximum(np.where(closing, used * k - word, word), 0)  # rising: triangle >= word; closing: words to come
    # (0 where no drain starts and ``word`` lies past the last fold: that lane's result is unused)
    n = _triangle_root(x)
    u_rising = n + (n * (n + 1) // 2 < x)
    u_flat = a + (word - rising + a - 1) // np.maximum(a, 1)
    return np.where(closing, used + k - 1 - n, np.where(word <= rising, u_rising, u_flat))


def _triangle_root(x):
    """Per element: the greatest n with n(n+1)/2 <= x (x >= 0; float root, then corrected by one)."""
    n = np.floor((np.sqrt(8.0 * x + 1) - 1) / 2).astype(np.int64)
    n -= n * (n + 1) // 2 > x
    return n + ((n + 1) * (n + 2) // 2 <= x)
