"""A stream unit inside a self-contained bench, so that the open-loop per-cycle vectors of ``hw.pysim``,
``hw.icarus`` and ``hw.verilator`` can drive its handshakes (a producer must wait for ``ready``, which a
fixed vector cannot do).

``StreamBench(dut, depth)`` wraps every stream port of ``dut``:

- an In stream ``S``: a FIFO (``depth`` beats) loaded through the inputs ``S_push`` and
  ``S_<field>`` (one per payload field), and a producer that shows the FIFO's head while ``S_offer``
  is high and then holds it until taken (the stream rules: ``valid`` is not withdrawn); output
  ``S_taken``: a beat entered the unit at the last clock edge;
- an Out stream ``O``: ``ready`` is the input ``O_ready``; outputs ``O_taken`` (a beat was taken at
  the last edge), ``O_<field>`` (its payload) and ``O_broke`` (sticky: ``valid`` fell or the payload
  changed while a beat waited for ``ready``, a break of the stream rules);
- any other input port: a struct is one input per field (``offset_y``, ...), a plain shape itself.

Every output is a register, so row t of a route's outputs is what happened at clock edge t. The
vectors (``vectors``) load each input frame into its FIFO during the first cycles, with
``offer`` low, then run the chosen ``offer`` / ``ready`` patterns; ``beats`` reads the transfers back.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out


def _streams(dut, flow) -> list[str]:
    return [n for n, mem in dut.signature.members.items()
            if mem.is_signature and isinstance(mem.signature, stream.Signature) and mem.flow == flow]


def _fields(layout) -> dict:
    return dict(data.Layout.cast(layout).members) if isinstance(layout, data.StructLayout) else {}


class StreamBench(wiring.Component):
    def __init__(self, dut: wiring.Component, depth: int = 64):
        self.dut, self.depth = dut, depth
        self.sources, self.sinks = _streams(dut, In), _streams(dut, Out)
        self.plain = [n for n, mem in dut.signature.members.items() if mem.is_port and mem.flow == In]
        members = {}
        for name in self.sources:
            payload = dut.signature.members[name].signature.members["payload"].shape
            members |= {f"{name}_push": In(1), f"{name}_offer": In(1)}
            members |= {f"{name}_{f}": In(shape) for f, shape in _fields(payload).items()}
        for name in self.plain:
            shape = dut.signature.members[name].shape
            members |= {f"{name}_{f}": In(s) for f, s in _fields(shape).items()} or {name: In(shape)}
        for name in self.sinks:
            payload = dut.signature.members[name].signature.members["payload"].shape
            members |= {f"{name}_ready": In(1), f"{name}_taken": Out(1), f"{name}_broke": Out(1)}
            members |= {f"{name}_{f}": Out(shape) for f, shape in _fields(payload).items()}
        members |= {f"{name}_taken": Out(1) for name in self.sources}
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        for name in self.plain:
            port = getattr(dut, name)
            fields = _fields(dut.signature.members[name].shape)
            m.d.comb += [port[f].eq(getattr(self, f"{name}_{f}")) for f in fields] or [port.eq(getattr(self, name))]
        for name in self.sources:
            s = getattr(dut, name)
            layout = data.Layout.cast(s.payload.shape())
            m.submodules[f"{name}_fifo"] = fifo = SyncFIFOBuffered(width=layout.size, depth=self.depth)
            pushed = Signal(layout, name=f"{name}_pushed")
            m.d.comb += [pushed[f].eq(getattr(self, f"{name}_{f}")) for f in _fields(layout)]
            held = Signal(name=f"{name}_held")  # a beat is showing and was not taken yet
            m.d.comb += [fifo.w_en.eq(getattr(self, f"{name}_push")), fifo.w_data.eq(pushed.as_value()),
                         s.valid.eq(fifo.r_rdy & (getattr(self, f"{name}_offer") | held)),
                         s.payload.eq(fifo.r_data), fifo.r_en.eq(s.valid & s.ready)]
            m.d.sync += [held.eq(s.valid & ~s.ready), getattr(self, f"{name}_taken").eq(s.valid & s.ready)]
        for name in self.sinks:
            o = getattr(dut, name)
            fields = _fields(o.payload.shape())
            taken = o.valid & o.ready
            waiting = Signal(name=f"{name}_waiting")
            last = Signal.like(o.payload.as_value(), name=f"{name}_shown")
            broke = getattr(self, f"{name}_broke")
            m.d.comb += o.ready.eq(getattr(self, f"{name}_ready"))
            m.d.sync += [getattr(self, f"{name}_taken").eq(taken), waiting.eq(o.valid & ~o.ready),
                         last.eq(o.payload.as_value())]
            with m.If(waiting & (~o.valid | (o.payload.as_value() != last))):
                m.d.sync += broke.eq(1)
            with m.If(taken):
                m.d.sync += [getattr(self, f"{name}_{f}").eq(o.payload[f]) for f in fields]
        return m


def vectors(bench: StreamBench, frames: dict[str, list[dict]], rng: np.random.Generator, run_cycles: int,
            offer: float = 1.0, ready: float = 1.0, plain: dict | None = None) -> dict[str, np.ndarray]:
    """Per-cycle inputs: every source's beats pushed in the first cycles (offer low), then ``run_cycles``
    cycles in which each source offers with probability ``offer`` and each sink is ready with probability
    ``ready`` (seeded ``rng``); ``plain`` gives the other inputs (constant)."""
    load = max([len(beats) for beats in frames.values()] + [1])
    assert load <= bench.depth, f"{load} beats do not fit a FIFO of {bench.depth}"
    cycles = load + run_cycles
    out: dict[str, np.ndarray] = {}
    for name in bench.sources:
        beats = frames[name]
        out[f"{name}_push"] = np.r_[np.ones(len(beats), np.int64), np.zeros(cycles - len(beats), np.int64)]
        for f in _fields(bench.dut.signature.members[name].signature.members["payload"].shape):
            out[f"{name}_{f}"] = np.r_[np.array([b[f] for b in beats], np.int64), np.zeros(cycles - len(beats), np.int64)]
        out[f"{name}_offer"] = np.r_[np.zeros(load, np.int64), (rng.random(run_cycles) < offer).astype(np.int64)]
    for name in bench.sinks:
        out[f"{name}_ready"] = (rng.random(cycles) < ready).astype(np.int64)
    for name, value in (plain or {}).items():
        out[name] = np.full(cycles, value, np.int64)
    return out


def beats(bench: StreamBench, outputs: dict[str, np.ndarray], name: str) -> list[dict]:
    """The beats a sink took, in order, as {field: int}."""
    fields = list(_fields(bench.dut.signature.members[name].signature.members["payload"].shape))
    rows = np.flatnonzero(outputs[f"{name}_taken"])
    return [{f: int(outputs[f"{name}_{f}"][t]) for f in fields} for t in rows]


def taken_cycles(outputs: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Clock edges at which a stream (source or sink) transferred a beat."""
    return np.flatnonzero(outputs[f"{name}_taken"])

