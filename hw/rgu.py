"""Rule generation unit (RGU) of a vector-sparse convolution engine: the (input row, output row) pairs of one
kernel offset, by a sorted merge of the input and output coordinate streams.

Relation (spconv 2.x, per axis): input ``i`` and output ``o`` pair for offset ``delta`` iff
``i = o * s - p + delta * d``. The translation ``t = delta * d - p`` (signed, one per axis) is the
``offset`` port, held for a frame; the stride ``s`` is a power of two (an elaboration parameter).
``q(o) = o * s + t`` is strictly increasing in raster order (y, then x) because ``s > 0``, so with
both streams in raster order the pairs are the equal keys of a merge of ``q(out)`` with ``in``.
One offset's pairs of ``sim.sparse.conv_rules`` are what the RGU emits, in the same order (by input
row, which is also by output row). A transposed conv's rules are the same unit with the streams'
roles swapped (``Rules.inverse``).

Streams (``amaranth.lib.stream``), one frame each, the frames of the three in step:

- ``in_coords``, ``out_coords`` (In): payload ``y``, ``x`` (unsigned ``coord_bits``) and ``end``. A
  frame is its coordinates in raster order then one beat with ``end`` = 1 (its coordinate is
  ignored); an empty frame is the ``end`` beat alone. Row ``r`` of a stream is its ``r``-th distinct
  coordinate of the frame (the RGU counts them: ``row_bits`` bits, so at most 2^row_bits per frame).
- ``pairs`` (Out): payload ``in_row``, ``out_row`` and ``end``: the frame's pairs, then one beat with
  ``end`` = 1, also when there is no pair, whose rows are the frame's counts of distinct input and
  output coordinates (modulo 2^row_bits).

Duplicates (tile edges): a beat whose coordinate equals the previous beat's of the same stream and
frame is the same pillar again, as when a stream is a sequence of tiles and a pillar on a tile's
boundary ends one tile and starts the next. It names the same row: the RGU drops it (no row
counted, no pair). A coordinate below the previous one (a stream out of raster order) is outside
the contract.

Timing: one comparison per cycle and every cycle with both heads valid advances at least one
stream. Per cycle, in order: a valid head that duplicates its predecessor is dropped (both, if both
are), and nothing is compared; else ``q(out head)`` is compared with the input head (an ``end``
head ranks above every coordinate): equal emits the pair and takes both heads, the smaller head is
taken alone, two ``end`` heads emit the ``end`` beat and close the frame. A frame of ``n_in`` and
``n_out`` coordinates without duplicates and with ``P`` pairs therefore takes exactly
``n_in + n_out + 1 - P`` cycles with its streams always valid and ``pairs`` always ready (linear in
the active pillars). ``pairs`` is a register: a pair is valid one cycle after its comparison. A
step that emits waits while the register holds a beat not taken; the others go on, so a stalled
consumer does not stop the scan past non-matching pillars. ``in_coords.ready`` and
``out_coords.ready`` depend combinationally on the heads and on ``pairs.ready``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from sim.errors import ConfigError, field_message


def _bits(field: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(field_message(field, value, f"an integer from {lo} to {hi}"))
    return value


def coord_layout(coord_bits: int) -> data.StructLayout:
    return data.StructLayout({"y": unsigned(coord_bits), "x": unsigned(coord_bits), "end": 1})


class RuleGenerationUnit(wiring.Component):
    """One kernel offset's rules from two raster-ordered coordinate streams (see the module doc).

    Parameters: ``coord_bits`` (coordinate width per axis), ``row_bits`` (row index width),
    ``offset_bits`` (signed width of the translation per axis), ``stride`` (a power of two)."""

    def __init__(self, coord_bits: int = 16, row_bits: int = 16, offset_bits: int = 8, stride: int = 1):
        self.coord_bits = _bits("coord_bits", coord_bits, 1, 32)
        self.row_bits = _bits("row_bits", row_bits, 1, 32)
        self.offset_bits = _bits("offset_bits", offset_bits, 2, 32)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1 or stride & (stride - 1) or stride > 256:
            raise ConfigError(field_message("stride", stride, "a power of two from 1 to 256"))
        self.stride, self.shift = stride, exact_log2(stride)
        offset = data.StructLayout({"y": signed(offset_bits), "x": signed(offset_bits)})
        pair = data.StructLayout({"in_row": unsigned(row_bits), "out_row": unsigned(row_bits), "end": 1})
        super().__init__({"offset": In(offset),
                          "in_coords": In(stream.Signature(coord_layout(coord_bits))),
                          "out_coords": In(stream.Signature(coord_layout(coord_bits))),
                          "pairs": Out(stream.Signature(pair))})

    def _head(self, m: Module, s, name: str):
        """Row counter and duplicate test of one input stream: (row, head is a duplicate, update on a transfer)."""
        row = Signal(self.row_bits, name=f"{name}_row")
        prev = Signal(coord_layout(self.coord_bits), name=f"{name}_prev")  # previous coordinate; its ``end``: seen one
        dup = ~s.payload.end & prev.end & (s.payload.y == prev.y) & (s.payload.x == prev.x)
        with m.If(s.valid & s.ready):
            with m.If(s.payload.end):
                m.d.sync += [row.eq(0), prev.end.eq(0)]
            with m.Elif(~dup):
                m.d.sync += [row.eq(row + 1), prev.y.eq(s.payload.y), prev.x.eq(s.payload.x), prev.end.eq(1)]
        return row, dup

    def elaborate(self, platform):
        m = Module()
        a, b, p = self.in_coords, self.out_coords, self.pairs
        in_row, a_dup = self._head(m, a, "in")
        out_row, b_dup = self._head(m, b, "out")
        qy = (b.payload.y << self.shift) + self.offset.y
        qx = (b.payload.x << self.shift) + self.offset.x
        a_end, b_end = a.payload.end, b.payload.end
        equal = ~a_end & ~b_end & (qy == a.payload.y) & (qx == a.payload.x)
        q_less = (~b_end & a_end) | (~a_end & ~b_end & ((qy < a.payload.y) | ((qy == a.payload.y) & (qx < a.payload.x))))
        both_end = a_end & b_end
        emit = equal | both_end
        compare = a.valid & b.valid & ~a_dup & ~b_dup
        step = compare & (~emit | ~p.valid | p.ready)
        m.d.comb += [a.ready.eq(a_dup | (step & ~q_less)),
                     b.ready.eq(b_dup | (step & (emit | q_less)))]
        with m.If(p.ready):
            m.d.sync += p.valid.eq(0)
        with m.If(step & emit):
            m.d.sync += [p.valid.eq(1), p.payload.end.eq(both_end),
                         p.payload.in_row.eq(in_row), p.payload.out_row.eq(out_row)]
        return m
