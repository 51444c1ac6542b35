"""Output-stationary systolic PE array that instantiates any MAC unit of ``hw`` as its PE.

The PE's input ports split in two by name: ports whose name starts with ``w`` (weights and their
scales) enter at the top, one set per column, and move down one row per cycle; all other inputs
(activations, their scales, ``valid``/``first``) enter at the left, one set per row, and move right
one column per cycle. Row r's inputs are delayed r cycles and column c's c cycles on entry (the
usual input skew), so PE (r, c) sees row r's and column c's values of the same step t at cycle
t + r + c. Each PE output port becomes an array over rows * cols (index r * cols + c) whose
entries are the PE's outputs delayed by r + c cycles, exactly the PE's golden model shifted.

Completion: ``last`` (one bit per row) marks a row's final step of a sum and travels with that
row's other inputs; ``done[r * cols + c]`` is high ``latency`` cycles after it reached PE (r, c)
(the PE's ``latency``: 1 for a PE that registers its outputs one cycle after its inputs, more with
pipeline registers), when that PE's outputs hold the result of the marked step. It is what a reader
of the accumulators waits for, and what makes the array's cycle counts observable.
"""

from __future__ import annotations

from typing import Callable

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim.errors import ConfigError, field_message


def _is_weight_side(name: str) -> bool:
    return name.startswith("w")


class PEArray(wiring.Component):
    """``rows`` x ``cols`` PEs built by ``make_pe()`` (each a fresh component with the same signature)."""

    def __init__(self, make_pe: Callable[[], wiring.Component], rows: int = 4, cols: int = 4):
        for field, value in (("rows", rows), ("cols", cols)):
            if not isinstance(value, int) or not 1 <= value <= 64:
                raise ConfigError(field_message(field, value, "an integer from 1 to 64"))
        self.rows, self.cols = rows, cols
        self.pes = [[make_pe() for _ in range(cols)] for _ in range(rows)]
        self.pe_signature = self.pes[0][0].signature
        members = {}
        for name, member in self.pe_signature.members.items():
            if member.flow == wiring.In:
                members[name] = In(data.ArrayLayout(member.shape, cols if _is_weight_side(name) else rows))
            else:
                members[name] = Out(data.ArrayLayout(member.shape, rows * cols))
        members["last"] = In(data.ArrayLayout(1, rows))
        members["done"] = Out(data.ArrayLayout(1, rows * cols))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        inputs = [n for n, mem in self.pe_signature.members.items() if mem.flow == wiring.In] + ["last"]
        # entry[name][i]: the input of row (or column) i after its skew of i cycles
        entry = {name: [self._delay(m, getattr(self, name)[i], i, f"{name}_skew{i}") for i in
                        range(self.cols if _is_weight_side(name) else self.rows)] for name in inputs}
        left = {name: list(entry[name]) for name in inputs if not _is_weight_side(name)}  # per row, moving right
        top = {name: list(entry[name]) for name in inputs if _is_weight_side(name)}  # per column, moving down
        for r in range(self.rows):
            for c in range(self.cols):
                pe = self.pes[r][c]
                m.submodules[f"pe_{r}_{c}"] = pe
                for name in inputs:
                    here = top[name][c] if _is_weight_side(name) else left[name][r]
                    if name == "last":
                        done = self._delay(m, here, pe.latency - 1, f"done_{r}_{c}_pipe")
                        m.d.sync += self.done[r * self.cols + c].eq(done)
                    else:
                        m.d.comb += getattr(pe, name).eq(here)
                    hop = Signal.like(here, name=f"{name}_{r}_{c}")
                    m.d.sync += hop.eq(here)
                    if _is_weight_side(name):
                        top[name][c] = hop
                    else:
                        left[name][r] = hop
                for name, member in self.pe_signature.members.items():
                    if member.flow == wiring.Out:
                        m.d.comb += getattr(self, name)[r * self.cols + c].eq(getattr(pe, name))
        return m

    @staticmethod
    def _delay(m: Module, value, cycles: int, name: str):
        for k in range(cycles):
            reg = Signal.like(value, name=f"{name}_{k}")
            m.d.sync += reg.eq(value)
            value = reg
        return value
