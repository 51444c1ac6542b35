"""Recipe: reference values from the real SCALE-Sim 3.0.0 for the SCALE-Sim parity tests.

Writes SCALE-Sim v3 ``.cfg`` files and topology CSVs for every case into
``tests/data/scalesim/cases/``, runs each through the real SCALE-Sim (PyPI ``scalesim==3.0.0`` with
``numpy==1.26.4`` in ``benchmarks/.scalesim-venv``, see ``scalesim_env.py``) and writes
``tests/data/scalesim/reference.csv``, one row per (case, layer).

It also writes the USER-bandwidth stall reference (``stall_cases()``: 67 runs into
``tests/data/scalesim/stall_cases/`` and ``tests/data/scalesim/stalls.csv``, one row each, with the
COMPUTE_REPORT columns, compute cycles = Total - Stall, and the DRAM start/stop/access columns of
DETAILED_ACCESS_REPORT). Their cfgs set ``InterfaceBandwidth: USER``, both ``[layout]`` SRAM bank
bandwidths (SCALE-Sim 3.0.0 uses them for the IFMAP and filter DRAM reads; column ``bandwidth``) and
``Bandwidth`` (it uses that for the OFMAP only; column ``ofmap_bandwidth``), in words/cycle: one
value for all three, except in the three AlexNet conv1 runs of ``SPEC_STALL_ROWS``.

Run: ``python benchmarks/scalesim_reference.py`` (both tables), ``--compute`` (reference.csv only,
~65 s on an idle 2-core VM, two thirds of it the two AlexNet conv1 runs) or ``--stalls``
(stalls.csv only, ~9 min on a shared 2-core VM, 4 of them the three AlexNet conv1 runs); plus ~30 s to
create the venv the first time. Everything but the timing columns (wall_s, sim_s, peak_rss_mb) is
deterministic.

All reference.csv cfgs use ``InterfaceBandwidth: CALC`` (SCALE-Sim sizes DRAM bandwidth itself: no stalls), 1-byte
words (hard-coded in SCALE-Sim) and, unless a case says otherwise, 256/256/128 kB SRAMs; the SRAM
sizes do not change compute cycles or utilisations but do change "Total Cycles (incl. prefetch)",
so some cases shrink them to exercise SCALE-Sim's prefetch/drain paths.

Coverage: GEMM and conv; OS, WS, IS; square and non-square arrays from 8x8 to 256x256 (plus a
non-power-of-two 12x20); layers smaller and larger than the array; dims divisible and not
divisible by the array; conv strides 1, 2 and 4 with cases where (H - R) mod stride != 0 (SCALE-Sim's
ceil output size); multi-layer topologies; a depthwise ("DP" in the layer name) layer, which
SCALE-Sim splits into one layer per channel; and rows 1-7 of the SCALE-Sim 3.0.0 regression table
(``PARITY_ROWS`` in ``tests/sim/test_systolic.py``, including AlexNet's 116,210 incl.-prefetch cycles,
which need 64 kB SRAMs), which ``check_spec_rows`` asserts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scalesim_env import run_scalesim  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "scalesim"
SRAM_KB = (256, 256, 128)  # IFMAP, filter, OFMAP SRAM sizes (kB) unless a case overrides them
CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : {ifmap_kb}
FilterSramSzkB : {filter_kb}
OfmapSramSzkB : {ofmap_kb}
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Bandwidth : {bandwidth}
Dataflow : {dataflow}
MemoryBanks : 1
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : {bank_bandwidth}
IfmapSRAMBankNum : 1
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : {bank_bandwidth}
FilterSRAMBankNum : 1
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : {interface}
UseRamulatorTrace : False
"""
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
GEMM_HEADER = "Layer, M, N, K,"
CONV_COLS = ["ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride"]
GEMM_COLS = ["M", "N", "K"]

# (name, mode, dims, rows, cols, dataflow[, (ifmap_kB, filter_kB, ofmap_kB)]).
# dims: conv (H, W, R, S, C, filters, stride); gemm (M, N, K); or a tuple of such for several layers.
# Keep the order: tests index the first rows (row 0 is a GEMM case, row 14 AlexNet conv1).
CASES = [
    ("gemm_small_os", "gemm", (20, 40, 30), 8, 8, "os"),  # regression row 1: 659
    ("gemm_small_ws", "gemm", (20, 40, 30), 8, 8, "ws"),  # row 2: 839
    ("gemm_small_is", "gemm", (20, 40, 30), 8, 8, "is"),  # row 3: 743
    ("gemm_tall_os_16x8", "gemm", (100, 37, 53), 16, 8, "os"),
    ("gemm_tall_ws_8x32", "gemm", (100, 37, 53), 8, 32, "ws"),
    ("gemm_wide_is_64x16", "gemm", (29, 150, 70), 64, 16, "is"),
    ("gemm_tiny_on_256_ws", "gemm", (7, 9, 5), 256, 256, "ws"),
    ("gemm_tiny_on_256_os", "gemm", (7, 9, 5), 256, 256, "os"),
    ("gemm_decode_128_ws", "gemm", (1, 300, 260), 128, 128, "ws"),
    ("gemm_decode_128_is", "gemm", (1, 300, 260), 128, 128, "is"),
    ("gemm_32_os", "gemm", (130, 65, 97), 32, 32, "os"),
    ("conv_10x10_os_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "os"),  # row 4: 695
    ("conv_10x10_ws_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "ws"),  # row 5: 917
    ("conv_10x10_is_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "is"),  # row 6: 1391
    ("conv_alexnet1_ws_32", "conv", (224, 224, 11, 11, 3, 96, 4), 32, 32, "ws"),  # row 7: 112,283
    ("conv_stride2_quirk_ws_8x32", "conv", (15, 14, 3, 3, 8, 24, 2), 8, 32, "ws"),
    ("conv_stride2_quirk_os_32", "conv", (15, 14, 3, 3, 8, 24, 2), 32, 32, "os"),
    ("conv_stride4_is_16x8", "conv", (23, 23, 5, 5, 3, 16, 4), 16, 8, "is"),
    ("conv_1x1_os_64x16", "conv", (12, 12, 1, 1, 64, 48, 1), 64, 16, "os"),
    ("conv_small_on_128_ws", "conv", (6, 6, 3, 3, 2, 5, 1), 128, 128, "ws"),
    ("conv_small_on_256_is", "conv", (6, 6, 3, 3, 2, 5, 1), 256, 256, "is"),
    ("conv_deep_ws_64x16", "conv", (9, 9, 3, 3, 40, 70, 1), 64, 16, "ws"),
    ("conv_stride2_is_32", "conv", (17, 16, 3, 3, 16, 33, 2), 32, 32, "is"),
    ("conv_5x5_os_8x8", "conv", (12, 11, 5, 5, 3, 10, 1), 8, 8, "os"),
    # --- appended: larger, multi-layer, depthwise, divisible, odd array, small-SRAM cases ---
    ("gemm_exact_is_32", "gemm", (64, 96, 128), 32, 32, "is"),
    ("gemm_exact_ws_32", "gemm", (64, 96, 128), 32, 32, "ws"),
    ("gemm_big_on_256_ws", "gemm", (300, 520, 270), 256, 256, "ws"),
    ("gemm_llm_os_64", "gemm", (128, 256, 512), 64, 64, "os"),
    ("gemm_odd_array_os_12x20", "gemm", (50, 70, 33), 12, 20, "os", (3, 5, 3)),
    ("conv_big_on_128_os", "conv", (20, 20, 3, 3, 16, 200, 1), 128, 128, "os"),
    ("conv_stride4_quirk_os_16", "conv", (27, 30, 7, 7, 3, 24, 4), 16, 16, "os"),
    ("conv_stride2_quirk_hw_ws_64x16", "conv", (21, 19, 4, 4, 6, 20, 2), 64, 16, "ws"),
    ("conv_resnet_ws_32", "conv", (30, 30, 3, 3, 64, 64, 1), 32, 32, "ws"),
    ("conv_multi_os_16x8", "conv", ((10, 10, 3, 3, 4, 20, 1), (12, 12, 3, 3, 8, 16, 2), (7, 7, 1, 1, 32, 10, 1)),
     16, 8, "os"),
    ("gemm_multi_ws_32", "gemm", ((64, 64, 64), (33, 65, 97), (1, 128, 100)), 32, 32, "ws"),
    ("conv_DP_depthwise_ws_16x8", "conv", (12, 12, 3, 3, 4, 1, 1), 16, 8, "ws"),  # split into 4 layers
    ("gemm_smallsram_ws_16", "gemm", (200, 100, 150), 16, 16, "ws", (4, 4, 2)),
    ("conv_smallsram_os_32", "conv", (30, 30, 3, 3, 32, 32, 1), 32, 32, "os", (8, 8, 4)),
    ("conv_smallsram_is_8x32", "conv", (16, 16, 3, 3, 8, 40, 2), 8, 32, "is", (2, 1, 1)),
    ("conv_smallsram_ws_64x16", "conv", (9, 9, 3, 3, 40, 70, 1), 64, 16, "ws", (16, 16, 8)),
    # AlexNet's "Total Cycles (incl. prefetch)" = 116,210 was measured with 64 kB SRAMs
    ("conv_alexnet1_ws_32_sram64", "conv", (224, 224, 11, 11, 3, 96, 4), 32, 32, "ws", (64, 64, 64)),
]

# USER-bandwidth cases for the stall model: every layer/array pair below runs on OS, WS and IS, each
# at three (SRAM sizes, bandwidth) settings drawn in turn from STALL_SRAMS and STALL_BANDWIDTHS, so
# the grid spans 1-100 words/cycle, buffers far smaller and far larger than the operands, and
# layers smaller and larger than the array. Plus the 3x3x256->256 conv on 32x32 OS at 10 words/cycle.
STALL_LAYERS = [  # (tag, mode, dims, rows, cols)
    ("gemm_20x40x30_8x8", "gemm", (20, 40, 30), 8, 8),
    ("gemm_7x9x5_16x16", "gemm", (7, 9, 5), 16, 16),  # smaller than the array
    ("conv_6x6_c2_16x16", "conv", (6, 6, 3, 3, 2, 5, 1), 16, 16),  # smaller than the array
    ("conv_12x12_c16_16x16", "conv", (12, 12, 3, 3, 16, 24, 1), 16, 16),
    ("gemm_64x48x96_16x16", "gemm", (64, 48, 96), 16, 16),
    ("conv_8x8_c64_32x32", "conv", (8, 8, 3, 3, 64, 64, 1), 32, 32),
    ("conv_15x14_s2_8x32", "conv", (15, 14, 3, 3, 8, 24, 2), 8, 32),
]
STALL_SRAMS = [(1, 1, 1), (4, 4, 2), (256, 256, 128), (2, 8, 1), (16, 16, 8), (64, 64, 64)]
STALL_BANDWIDTHS = [1, 2, 5, 10, 20, 50, 100, 3, 30]


def stall_cases() -> list[tuple]:
    """The USER-bandwidth cases: (name, mode, dims, rows, cols, dataflow, sram_kb, bandwidth)."""
    cases, k = [], 0
    for tag, mode, dims, rows, cols in STALL_LAYERS:
        for dataflow in ("os", "ws", "is"):
            for _ in range(3):
                sram, bw = STALL_SRAMS[k % len(STALL_SRAMS)], STALL_BANDWIDTHS[k % len(STALL_BANDWIDTHS)]
                cases.append((f"{tag}_{dataflow}_s{sram[0]}-{sram[1]}-{sram[2]}_bw{bw}", mode, dims, rows, cols,
                              dataflow, sram, bw))
                k += 1
    cases.append(("conv_7x7_c256_k256_32x32_os_bw10", "conv", (7, 7, 3, 3, 256, 256, 1), 32, 32, "os", SRAM_KB, 10))
    alexnet = ("conv", (224, 224, 11, 11, 3, 96, 4), 32, 32, "ws", (64, 64, 64))
    for bank, ofmap in ((10, 10), (10, 100), (20, 10)):  # SPEC_STALL_ROWS
        cases.append((f"conv_alexnet1_ws_32_sram64_bank{bank}_bw{ofmap}", *alexnet, (bank, ofmap)))
    return cases


# Regression rows 1-7 (PARITY_ROWS of tests/sim/test_systolic.py; row 7's incl.-prefetch figure measured
# with 64 kB SRAMs): values to reproduce.
SPEC_ROWS = {
    "gemm_small_os": {"total_cycles": 659}, "gemm_small_ws": {"total_cycles": 839},
    "gemm_small_is": {"total_cycles": 743}, "conv_10x10_os_16x8": {"total_cycles": 695},
    "conv_10x10_ws_16x8": {"total_cycles": 917}, "conv_10x10_is_16x8": {"total_cycles": 1391},
    "conv_alexnet1_ws_32": {"total_cycles": 112_283, "overall_util": 91.68, "mapping_efficiency": 94.53},
    "conv_alexnet1_ws_32_sram64": {"total_cycles": 112_283, "total_cycles_incl_prefetch": 116_210},
}
# AlexNet conv1 stall cycles in USER mode with 64 kB SRAMs, measured earlier with SCALE-Sim 3.0.0
# (bank bandwidth, Bandwidth = 10, 10 / 10, 100 / 20, 10): each regeneration must reproduce them.
SPEC_STALL_ROWS = {"conv_alexnet1_ws_32_sram64_bank10_bw10": {"stall_cycles": 329_707},
                   "conv_alexnet1_ws_32_sram64_bank10_bw100": {"stall_cycles": 323_292},
                   "conv_alexnet1_ws_32_sram64_bank20_bw10": {"stall_cycles": 231_018}}


def layers_of(dims) -> list[tuple]:
    """The layer tuples of a case's dims (one layer, or a tuple of layers)."""
    return list(dims) if isinstance(dims[0], tuple) else [dims]


def write_case(name, mode, dims, rows, cols, dataflow, case_dir: Path = DATA / "cases",
               sram_kb: tuple[int, int, int] = SRAM_KB, bandwidth: int | tuple[int, int] | None = None
               ) -> tuple[Path, Path]:
    """Write one case's v3 .cfg and topology CSV (header row, then ``name, dims...,`` rows with
    the trailing comma SCALE-Sim requires) into ``case_dir``; layer i is named ``{name}_{i}``.
    ``bandwidth`` None: ``InterfaceBandwidth: CALC``; else ``USER`` with both SRAM bank bandwidths
    and ``Bandwidth`` set to it (words/cycle), or to its two values (bank, OFMAP) if a pair."""
    case_dir.mkdir(parents=True, exist_ok=True)
    cfg = case_dir / f"{name}.cfg"
    ifmap_kb, filter_kb, ofmap_kb = sram_kb
    bank, ofmap = (10, 10) if bandwidth is None else bandwidth if isinstance(bandwidth, tuple) else (bandwidth,) * 2
    cfg.write_text(CFG.format(name=name, rows=rows, cols=cols, dataflow=dataflow,
                              ifmap_kb=ifmap_kb, filter_kb=filter_kb, ofmap_kb=ofmap_kb,
                              bank_bandwidth=bank, bandwidth=ofmap, interface="CALC" if bandwidth is None else "USER"))
    topo = case_dir / f"{name}.csv"
    header = GEMM_HEADER if mode == "gemm" else CONV_HEADER
    topo.write_text(header + "\n" + "".join(f"{name}_{i}, {', '.join(map(str, d))},\n"
                                            for i, d in enumerate(layers_of(dims))))
    return cfg, topo


def expanded_layers(name: str, mode: str, dims) -> list[tuple]:
    """Layers as SCALE-Sim sees them: a conv layer whose name contains "DP" becomes one layer per
    input channel, each with channels = 1 and the same number of filters."""
    out = []
    for i, d in enumerate(layers_of(dims)):
        if mode == "conv" and "DP" in f"{name}_{i}":
            out += [d[:4] + (1,) + d[5:]] * d[4]
        else:
            out.append(d)
    return out


DETAIL_COLUMNS = {"DRAM IFMAP Start Cycle": "dram_ifmap_start", "DRAM IFMAP Stop Cycle": "dram_ifmap_stop",
                  "DRAM IFMAP Reads": "dram_ifmap_reads", "DRAM Filter Start Cycle": "dram_filter_start",
                  "DRAM Filter Stop Cycle": "dram_filter_stop", "DRAM Filter Reads": "dram_filter_reads",
                  "DRAM OFMAP Start Cycle": "dram_ofmap_start", "DRAM OFMAP Stop Cycle": "dram_ofmap_stop",
                  "DRAM OFMAP Writes": "dram_ofmap_writes"}


def _report(run_dir: Path, name: str) -> pd.DataFrame:
    table = pd.read_csv(run_dir / name, skipinitialspace=True)
    table.columns = [c.strip() for c in table.columns]
    return table


def run_case(case, case_dir: Path = DATA / "cases") -> list[dict]:
    """Run one case (``(name, mode, dims, rows, cols, dataflow[, sram_kb[, bandwidth]])``) through
    SCALE-Sim; one dict per layer with the COMPUTE_REPORT and DETAILED_ACCESS_REPORT DRAM columns."""
    name, mode, dims, r, c, df, *rest = case
    sram = rest[0] if rest else SRAM_KB
    bandwidth = rest[1] if len(rest) > 1 else None
    cfg, topo = write_case(name, mode, dims, r, c, df, case_dir, sram, bandwidth)
    with tempfile.TemporaryDirectory() as out:
        report, _ = run_scalesim(cfg, topo, out, gemm=mode == "gemm")
        detail = _report(report.attrs["outdir"], "DETAILED_ACCESS_REPORT.csv")
    layers = expanded_layers(name, mode, dims)
    assert len(report) == len(layers), f"{name}: {len(report)} layers reported, {len(layers)} expected"
    dim_cols = GEMM_COLS if mode == "gemm" else CONV_COLS
    rows = []
    for (_, rep), (_, det), d in zip(report.iterrows(), detail.iterrows(), layers):
        rows.append({"case": name, "mode": mode, "dataflow": df, "rows": r, "cols": c,
                     "cfg": cfg.relative_to(case_dir.parent).as_posix(),
                     "topology": topo.relative_to(case_dir.parent).as_posix(),
                     "layer": int(rep["LayerID"]), **dict(zip(dim_cols, d)),
                     "ifmap_sram_kb": sram[0], "filter_sram_kb": sram[1], "ofmap_sram_kb": sram[2],
                     "bandwidth": bandwidth[0] if isinstance(bandwidth, tuple) else bandwidth,
                     "ofmap_bandwidth": bandwidth[1] if isinstance(bandwidth, tuple) else bandwidth,
                     "total_cycles_incl_prefetch": int(rep["Total Cycles (incl. prefetch)"]),
                     "total_cycles": int(rep["Total Cycles"]), "stall_cycles": int(rep["Stall Cycles"]),
                     "compute_cycles": int(rep["Total Cycles"]) - int(rep["Stall Cycles"]),
                     "overall_util": float(rep["Overall Util %"]),
                     "mapping_efficiency": float(rep["Mapping Efficiency %"]),
                     "compute_util": float(rep["Compute Util %"]),
                     **{short: int(det[long]) for long, short in DETAIL_COLUMNS.items()},
                     "wall_s": round(report.attrs["wall_s"], 3), "sim_s": round(report.attrs["sim_s"], 3),
                     "peak_rss_mb": round(report.attrs["peak_rss_mb"], 1)})
    return rows


def check_spec_rows(table: pd.DataFrame, rows: dict = SPEC_ROWS) -> None:
    """Assert that regression rows (SPEC_ROWS, or SPEC_STALL_ROWS) are reproduced (utilisations to 2
    decimals)."""
    for case, expected in rows.items():
        row = table[table["case"] == case].iloc[0]
        for column, value in expected.items():
            got = round(row[column], 2) if isinstance(value, float) else row[column]
            assert got == value, f"{case}: {column} = {row[column]}, regression table says {value}"


def run_all(cases, case_dir: Path, columns: list[str]) -> pd.DataFrame:
    """Run every case (dropping case files of cases no longer listed) into one table."""
    wanted = {f"{case[0]}.{ext}" for case in cases for ext in ("cfg", "csv")}
    for stale in case_dir.glob("*"):
        if stale.is_file() and stale.name not in wanted:
            stale.unlink()
    rows = []
    for case in cases:
        case_rows = run_case(case, case_dir)
        rows += case_rows
        print(f"{case[0]:<48} {len(case_rows)} layer(s) {sum(r['total_cycles'] for r in case_rows):>9} cycles "
              f"{sum(r['stall_cycles'] for r in case_rows):>9} stalls {case_rows[0]['wall_s']:7.2f} s", flush=True)
    table = pd.DataFrame(rows, columns=columns)
    for col in CONV_COLS + GEMM_COLS:
        table[col] = table[col].astype("Int64")
    return table


BASE_COLUMNS = (["case", "mode", "dataflow", "rows", "cols", "cfg", "topology", "layer"] + CONV_COLS + GEMM_COLS
                + ["ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "total_cycles_incl_prefetch", "total_cycles",
                   "stall_cycles", "overall_util", "mapping_efficiency", "compute_util"])
TIMING_COLUMNS = ["wall_s", "sim_s", "peak_rss_mb"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalls", action="store_true",
                        help="run only the USER-bandwidth stall cases (tests/data/scalesim/stalls.csv)")
    parser.add_argument("--compute", action="store_true",
                        help="run only the CALC-mode compute cases (tests/data/scalesim/reference.csv)")
    args = parser.parse_args(argv)
    if not args.stalls:
        table = run_all(CASES, DATA / "cases", BASE_COLUMNS + TIMING_COLUMNS)
        check_spec_rows(table)
        table.to_csv(DATA / "reference.csv", index=False)
        print(f"wrote {DATA / 'reference.csv'}: {len(CASES)} cases, {len(table)} layers, "
              f"SCALE-Sim wall time {table.drop_duplicates('case')['wall_s'].sum():.1f} s")
    if not args.compute:
        cases = stall_cases()
        split = BASE_COLUMNS.index("total_cycles_incl_prefetch")
        columns = (BASE_COLUMNS[:split] + ["bandwidth", "ofmap_bandwidth"] + BASE_COLUMNS[split:] + ["compute_cycles"]
                   + list(DETAIL_COLUMNS.values()) + TIMING_COLUMNS)
        table = run_all(cases, DATA / "stall_cases", columns)
        check_spec_rows(table, SPEC_STALL_ROWS)
        table.to_csv(DATA / "stalls.csv", index=False)
        print(f"wrote {DATA / 'stalls.csv'}: {len(cases)} USER-bandwidth cases, "
              f"{(table['stall_cycles'] > 0).sum()} with stalls, SCALE-Sim wall time {table['wall_s'].sum():.1f} s")


if __name__ == "__main__":
    main()
