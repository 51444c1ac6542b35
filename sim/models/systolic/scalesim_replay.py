"""Numba kernel of ``scalesim_memory``: SCALE-Sim's read-buffer windows, prefetch chains and OFMAP
drains replayed one demand row at a time (the window state makes it sequential). Memory-safe:
every index is a row below ``lo.shape[1]`` or a buffer 0/1; inputs are integer arrays built by
``scalesim_memory._read_buffers``."""

import numpy as np
from numba import njit


@njit(cache=True)
def replay(lo, hi, n_sets, window, step, lines, writes, out_size, out_bw):
    """Row-by-row replay of the set windows, prefetch chains and OFMAP drains (``sim.models.systolic.scalesim_memory``).
    ``lo``/``hi``: (2, rows) first/last set read per row (-1: none). Returns (stall cycles,
    cycle of the last OFMAP drain)."""
    start = np.zeros(2, dtype=np.int64)
    issued = np.zeros(2, dtype=np.int64)
    free = out_size
    active = (out_size + 1) // 2
    drain_lines = -(-(out_size - active) // out_bw)
    drain_end, last_drain = -1e18, -1e18
    stall = 0.0
    for row in range(lo.shape[1]):
        if lo[0, row] < 0 and lo[1, row] < 0 and writes[row] == 0:
            continue
        cycle = row + stall
        worst = 0.0
        for b in range(2):
            if lo[b, row] < 0 or step[b] == 0:
                continue
            offset = 1.0
            for s in range(lo[b, row], hi[b, row] + 1):
                while (s - start[b]) % n_sets[b] >= window[b]:
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
