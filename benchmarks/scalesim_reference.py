"""Recipe: reference compute cycles from the real SCALE-Sim 3.0.0 for the parity tests.

Writes SCALE-Sim v3 ``.cfg`` and topology files for every case into ``tests/data/scalesim/cases``,
runs them through the real SCALE-Sim (``benchmarks/scalesim_env.py``) and writes
``tests/data/scalesim/reference.csv``. Run: ``python benchmarks/scalesim_reference.py``.
Cases cover GEMM and conv, OS/WS/IS, square and non-square arrays from 8x8 to 256x256, layers
smaller and larger than the array, dims not divisible by it, strides 1/2/4 and the ceil
output-size quirk ((H - R) mod stride != 0).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scalesim_env import run_scalesim

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "scalesim"
CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : 256
FilterSramSzkB : 256
OfmapSramSzkB : 128
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks : 1
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 1
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 1
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
GEMM_HEADER = "Layer, M, N, K,"

# (name, mode, dims, rows, cols, dataflow); conv dims: H, W, R, S, C, M(filters), stride; gemm: M, N, K.
CASES = [
    ("gemm_small_os", "gemm", (20, 40, 30), 8, 8, "os"),
    ("gemm_small_ws", "gemm", (20, 40, 30), 8, 8, "ws"),
    ("gemm_small_is", "gemm", (20, 40, 30), 8, 8, "is"),
    ("gemm_tall_os_16x8", "gemm", (100, 37, 53), 16, 8, "os"),
    ("gemm_tall_ws_8x32", "gemm", (100, 37, 53), 8, 32, "ws"),
    ("gemm_wide_is_64x16", "gemm", (29, 150, 70), 64, 16, "is"),
    ("gemm_tiny_on_256_ws", "gemm", (7, 9, 5), 256, 256, "ws"),
    ("gemm_tiny_on_256_os", "gemm", (7, 9, 5), 256, 256, "os"),
    ("gemm_decode_128_ws", "gemm", (1, 300, 260), 128, 128, "ws"),
    ("gemm_decode_128_is", "gemm", (1, 300, 260), 128, 128, "is"),
    ("gemm_32_os", "gemm", (130, 65, 97), 32, 32, "os"),
    ("conv_10x10_os_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "os"),
    ("conv_10x10_ws_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "ws"),
    ("conv_10x10_is_16x8", "conv", (10, 10, 3, 3, 4, 20, 1), 16, 8, "is"),
    ("conv_alexnet1_ws_32", "conv", (224, 224, 11, 11, 3, 96, 4), 32, 32, "ws"),
    ("conv_stride2_quirk_ws_8x32", "conv", (15, 14, 3, 3, 8, 24, 2), 8, 32, "ws"),
    ("conv_stride2_quirk_os_32", "conv", (15, 14, 3, 3, 8, 24, 2), 32, 32, "os"),
    ("conv_stride4_is_16x8", "conv", (23, 23, 5, 5, 3, 16, 4), 16, 8, "is"),
    ("conv_1x1_os_64x16", "conv", (12, 12, 1, 1, 64, 48, 1), 64, 16, "os"),
    ("conv_small_on_128_ws", "conv", (6, 6, 3, 3, 2, 5, 1), 128, 128, "ws"),
    ("conv_small_on_256_is", "conv", (6, 6, 3, 3, 2, 5, 1), 256, 256, "is"),
    ("conv_deep_ws_64x16", "conv", (9, 9, 3, 3, 40, 70, 1), 64, 16, "ws"),
    ("conv_stride2_is_32", "conv", (17, 16, 3, 3, 16, 33, 2), 32, 32, "is"),
    ("conv_5x5_os_8x8", "conv", (12, 11, 5, 5, 3, 10, 1), 8, 8, "os"),
]
CONV_COLS = ["ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride"]
GEMM_COLS = ["M", "N", "K"]


def write_case(name, mode, dims, rows, cols, dataflow) -> tuple[Path, Path]:
    case_dir = DATA / "cases"
    case_dir.mkdir(parents=True, exist_ok=True)
    cfg = case_dir / f"{name}.cfg"
    cfg.write_text(CFG.format(name=name, rows=rows, cols=cols, dataflow=dataflow))
    topo = case_dir / f"{name}.csv"
    header = GEMM_HEADER if mode == "gemm" else CONV_HEADER
    topo.write_text(f"{header}\n{name}, {', '.join(map(str, dims))},\n")
    return cfg, topo


def main() -> None:
    rows = []
    for name, mode, dims, r, c, df in CASES:
        cfg, topo = write_case(name, mode, dims, r, c, df)
        report, wall = run_scalesim(cfg, topo, gemm=mode == "gemm")
        rep = report.iloc[0]
        cols = GEMM_COLS if mode == "gemm" else CONV_COLS
        rows.append({"case": name, "mode": mode, "dataflow": df, "rows": r, "cols": c,
                     "cfg": cfg.relative_to(DATA).as_posix(), "topology": topo.relative_to(DATA).as_posix(),
                     **dict(zip(cols, dims)),
                     "total_cycles_incl_prefetch": rep.get("Total Cycles (incl. prefetch)"),
                     "total_cycles": rep["Total Cycles"], "stall_cycles": rep["Stall Cycles"],
                     "overall_util": rep["Overall Util %"], "mapping_efficiency": rep["Mapping Efficiency %"],
                     "compute_util": rep["Compute Util %"], "wall_s": round(wall, 3)})
        print(f"{name:<30} {rep['Total Cycles']:>10} cycles  {wall:6.2f} s", flush=True)
    pd.DataFrame(rows).to_csv(DATA / "reference.csv", index=False)
    print(f"wrote {DATA / 'reference.csv'}")


if __name__ == "__main__":
    main()
