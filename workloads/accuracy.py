"""The accuracy proxy of a quantized workload: the measured output SQNR of its format pair.

A trace whose weights (W) and activations (A) use a format pair measured on the real
all-MiniLM-L6-v2 (``workloads/data/minilm_output_sqnr.csv``, written by ``python -m
workloads.minilm``: mean over its linear layers of the output SQNR with both operands quantized)
carries that SQNR in ``meta["accuracy"]``; results and sweeps report it as ``accuracy_sqnr_db``
and reports may rank designs by it. It is a proxy measured on one small model, not the accuracy
of the workload itself; pairs that were not measured carry none.
"""

from __future__ import annotations

import csv
from functools import lru_cache

PROXY = "MiniLM output SQNR of the (W, A) format pair"


@lru_cache(maxsize=1)
def _measured() -> dict[tuple[str, str], float]:
    from workloads.minilm import OUTPUT_SQNR_CSV  # minilm imports pandas and the numerics: only when needed

    with open(OUTPUT_SQNR_CSV) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {(r["weight_format"], r["act_format"]): float(r["sqnr_db_mean"]) for r in rows}


def proxy(formats: dict[str, str]) -> dict | None:
    """``{"sqnr_db": ..., "proxy": ...}`` for a workload's operand formats, or None if not measured."""
    sqnr = _measured().get((formats.get("W"), formats.get("A")))
    return None if sqnr is None else {"sqnr_db": sqnr, "proxy": PROXY}
