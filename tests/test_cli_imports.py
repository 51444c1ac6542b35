"""`dse --help` and `dse scalesim` import only what they use. Each heavy library costs 0.1 to 1 s
to import, more than the work of these commands; their times are measured in benchmarks/bench_cli.py."""

import json
import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).parent / "data" / "scalesim" / "cases"
HEAVY = ("numpy", "pandas", "pyarrow", "pydantic", "numba", "amaranth", "torch", "matplotlib", "scipy")
SCALESIM_NEEDS = ("numpy", "pydantic")  # the systolic model computes with numpy; configs validate with pydantic
RTL_HELP_NEEDS = ("numpy",)  # the generator table reads the PE registry (sim.models imports numpy), not Amaranth
# Runs `dse ARGS` in a fresh interpreter; prints its exit status and the top-level modules it imported.
PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["dse", *json.loads(sys.argv[1])]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("sim.cli", run_name="__main__")
    except SystemExit as exc:
        status = exc.code
print(json.dumps([status, sorted({m.split(".")[0] for m in sys.modules})]))
"""


def _dse_imports(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status, modules = json.loads(proc.stdout)
    assert status in (0, None), proc.stderr
    return set(modules)


def test_help_imports_no_heavy_library():
    for args in (["--help"], ["scalesim", "--help"]):
        assert not _dse_imports(*args) & set(HEAVY), args
    assert _dse_imports("rtl", "--help") & set(HEAVY) == set(RTL_HELP_NEEDS)


def test_scalesim_imports_only_numpy_and_pydantic(tmp_path):
    """The scalesim path needs numpy and pydantic (and asserts it ran by finding them), not pandas."""
    imported = _dse_imports("scalesim", "-c", str(CASES / "conv_multi_os_16x8.cfg"), "-t",
                            str(CASES / "conv_multi_os_16x8.csv"), "-o", str(tmp_path))
    assert (tmp_path / "COMPUTE_REPORT.csv").is_file() and (tmp_path / "DETAILED.csv").is_file()
    assert imported & set(HEAVY) == set(SCALESIM_NEEDS)
