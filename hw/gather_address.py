"""Gather-address generator of the gather/scatter unit: each feature-vector row becomes the SRAM word
addresses of its words, interleaved over banks.

Layout (``sim.gather.word_addresses``, the golden): vector ``r`` occupies word addresses
``a = r * words + j`` (``j < words``) at bank ``a mod banks`` and line ``a div banks``. ``banks``
is a power of two, so the bank is the low ``log2(banks)`` bits of ``a`` and the line the rest.

Streams (``amaranth.lib.stream``): ``rows`` (In, payload ``row``: unsigned ``row_bits``) and
``addresses`` (Out, payload ``bank``, ``line``, ``last``: the vector's final word, ``issue``: the
vector's issue cycle), ``words`` beats per row in order. Timing: one word per cycle; a row is taken in
the cycle its predecessor's last word leaves (or whenever the unit is idle), so back-to-back rows stream
without a bubble, and its first word is valid in the next cycle. ``addresses`` comes from registers (the
address and the words left); ``rows.ready`` depends combinationally on ``addresses.ready``. The address
register holds ``row_bits + ceil(log2(words))`` bits: every row of ``row_bits`` bits has its words
addressed without wrapping.

Conflict-aware issue grouping (``sim.gather.issue_cycles``, in order): a vector joins the current
issue cycle when its banks are all free in it and it holds fewer than ``vectors_per_cycle``
vectors, else it opens the next one; with more words than banks every vector takes
``ceil(words / banks)`` cycles of its own. ``issue`` counts cycles from 0 at the first vector,
modulo 2^cycle_bits. ``vectors_per_cycle`` defaults to 2 [assumption: the vectors a gather port
issues per cycle are not published for SPADE; a parameter].
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from sim.errors import ConfigError, field_message


class GatherAddressGenerator(wiring.Component):
    """Rows in, (bank, line) word addresses with their issue cycle out (see the module doc). Parameters:
    ``row_bits`` (row index width), ``words`` (words per vector, 1..4096), ``banks`` (a power of two,
    1..1024), ``vectors_per_cycle`` (1..64), ``cycle_bits`` (width of the issue cycle, 1..32)."""

    def __init__(self, row_bits: int = 16, words: int = 8, banks: int = 8, vectors_per_cycle: int = 2,
                 cycle_bits: int = 16):
        for field, value, hi in (("row_bits", row_bits, 32), ("words", words, 4096), ("banks", banks, 1024),
                                 ("vectors_per_cycle", vectors_per_cycle, 64), ("cycle_bits", cycle_bits, 32)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
                raise ConfigError(field_message(field, value, f"an integer from 1 to {hi}"))
        if banks & (banks - 1):
            raise ConfigError(field_message("banks", banks, "a power of two from 1 to 1024"))
        self.row_bits, self.words, self.banks = row_bits, words, banks
        self.vectors_per_cycle, self.cycle_bits = vectors_per_cycle, cycle_bits
        self.bank_bits = exact_log2(banks)
        self.addr_bits = row_bits + ceil_log2(words)
        word = data.StructLayout({"bank": unsigned(max(1, self.bank_bits)),
                                  "line": unsigned(max(1, self.addr_bits - self.bank_bits)), "last": 1,
                                  "issue": unsigned(cycle_bits)})
        super().__init__({"rows": In(stream.Signature(data.StructLayout({"row": unsigned(row_bits)}))),
                          "addresses": Out(stream.Signature(word))})

    def elaborate(self, platform):
        m = Module()
        i, o = self.rows, self.addresses
        busy = Signal()  # a vector's words are being sent
        addr = Signal(self.addr_bits)  # word address of the word on ``o``
        left = Signal(ceil_log2(self.words))  # words of the vector after the one on ``o``
        last = left == 0
        m.d.comb += [o.valid.eq(busy), o.payload.last.eq(last),
                     o.payload.bank.eq(addr[:self.bank_bits]), o.payload.line.eq(addr[self.bank_bits:]),
                     i.ready.eq(~busy | (o.ready & last))]
        first = i.payload.row * self.words  # word address of the row's first word
        m.d.comb += o.payload.issue.eq(self._issue(m, first, i.valid & i.ready))
        with m.If(i.valid & i.ready):
            m.d.sync += [busy.eq(1), addr.eq(first), left.eq(self.words - 1)]
        with m.Elif(o.valid & o.ready):
            with m.If(last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += [addr.eq(addr + 1), left.eq(left - 1)]
        return m

    def _issue(self, m: Module, first, take):
        """Issue cycle of the vector on ``o`` (a register), updated when a row is taken (module doc)."""
        cycle = Signal(self.cycle_bits)
        started = Signal()  # a vector was taken before
        with m.If(take):
            m.d.sync += started.eq(1)
        if self.words > self.banks:
            with m.If(take & started):
                m.d.sync += cycle.eq(cycle + -(-self.words // self.banks))
            return cycle
        used = Signal(self.banks)  # banks taken in the current cycle
        count = Signal(range(self.vectors_per_cycle + 1))  # vectors in it
        wide = Const((1 << self.words) - 1, 2 * self.banks) << first[:self.bank_bits]
        banks = wide[:self.banks] | wide[self.banks:2 * self.banks]  # the row's banks, wrapping around
        opens = ~started | (banks & used).any() | (count == self.vectors_per_cycle)
        with m.If(take & opens):
            m.d.sync += [used.eq(banks), count.eq(1), cycle.eq(cycle + started)]
        with m.Elif(take):
            m.d.sync += [used.eq(used | banks), count.eq(count + 1)]
        return cycle
