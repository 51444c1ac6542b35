"""Numba kernel of ``scalesim_memory``: SCALE-Sim's read-buffer windows, prefetch chains and OFMAP
drains replayed one demand row at a time (the window state makes it sequential). Memory-safe:
every index is a row below ``lo.shape[1]``, a buffer 0/1, a position below the operand's entry count
(``lo``/``hi`` and the copies come from the same layout) or a group below the group count; inputs
are integer arrays built by ``scalesim_memory._read_buffers``."""

import numpy as np
from numba import njit


@njit(cache=True)
def _in_window(p, b, per_set, n_sets, start, window, group, group_start, by_group):
    """Whether the element at position ``p`` of buffer ``b`` is in its active window: its own set,
    or (elements read from several positions) the set of any of its copies."""
    if (p // per_set[b] - start[b]) % n_sets[b] < window[b]:
        return True
    if len(group) == 0:
        return False
    g = group[p]
    for j in range(group_start[g], group_start[g + 1]):
        if (by_group[j] // per_set[b] - start[b]) % n_sets[b] < window[b]:
            return True
    return False


@njit(cache=True)
def replay(lo, hi, per_set, n_sets, window, step, lines, group0, start0, by_group0, group1, start1, by_group1,
           writes, out_size, out_bw):
    """Row-by-row replay of the set windows, prefetch chains and OFMAP drains (``sim.models.systolic.scalesim_memory``).
    ``lo``/``hi``: (2, rows) first/last position read per row (none if hi < lo); per buffer, the
    copies of each element (``scalesim_memory._copies``, empty if none). Returns (stall cycles,
    cycle of the last OFMAP drain)."""
    start = np.zeros(2, dtype=np.int64)
    issued = np.zeros(2, dtype=np.int64)
    free = out_size
    active = (out_size + 1) // 2
    drain_lines = -(-(out_size - active) // out_bw)
    drain_end, last_drain = -1e18, -1e18
    stall = 0.0
    for row in range(lo.shape[1]):
        if hi[0, row] < lo[0, row] and hi[1, row] < lo[1, row] and writes[row] == 0:
            continue
        cycle = row + stall
        worst = 0.0
        for b in range(2):
            if step[b] == 0:
                continue
            group, group_start, by_group = (group0, start0, by_group0) if b == 0 else (group1, start1, by_group1)
            offset = 1.0
            if hi[b, row] < lo[b, row]:
                continue
            # one element per set suffices unless an element has copies elsewhere
            stride = 1 if len(group) else per_set[b]
            first = lo[b, row] if len(group) else lo[b, row] // per_set[b] * per_set[b]
            for p in range(first, hi[b, row] + 1, stride):
                while not _in_window(p, b, per_set, n_sets, start, window, group, group_start, by_group):
                    start[b] = (start[b] + step[b]) % n_sets[b]
                    issued[b] += 1
                    wait = issued[b] * (lines[b] + 1) - 1 - (cycle + offset)
                    offset += 2 * wait if wait > 0 else wait
            worst = max(worst, offset - 1)
        now, count = cycle, writes[row]
        while count > 0:
            if now < drain_end:
                take = min(count, max(free, 1))
                count -= take
                free -= take
                if free <= 0:
                    now = drain_end
            else:
                take = min(count, max(free - active + 1, 1))
                count -= take
                free -= take
                if free < active:
                    held = out_size - free
                    n_lines = min(drain_lines, -(-held // out_bw))
                    drain_end = now + n_lines - 1
                    last_drain = max(last_drain, drain_end)
                    free += min(n_lines * out_bw, held)
        worst = max(worst, now - cycle)
        stall += worst
    held = out_size - free
    if held > 0:
        last_drain = max(last_drain, lo.shape[1] - 1 + stall + -(-held // out_bw) - 1)
    return stall, last_drain
