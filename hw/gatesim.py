"""Zero-delay, cycle-based simulation of a ``hw.synth`` gate netlist, counting every net's toggles.

Per cycle: drive the inputs, settle the combinational gates (in topological order), clock every
flip-flop (Q <- D) and settle again; outputs are sampled then, as ``hw.pysim.run`` samples them,
so the same golden comparison applies (a third, independent check of the synthesized logic). A
gate's toggle is a change of its settled output between two settles; glitches (transient
transitions inside a settle) are not seen by a zero-delay model. The inner loop is numba.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from hw.synth import DFF, Netlist
from hw.vectors import from_bits, ports, to_bits
from sim.errors import DSEError

KINDS = ("$_NOT_", "$_BUF_", "$_AND_", "$_NAND_", "$_OR_", "$_NOR_", "$_XOR_", "$_XNOR_", "$_ANDNOT_", "$_ORNOT_",
         "$_MUX_")


@dataclass
class Activity:
    outputs: dict[str, np.ndarray]
    toggles: np.ndarray  # per cell of the netlist (same order), over the whole run
    cycles: int


@numba.njit(cache=True)
def _eval(kind, x, y, s):
    if kind == 0:
        return 1 - x
    if kind == 1:
        return x
    if kind == 2:
        return x & y
    if kind == 3:
        return 1 - (x & y)
    if kind == 4:
        return x | y
    if kind == 5:
        return 1 - (x | y)
    if kind == 6:
        return x ^ y
    if kind == 7:
        return 1 - (x ^ y)
    if kind == 8:
        return x & (1 - y)
    if kind == 9:
        return x | (1 - y)
    return y if s else x


@numba.njit(cache=True)
def _settle(value, kinds, ins, outs, toggles, order):
    for i in order:
        new = _eval(kinds[i], value[ins[i, 0]], value[ins[i, 1]], value[ins[i, 2]])
        if new != value[outs[i]]:
            toggles[i] += 1
            value[outs[i]] = new


@numba.njit(cache=True)
def _run(value, kinds, ins, outs, order, flops, in_nets, in_bits, out_nets):
    cycles = in_bits.shape[0]
    toggles = np.zeros(len(kinds), np.int64)
    sampled = np.zeros((cycles, len(out_nets)), np.uint8)
    nxt = np.zeros(len(flops), np.uint8)
    for t in range(cycles):
        for j in range(len(in_nets)):
            value[in_nets[j]] = in_bits[t, j]
        _settle(value, kinds, ins, outs, toggles, order)
        for j in range(len(flops)):
            nxt[j] = value[ins[flops[j], 0]]
        for j in range(len(flops)):
            f = flops[j]
            if nxt[j] != value[outs[f]]:
                toggles[f] += 1
                value[outs[f]] = nxt[j]
        _settle(value, kinds, ins, outs, toggles, order)
        for j in range(len(out_nets)):
            sampled[t, j] = value[out_nets[j]]
    return sampled, toggles


def _topological(netlist: Netlist) -> np.ndarray:
    """Combinational cells ordered so that every gate follows the gates driving its inputs."""
    driver = {out: i for i, (kind, _, out) in enumerate(netlist.cells) if kind != DFF}
    order, state = [], {}
    for root in driver.values():
        stack = [(root, False)]
        while stack:
            i, done = stack.pop()
            if done:
                state[i] = 2
                order.append(i)
                continue
            if state.get(i) == 2:
                continue
            if state.get(i) == 1:
                raise DSEError("gate netlist has a combinational loop")
            state[i] = 1
            stack.append((i, True))
            stack.extend((driver[n], False) for n in netlist.cells[i][1] if n in driver and state.get(driver[n]) != 2)
    return np.array(order, np.int64)


def simulate(component, netlist: Netlist, inputs: dict[str, np.ndarray]) -> Activity:
    """Run ``netlist`` (synthesized from ``component``) on ``inputs`` as ``hw.pysim.run`` would."""
    n = len(netlist.cells)
    kinds = np.full(n, -1, np.int64)
    ins = np.zeros((n, 3), np.int64)
    outs = np.zeros(n, np.int64)
    for i, (kind, pins, out) in enumerate(netlist.cells):
        kinds[i] = -1 if kind == DFF else KINDS.index(kind)
        ins[i, :len(pins)] = pins
        outs[i] = out
    # every net the kernel indexes: gate inputs too (an undriven internal net reads 0, as in _net)
    top = max([1, *outs, *ins.ravel(), *(b for _, bits in netlist.ports.values() for b in bits), *netlist.init])
    value = np.zeros(top + 1, np.uint8)
    value[1] = 1
    for net, v in netlist.init.items():
        value[net] = v
    cycles = len(next(iter(inputs.values())))
    in_nets, in_cols, out_ports = [], [], []
    for p in ports(component):
        _, nets = netlist.ports[p.name]
        if p.is_input:
            in_nets += nets
            in_cols.append(to_bits(p, inputs[p.name]) if p.name in inputs else np.zeros((cycles, p.bits), np.uint8))
        else:
            out_ports.append((p, nets))
    for name in ("clk", "rst"):  # the clock is implicit; reset is held low
        if name in netlist.ports:
            in_nets += netlist.ports[name][1]
            in_cols.append(np.zeros((cycles, 1), np.uint8))
    out_nets = [net for _, nets in out_ports for net in nets]
    sampled, toggles = _run(value, kinds, ins, outs, _topological(netlist), np.flatnonzero(kinds == -1),
                            np.array(in_nets, np.int64), np.concatenate(in_cols, axis=1),
                            np.array(out_nets, np.int64))
    outputs, col = {}, 0
    for p, nets in out_ports:
        outputs[p.name] = from_bits(p, sampled[:, col:col + len(nets)])
        col += len(nets)
    return Activity(outputs, toggles, cycles)
