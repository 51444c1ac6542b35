"""Numba kernels of ``sim.sparse`` (imported on first use, so ``sim.sparse`` imports without numba).

Sites are addressed by their raster position: ``order[j]`` is the row of the j-th site in raster
order (key ``y * W + x``). For one kernel offset the map input -> output is strictly increasing in
raster order, so each offset's reachable outputs form a sorted stream; the output set is the
duplicate-free merge of those streams (``dilate``) and pairs onto a given sorted output set come from
one merge scan per offset (``match``). Everything past the radix sort is linear in the sites times
the kernel volume and independent of the grid size.

Memory safety: every index is a loop counter bounded by an array's length, an entry of ``order``
(rows of ``pts``: a permutation from ``prepare``, or a subset of one), or a position the kernel itself
wrote below the length of the array it indexes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

RADIX_BITS = 11
RADIX_MASK = (1 << RADIX_BITS) - 1


@njit(cache=True, nogil=True)
def prepare(pts, height, width):
    """``(order, bad, first, second)``: the raster order of the sites, the first row outside the grid
    (or -1; then no order), and the first two rows holding the same site (or -1, -1)."""
    n = len(pts)
    order = np.arange(n)
    for i in range(n):
        if pts[i, 0] < 0 or pts[i, 0] >= height or pts[i, 1] < 0 or pts[i, 1] >= width:
            return order, i, -1, -1
    keys = np.empty(n, np.int64)
    for i in range(n):
        keys[i] = pts[i, 0] * width + pts[i, 1]
    spare = np.empty(n, np.int64)
    shift, top = 0, height * width - 1
    while shift < 63 and top >> shift:  # LSD radix sort, RADIX_BITS a pass; no shift past 63 bits
        count = np.zeros(RADIX_MASK + 2, np.int64)
        for i in range(n):
            count[((keys[order[i]] >> shift) & RADIX_MASK) + 1] += 1
        for b in range(RADIX_MASK + 1):
            count[b + 1] += count[b]
        for i in range(n):
            digit = (keys[order[i]] >> shift) & RADIX_MASK
            spare[count[digit]] = order[i]
            count[digit] += 1
        order, spare = spare, order
        shift += RADIX_BITS
    for j in range(1, n):
        if keys[order[j]] == keys[order[j - 1]]:
            return order, -1, min(order[j], order[j - 1]), max(order[j], order[j - 1])
    return order, -1, -1, -1


@njit(cache=True, nogil=True)
def _taps(values, order, k, s, p, d, limit):
    """(k, n) table by raster position: output index ``(v + p - tap * d) / s`` of each site's value on
    one axis through each kernel tap, or -1 where it is not a whole index in [0, limit)."""
    table = np.full((k, len(order)), -1, np.int64)
    for j in range(len(order)):
        v = values[order[j]] + p
        for tap in range(k):
            reach = v - tap * d
            if reach < 0:
                break  # reach only falls with the tap
            if s == 1:  # the common case, without a division
                if reach < limit:
                    table[tap, j] = reach
            elif reach % s == 0 and reach // s < limit:
                table[tap, j] = reach // s
    return table


@njit(cache=True, nogil=True)
def dilate(pts, order, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    """Every output site the sites ``pts[order]`` reach (raster order, int32), and
    ``out_pos[offset, j]``: the output position reached by the j-th site, or -1."""
    ty = _taps(pts[:, 0], order, kh, sh, ph, dh, ho)
    tx = _taps(pts[:, 1], order, kw, sw, pw, dw, wo)
    n, kv = len(order), kh * kw
    bound = 0  # outputs are at most the (offset, site) pairs
    for o in range(kv):
        for j in range(n):
            bound += ty[o // kw, j] >= 0 and tx[o % kw, j] >= 0
    out = np.empty((bound, 2), np.int32)
    out_pos = np.full((kv, n), -1, np.int32)
    head = np.full(kv, -1, np.int64)  # each offset's stream: its current site position and output key
    key = np.full(kv, -1, np.int64)
    stale = np.ones(kv, np.bool_)
    m = 0
    while True:
        low = -1
        for o in range(kv):
            if stale[o]:  # move stream o to its next site that reaches an output
                ky, kx = o // kw, o % kw
                j = head[o] + 1
                while j < n and (ty[ky, j] < 0 or tx[kx, j] < 0):
                    j += 1
                head[o], key[o], stale[o] = j, -1, False
                if j < n:
                    key[o] = ty[ky, j] * wo + tx[kx, j]
            if key[o] >= 0 and (low < 0 or key[o] < low):
                low = key[o]
        if low < 0:
            return out[:m], out_pos
        out[m, 0], out[m, 1] = low // wo, low % wo
        for o in range(kv):
            if key[o] == low:
                out_pos[o, head[o]] = m
                stale[o] = True
        m += 1


@njit(cache=True, nogil=True)
def match(pts, order, out_keys, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, submanifold):
    """``out_pos[offset, j]``: the position in the sorted ``out_keys`` (``y * wo + x``) of the output
    the j-th site of ``pts[order]`` reaches, or -1 where that output is not in the set.

    ``submanifold`` (outputs = inputs, centred odd kernel, 'same' padding): only the offsets before
    the centre are scanned; the centre pairs each site with itself, and offset ``kv - 1 - o`` holds
    the pairs of offset ``o`` reversed (the site j reaching i through o is reached from i through the
    mirrored offset), as spconv's SubM rule generation exploits."""
    ty = _taps(pts[:, 0], order, kh, sh, ph, dh, ho)
    tx = _taps(pts[:, 1], order, kw, sw, pw, dw, wo)
    n, n_out, kv = len(order), len(out_keys), kh * kw
    out_pos = np.full((kv, n), -1, np.int32)
    for o in range(kv // 2 if submanifold else kv):
        ky, kx = o // kw, o % kw
        q = 0
        for j in range(n):
            if ty[ky, j] < 0 or tx[kx, j] < 0:
                continue
            key = ty[ky, j] * wo + tx[kx, j]
            while q < n_out and out_keys[q] < key:
                q += 1
            if q < n_out and out_keys[q] == key:
                out_pos[o, j] = q
    if submanifold:
        for j in range(n):
            out_pos[kv // 2, j] = j
            for o in range(kv // 2):
                if out_pos[o, j] >= 0:
                    out_pos[kv - 1 - o, out_pos[o, j]] = j
    return out_pos


@njit(cache=True, nogil=True)
def pairs(out_pos, order, out_rows):
    """The count per offset and the pairs ``[offset, in_row, out_row]`` sorted by offset then in_row,
    from ``out_pos`` by raster position (``order``: row of each input position, ``out_rows``: row of
    each output position)."""
    kv, n = out_pos.shape
    position = np.empty(n, np.int64)
    for j in range(n):
        position[order[j]] = j
    count = np.zeros(kv, np.int64)
    for o in range(kv):
        for j in range(n):
            count[o] += out_pos[o, j] >= 0
    result = np.empty((count.sum(), 3), np.int32)
    m = 0
    for o in range(kv):
        for row in range(n):
            q = out_pos[o, position[row]]
            if q >= 0:
                result[m, 0], result[m, 1], result[m, 2] = o, row, out_rows[q]
                m += 1
    return count, result
