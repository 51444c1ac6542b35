"""Valid/ready stream shells (``amaranth.lib.stream``) around the MAC units and the PE array of ``hw``.

The units are valid-driven: they take an input row whenever ``valid`` is high and show its effect
on their outputs ``latency`` cycles later (``getattr(unit, "latency", 1)``: 1 for an unpipelined
unit), with no way to pause. The shells add back-pressure without stalling the datapath: every input
beat that will produce output *reserves* its output slots in a result queue first (credits), and is
accepted only while the queue has room for them, so a result always finds a free slot when it
appears and no beat is lost or duplicated however long the consumer stalls.

Both shells follow the Amaranth stream rules (``amaranth.lib.stream``, "Data transfer rules"): a
transfer happens on a cycle with ``valid`` and ``ready`` both high; the producer holds ``valid`` and
``payload`` until then and never waits for ``ready`` to raise ``valid``. ``i_stream.ready`` looks at
the queue's credits and at ``i_stream.payload.last`` (allowed: a consumer may assert or deassert
``ready`` at any time), never combinationally at ``o_stream.ready``. ``o_stream`` comes straight
from the queue's registered read side.

Assumptions: one clock domain (``sync``) for the shell and the unit; a unit's outputs hold the
result of an input row exactly ``latency`` cycles after the row was taken (the golden models'
timing), and an accumulating unit (one with a ``first`` port) keeps its accumulator while ``valid``
is low.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from hw.pe_array import PEArray, _is_weight_side
from sim.errors import ConfigError, field_message

CONTROL = ("valid", "out_valid")  # unit ports the handshake replaces
QUEUE_LATENCY = 3  # cycles from a result's write into the queue until its slot counts as free again
SMALLEST_QUEUE = 3  # a SyncFIFOBuffered of depth 2 refuses a write in the cycle after one into an empty FIFO


def _taps(m: Module, value, cycles: int, name: str) -> list:
    """``value`` registered 0, 1, .. ``cycles`` times (a shift register and its taps)."""
    taps = [value]
    for k in range(cycles):
        taps.append(Signal.like(value, name=f"{name}_{k + 1}"))
        m.d.sync += taps[-1].eq(taps[-2])
    return taps


def _check_depth(depth: int, least: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or not least <= depth <= 4096:
        raise ConfigError(field_message("depth", depth, f"an integer from {least} to 4096"))
    return depth


class ResultQueue(wiring.Component):
    """A FIFO of results whose slots are reserved before the results exist.

    Ports: ``reserve`` (take ``per_reserve`` slots this cycle), ``room`` (at least ``per_reserve``
    slots are free, registered), ``w_stream`` (results; never refused, since every write was
    reserved; its ``ready`` is the FIFO's and stays high for reserved writes), ``r_stream`` (out).
    A slot is freed when its result leaves through ``r_stream``; the FIFO is a
    ``SyncFIFOBuffered`` (registered read data, two cycles from write to read) of at least
    ``SMALLEST_QUEUE`` entries: one of 2 entries refuses a write in the cycle after a write into it
    while empty (its one-entry memory is full while its output register loads), which would lose a
    reserved result.
    """

    def __init__(self, layout, depth: int, per_reserve: int = 1):
        self.layout, self.depth, self.per_reserve = layout, depth, per_reserve
        super().__init__({"reserve": In(1), "room": Out(1),
                          "w_stream": In(stream.Signature(layout)), "r_stream": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        width = data.Layout.cast(self.layout).size
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=width, depth=self.depth)
        m.d.comb += [fifo.w_data.eq(self.w_stream.payload), fifo.w_en.eq(self.w_stream.valid),
                     self.w_stream.ready.eq(fifo.w_rdy),
                     self.r_stream.payload.eq(fifo.r_data), self.r_stream.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.r_stream.ready)]
        taken = Signal(range(self.depth + 1))  # reserved slots not yet read out
        popped = self.r_stream.valid & self.r_stream.ready
        m.d.sync += taken.eq(taken + self.reserve * self.per_reserve - popped)
        m.d.comb += self.room.eq(taken + self.per_reserve <= self.depth)
        return m


class StreamUnit(wiring.Component):
    """A MAC unit (``IntMAC``, ``BlockDot`` or any valid-driven unit of ``hw``) behind two streams.

    Ports:

    - ``i_stream`` (In): payload = a struct of the unit's input ports except ``valid``; an
      accumulating unit (one with a ``first`` port: ``IntMAC``) gets one more field, ``last``. A
      sum is the beats from one with ``first`` to the next with ``last`` (``first`` and ``last``
      may be the same beat).
    - ``o_stream`` (Out): payload = a struct of the unit's output ports except ``out_valid``. An
      accumulating unit emits one beat per ``last`` input beat: its accumulator after that step
      (the complete sum). Any other unit emits one beat per input beat (``BlockDot``: the block's
      terms ``mant``/``exp``). Output beats come in input order.

    Back-pressure: ``i_stream.ready`` is low only for a beat that would emit (``last``, or every
    beat of a non-accumulating unit) while the result queue (``depth`` entries, default
    ``latency + 3``) is full of results reserved but not yet read; non-emitting beats are always
    taken (the unit keeps accumulating, nothing can be lost). Latency: an input beat's result is
    valid on ``o_stream`` ``latency + 2`` cycles after the cycle it was taken (``latency`` in the
    unit, two through the queue). Throughput: one beat per cycle while ``o_stream.ready`` is high
    and ``depth >= latency + 3``; a smaller depth caps it at ``depth / (latency + 3)`` emitting
    beats per cycle.
    """

    def __init__(self, unit: wiring.Component, depth: int | None = None):
        self.unit, self.latency = unit, getattr(unit, "latency", 1)
        members = unit.signature.members
        self.accumulates = "first" in members
        self.inputs = [n for n, mem in members.items() if mem.flow == wiring.In and n not in CONTROL]
        self.outputs = [n for n, mem in members.items() if mem.flow == wiring.Out and n not in CONTROL]
        in_fields = {n: members[n].shape for n in self.inputs} | ({"last": 1} if self.accumulates else {})
        self.depth = _check_depth(self.latency + QUEUE_LATENCY if depth is None else depth, SMALLEST_QUEUE)
        self.out_layout = data.StructLayout({n: members[n].shape for n in self.outputs})
        super().__init__({"i_stream": In(stream.Signature(data.StructLayout(in_fields))),
                          "o_stream": Out(stream.Signature(self.out_layout))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.submodules.queue = queue = ResultQueue(self.out_layout, self.depth)
        i = self.i_stream
        emits = i.payload.last if self.accumulates else Const(1, 1)
        taken = i.valid & i.ready
        m.d.comb += [i.ready.eq(~emits | queue.room), queue.reserve.eq(taken & emits), unit.valid.eq(taken)]
        m.d.comb += [getattr(unit, n).eq(i.payload[n]) for n in self.inputs]
        m.d.comb += queue.w_stream.valid.eq(_taps(m, taken & emits, self.latency, "result_due")[-1])
        m.d.comb += [queue.w_stream.payload[n].eq(getattr(unit, n)) for n in self.outputs]
        wiring.connect(m, queue=queue.r_stream, shell=wiring.flipped(self.o_stream))
        return m


def drain_depth(rows: int, cols: int, latency: int) -> int:
    """Least result queue (rows) that lets ``StreamPEArray`` take a step every cycle when every sum
    has the shortest allowed length S = max(rows, cols - 1) and ``o_stream`` is always ready.

    Row r of a sum whose ``last`` step was taken in cycle t holds its slot from t + 1 until it is
    read in cycle t + r + cols + latency + 1; at a ``last`` step, the sum j steps of S back still
    holds the rows r >= j * S - (cols + latency + 1); the new sum needs ``rows`` more.
    """
    spacing, window = max(rows, cols - 1), cols + latency + 1
    held = sum(max(0, rows - max(0, j * spacing - window)) for j in range(1, (window + rows) // spacing + 1))
    return held + rows


class StreamPEArray(wiring.Component):
    """An output-stationary ``PEArray`` behind two streams, with a drain path for its accumulators.

    Ports:

    - ``i_stream`` (In): one step per beat. Payload fields: every PE input port except ``valid``,
      as an array over rows (activation side) or over columns (weight side, names starting with
      ``w``), as ``PEArray`` takes them; ``first`` (if the PE has it) and ``last`` are single bits
      for the whole step: every PE starts and ends its sum on the same step.
    - ``o_stream`` (Out): the drain. After a ``last`` step, ``rows`` beats, one per PE row in
      order 0..rows-1; each carries that row's ``cols`` PE outputs (every PE output port except
      ``out_valid``, as an array over columns) and ``last`` = 1 on the final row.

    Drain path: the step marked ``last`` reaches PE (r, c) r + c cycles after it was taken (the
    array's skew) and its result is on the PE's outputs ``latency`` cycles later, for one cycle only
    when the next sum follows at once; the shell counts these cycles itself (a shift register of
    taken ``last`` steps), so it does not depend on how the array times ``done``. A snapshot
    register per PE of columns 0..cols-2 catches the result then; when the result of column cols-1
    appears, the row (snapshots plus that live value) is written into the result queue, where its
    slot was reserved when the ``last`` step was taken. The queue holds ``depth`` rows (default
    ``drain_depth``, at least 3; no fewer than ``rows``); sums of at least rows + cols + latency + 1
    steps run at full rate with ``depth = rows`` (each sum has left the queue before the next ends).

    The array keeps taking steps while it drains: only a ``last`` step can be refused, when the
    queue has no room for ``rows`` more rows, or when it comes less than ``max(rows, cols - 1)``
    cycles after the previous ``last`` (the snapshots of the previous sum are not yet written out,
    or two rows would enter the queue in one cycle). Throughput with ``o_stream.ready`` high:
    one step per cycle for sums of at least ``max(rows, cols - 1)`` steps (the drain then writes at
    most one row per cycle, its maximum). Latency: row r of a sum is valid on ``o_stream``
    ``r + cols + latency + 1`` cycles after its ``last`` step was taken.
    """

    def __init__(self, array: PEArray, depth: int | None = None):
        if not isinstance(array, PEArray):
            raise ConfigError(field_message("array", type(array).__name__, "a PEArray"))
        self.array, self.rows, self.cols = array, array.rows, array.cols
        self.latency = getattr(array.pes[0][0], "latency", 1)
        self.spacing = max(self.rows, self.cols - 1)
        members = array.pe_signature.members
        self.inputs = [n for n, mem in members.items() if mem.flow == wiring.In and n not in CONTROL]
        self.outputs = [n for n, mem in members.items() if mem.flow == wiring.Out and n not in CONTROL]
        in_fields = {n: 1 if n == "first" else data.ArrayLayout(members[n].shape, self._lanes(n))
                     for n in self.inputs} | {"last": 1}
        out_fields = {n: data.ArrayLayout(members[n].shape, self.cols) for n in self.outputs} | {"last": 1}
        default = max(SMALLEST_QUEUE, drain_depth(self.rows, self.cols, self.latency))
        self.depth = _check_depth(default if depth is None else depth, max(SMALLEST_QUEUE, self.rows))
        self.out_layout = data.StructLayout(out_fields)
        super().__init__({"i_stream": In(stream.Signature(data.StructLayout(in_fields))),
                          "o_stream": Out(stream.Signature(self.out_layout))})

    def _lanes(self, name: str) -> int:
        return self.cols if _is_weight_side(name) else self.rows

    def elaborate(self, platform):
        m = Module()
        array, rows, cols = self.array, self.rows, self.cols
        m.submodules.array = array
        m.submodules.queue = queue = ResultQueue(self.out_layout, self.depth, per_reserve=rows)
        i = self.i_stream
        since_last = Signal(range(self.spacing + 1), init=self.spacing)  # cycles since the last `last`, saturating
        taken = i.valid & i.ready
        ends = taken & i.payload.last
        m.d.comb += [i.ready.eq(~i.payload.last | (queue.room & (since_last == self.spacing))),
                     queue.reserve.eq(ends)]
        with m.If(ends):
            m.d.sync += since_last.eq(1)
        with m.Elif(since_last != self.spacing):
            m.d.sync += since_last.eq(since_last + 1)
        for r in range(rows):
            m.d.comb += [array.valid[r].eq(taken), array.last[r].eq(ends)]
        # ends_after[k]: a `last` step was taken k cycles ago; PE (r, c) has its result r + c + latency cycles after
        ends_after = _taps(m, ends, rows + cols + self.latency - 2, "ends_after")
        for n in self.inputs:
            for lane in range(self._lanes(n)):
                m.d.comb += getattr(array, n)[lane].eq(i.payload[n] if n == "first" else i.payload[n][lane])
        w = queue.w_stream
        for r in range(rows):
            due = [ends_after[r + c + self.latency] for c in range(cols)]
            row_done = due[-1]  # the row's last column has its result: write the row
            with m.If(row_done):
                m.d.comb += [w.valid.eq(1), w.payload.last.eq(r == rows - 1)]
            for c in range(cols):
                for n in self.outputs:
                    live = getattr(array, n)[r * cols + c]
                    value = live
                    if c < cols - 1:
                        value = Signal.like(live, name=f"snap_{n}_{r}_{c}")
                        with m.If(due[c]):
                            m.d.sync += value.eq(live)
                    with m.If(row_done):
                        m.d.comb += w.payload[n][c].eq(value)
        wiring.connect(m, queue=queue.r_stream, shell=wiring.flipped(self.o_stream))
        return m
