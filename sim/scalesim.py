"""Import SCALE-Sim v2/v3 ``.cfg`` and topology files; write SCALE-Sim's ``COMPUTE_REPORT.csv``.

A ``.cfg`` becomes a systolic config in ``mode: scalesim`` (SCALE-Sim's ceil output size, no
padding, serial folds, the off-by-one, 1-byte words), clocked at a nominal 1 GHz so that its
words/cycle bandwidth reads as GB/s. ``InterfaceBandwidth: CALC`` (or a v2 file without it)
means DRAM never stalls, as in SCALE-Sim; ``USER`` applies SCALE-Sim's double-buffered memory
model (``sim.models.systolic.scalesim_memory``) with its IFMAP/filter bandwidths from the
``[layout]`` bank bandwidths and its OFMAP bandwidth from ``Bandwidth``, as SCALE-Sim 3.0.0 does.
Topology rows are ``name, H, W, R, S, C, M, stride,`` (conv) or ``name, M, N, K,`` (``-i gemm``);
the trailing comma SCALE-Sim requires is tolerated but not needed. A dense ``N:M`` column
(``1:1``) is accepted; real N:M sparsity is not supported and is rejected. As in SCALE-Sim, a conv
layer whose name contains "DP" is split into one single-channel layer per input channel (each
keeping the row's filter count, so true depthwise rows give Num Filter = 1).
"""

from __future__ import annotations

import configparser
import csv
from pathlib import Path

import numpy as np

from sim.config import load_config
from sim.engine import run
from sim.errors import ConfigError, TraceFormatError, field_message
from sim.files import read_text
from sim.models import build_model
from sim.models.systolic import SystolicConfig
from sim.result import Result
from sim.trace import MAX_DIM, Trace, TraceBuilder

CONV_FIELDS = ("H", "W", "R", "S", "C", "K", "stride")
GEMM_FIELDS = ("M", "N", "K")
REPORT_COLUMNS = ("LayerID", "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles", "Overall Util %",
                  "Mapping Efficiency %", "Compute Util %")
_ARCH_KEYS = {"arrayheight": "rows", "arraywidth": "cols", "ifmapsramszkb": "ifmap_kb",
              "filtersramszkb": "filter_kb", "ofmapsramszkb": "ofmap_kb", "dataflow": "dataflow"}


def read_cfg(path: str | Path) -> SystolicConfig:
    """Translate a SCALE-Sim v2/v3 ``.cfg`` into a validated systolic config in SCALE-Sim mode."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None)  # values are literal: '%' is not special
    try:
        parser.read_string(read_text(path, "SCALE-Sim .cfg"), source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{path}: not a SCALE-Sim .cfg file: {str(exc).splitlines()[0]}") from None
    if "architecture_presets" not in parser:
        raise ConfigError(f"{path}: section [architecture_presets] missing; a SCALE-Sim .cfg needs it")
    arch = parser["architecture_presets"]
    values = {}
    for key, field in _ARCH_KEYS.items():
        if key not in arch:
            raise ConfigError(f"{path}: [architecture_presets] {key}: missing (required)")
        values[field] = arch[key].strip().lower() if field == "dataflow" else _number(path, key, arch[key])
    interface = parser.get("run_presets", "interfacebandwidth", fallback="CALC").strip().upper()
    if interface not in ("CALC", "USER"):
        raise ConfigError(f"{path}: [run_presets] InterfaceBandwidth: got {interface!r}; allowed: CALC, USER")
    bandwidth, user = float("inf"), None
    if interface == "USER":
        if "bandwidth" not in arch:
            raise ConfigError(f"{path}: [architecture_presets] Bandwidth: missing (required with InterfaceBandwidth USER)")
        bandwidth = _number(path, "bandwidth", arch["bandwidth"])
        layout = parser["layout"] if "layout" in parser else {}
        user = {"ofmap": bandwidth, **{side: _number(path, key, layout.get(key, "10"))
                                      for side, key in (("ifmap", "ifmapsrambankbandwidth"),
                                                        ("filter", "filtersrambankbandwidth"))}}
    name = parser.get("general", "run_name", fallback=path.stem).strip()
    raw = {"model": "systolic", "name": name, "mode": "scalesim", "clock_ghz": 1.0,
           "array": {k: values[k] for k in ("rows", "cols", "dataflow")},
           "sram": {k: values[k] for k in ("ifmap_kb", "filter_kb", "ofmap_kb")},
           "dram": {"kind": "ddr4", "bandwidth_gbs": bandwidth}, "scalesim_bandwidth": user}
    return load_config(raw)


def _number(path: Path, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{path}: {key}: got {text.strip()!r}; allowed: a number") from None
    return int(value) if value.is_integer() else value


def read_topology(path: str | Path, gemm: bool = False) -> Trace:
    """Read a SCALE-Sim topology CSV (conv, or GEMM with ``gemm=True``) into a trace."""
    path = Path(path)
    fields = GEMM_FIELDS if gemm else CONV_FIELDS
    lines = read_text(path, "SCALE-Sim topology").splitlines()
    try:
        rows = [[c.strip() for c in r] for r in csv.reader(lines)]
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a CSV file: {exc}") from None
    rows = [r[:-1] if r and r[-1] == "" else r for r in rows if any(c for c in r)]
    if len(rows) < 2:
        raise ConfigError(f"{path}: needs a header row and at least one layer row")
    builder = TraceBuilder(meta={"source": "scalesim", "topology": path.name, "gemm": gemm})
    for line, row in enumerate(rows[1:], start=2):
        if len(row) not in (len(fields) + 1, len(fields) + 2):
            raise ConfigError(f"{path}:{line}: got {len(row)} fields; allowed: name, {', '.join(fields)} "
                              f"[, N:M] ({'GEMM' if gemm else 'conv'} topology)")
        if len(row) == len(fields) + 2 and row[-1] not in ("1:1", ""):
            raise ConfigError(f"{path}:{line}: sparsity: got {row[-1]!r}; allowed: 1:1 (N:M sparsity is not supported)")
        dims = {}
        for field, text in zip(fields, row[1:]):
            allowed = f"an integer from 1 to {MAX_DIM}"
            try:
                dims[field] = int(text)
            except ValueError:  # also a number of more than 4300 digits
                raise ConfigError(f"{path}:{line}: {field_message(field, text, allowed)}") from None
            if not 1 <= dims[field] <= MAX_DIM:
                raise ConfigError(f"{path}:{line}: {field_message(field, dims[field], allowed)}")
        if gemm:
            builder.add("gemm", row[0], dims, layer=line - 2)
        else:
            if dims["R"] > dims["H"] or dims["S"] > dims["W"]:
                raise ConfigError(f"{path}:{line}: filter {dims['R']}x{dims['S']} larger than ifmap "
                                  f"{dims['H']}x{dims['W']}; allowed: filter <= ifmap")
            if "DP" in row[0]:  # SCALE-Sim's depthwise rule: one single-channel layer per channel
                for channel in range(dims["C"]):
                    builder.add("conv2d", f"{row[0]}Channel_{channel}", {**dims, "C": 1}, layer=line - 2, phase="conv")
            else:
                builder.add("conv2d", row[0], dims, layer=line - 2, phase="conv")
    try:
        return builder.build()
    except TraceFormatError as exc:  # a layer too large for the models' integer arithmetic
        raise ConfigError(f"{path}: {exc}") from None


def compute_report(result: Result) -> dict[str, np.ndarray]:
    """SCALE-Sim's COMPUTE_REPORT columns (one entry per layer) of a result in SCALE-Sim mode."""
    ops, pes = result.columns, result.peak_macs_per_cycle
    return {
        "LayerID": np.arange(len(ops["cycles"])),
        "Total Cycles (incl. prefetch)": ops["cycles_incl_prefetch"].astype(np.int64),
        "Total Cycles": ops["cycles"],
        "Stall Cycles": ops["stall_cycles"],
        "Overall Util %": 100 * ops["macs"] / (ops["cycles"] * pes),
        "Mapping Efficiency %": 100 * ops["mapping_efficiency"],
        "Compute Util %": 100 * ops["compute_utilization"],
    }


def convert(cfg: str | Path, topology: str | Path, out_dir: str | Path, gemm: bool = False) -> Path:
    """Run SCALE-Sim inputs through the systolic model; write COMPUTE_REPORT.csv and DETAILED.csv."""
    config = read_cfg(cfg)
    trace = read_topology(topology, gemm=gemm)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = run(trace, build_model(config))
    write_csv(out / "COMPUTE_REPORT.csv", compute_report(result))
    write_csv(out / "DETAILED.csv", result.columns)
    return out / "COMPUTE_REPORT.csv"


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Columns as a CSV table, written as pandas' ``to_csv(index=False)`` writes them (NaN as an empty
    field, floats in Python's shortest round-trip form) but without importing pandas, whose import
    alone would take longer than a whole ``dse scalesim`` run."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*(_cells(values) for values in columns.values())))


def _cells(values: np.ndarray) -> list:
    return ["" if isinstance(v, float) and v != v else v for v in np.asarray(values).tolist()]
