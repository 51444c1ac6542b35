"""Run a component's exported Verilog in Icarus Verilog on the same vectors as ``hw.pysim``.

Route: the Verilog ``dse rtl`` writes (``hw.export.verilog_text``, byte for byte) + a plain
testbench that reads all inputs of a cycle from a ``$readmemh`` file, drives them, clocks the
design and writes every output in hex (ecosystem route D: no cocotb). The testbench supplies the
`timescale the export lacks; array ports are flat bit vectors, packed by ``hw.vectors``. Sampling
matches ``hw.pysim.run``. ``rst`` is 0 unless the vectors give it (``"rst"``, one bit per cycle):
it is driven with the other inputs, before the edge.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from hw.export import verilog_text
from hw.vectors import pack, ports, unpack
from sim.errors import DSEError


def available() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def _testbench(all_ports, cycles: int, name: str) -> str:
    ins = [p for p in all_ports if p.is_input]
    outs = [p for p in all_ports if not p.is_input]
    in_bits = sum(p.bits for p in ins) + 1  # and rst, the top bit
    decl = [f"  reg [{p.bits - 1}:0] {p.name} = 0;" for p in ins] + [f"  wire [{p.bits - 1}:0] {p.name};" for p in outs]
    conns = ", ".join([".clk(clk)", ".rst(rst)"] + [f".{p.name}({p.name})" for p in all_ports])
    cat_in = ", ".join(["rst"] + [p.name for p in reversed(ins)])  # first port in the low bits
    cat_out = ", ".join(p.name for p in reversed(outs))
    return f"""`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 0;
  reg [{in_bits - 1}:0] vin [0:{cycles - 1}];
{chr(10).join(decl)}
  {name} dut({conns});
  integer t, fd;
  initial begin
    $readmemh("in.hex", vin);
    fd = $fopen("out.hex", "w");
    for (t = 0; t < {cycles}; t = t + 1) begin
      {{{cat_in}}} = vin[t];
      #5 clk = 1;
      #1 $fwrite(fd, "%h\\n", {{{cat_out}}});
      #4 clk = 0;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


def run(component, inputs: dict[str, np.ndarray], workdir: Path, name: str = "top") -> dict[str, np.ndarray]:
    """Outputs of ``component``'s Verilog (top module ``name``, in ``workdir/name.v``) under Icarus for
    ``inputs`` (as ``hw.pysim.run``, and ``rst`` if given)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    all_ports = ports(component)
    cycles = len(next(iter(inputs.values())))
    ins = [p for p in all_ports if p.is_input]
    outs = [p for p in all_ports if not p.is_input]
    words = [0] * cycles
    offset = 0
    for p in ins:
        if p.name in inputs:
            words = [w | (v << offset) for w, v in zip(words, pack(p, inputs[p.name]))]
        offset += p.bits
    if "rst" in inputs:
        words = [w | (int(v) << offset) for w, v in zip(words, inputs["rst"], strict=True)]
    (workdir / "in.hex").write_text("".join(f"{w:x}\n" for w in words))
    (workdir / f"{name}.v").write_text(verilog_text(component, name))
    (workdir / "tb.v").write_text(_testbench(all_ports, cycles, name))
    for cmd in (["iverilog", "-g2012", "-o", "sim.vvp", "tb.v", f"{name}.v"], ["vvp", "-n", "sim.vvp"]):
        done = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
        if done.returncode:
            raise DSEError(f"{cmd[0]} failed in {workdir}: {(done.stderr or done.stdout).strip()[:500]}")
    lines = (workdir / "out.hex").read_text().split()
    if len(lines) != cycles or any(set(line) & set("xzXZ") for line in lines):
        raise DSEError(f"icarus: expected {cycles} defined output rows in {workdir / 'out.hex'}")
    out_words = [int(line, 16) for line in lines]
    result, offset = {}, 0
    for p in outs:
        mask = (1 << p.bits) - 1
        result[p.name] = unpack(p, [(w >> offset) & mask for w in out_words])
        offset += p.bits
    return result
