"""Results of running a trace on a hardware model: a per-op table, totals, per-work-unit metrics.

Per-op columns: identity (``IDENTITY``), timing (start/end cycle, ``time_s``), the protocol's
cost columns (``cycles``, ``compute_cycles``, ``stall_cycles``, ``macs``,
``bytes_<level>_{read,write}`` for each memory level the model declares, ``energy_<component>_pj``
and their sum ``energy_pj``), ``utilization`` (when the model has a peak), ``bound`` (compute or
memory) and whatever the family adds; columns an op kind does not produce are NaN for it. The
family's ``summed_columns`` are summed into the totals (NaN counting as 0), and its
``ratio_columns`` divide two totals.

Totals add, beside the sums, per-work-unit metrics. The work of a trace is ``meta["work"]``
(``{"unit": "token", "count": 8}`` for a decode step of batch 8; frames or samples for CNNs;
``run``, 1 when a trace does not say): latency and energy per unit, units per second, TOPS
(2 ops per MAC), TOPS/W and units per second per mm², so designs that do different amounts of
work per step (batch sizes, prompt lengths) compare fairly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from sim.models import MemoryLevel
from sim.tech import TechValue

if TYPE_CHECKING:
    import pandas as pd

IDENTITY = ("id", "name", "layer", "phase", "kind")
ENERGY = re.compile(r"energy_(\w+)_pj")  # an energy component column; their sum is energy_pj


@lru_cache(maxsize=1024)
def is_energy(column: str) -> bool:
    """Whether a column is an energy component (``ENERGY``), remembered per name."""
    return ENERGY.fullmatch(column) is not None
SUMMED = ("cycles", "compute_cycles", "stall_cycles", "time_s", "macs", "energy_pj")
DEFAULT_WORK = {"unit": "run", "count": 1}


WORK_METRICS = ("time_per_unit_s", "energy_per_unit_pj", "edp_per_unit_js", "units_per_s", "tops", "tops_per_w",
                "units_per_s_per_mm2")


def work_metrics(t) -> dict:
    """Per-work-unit metrics (``WORK_METRICS``) from totals: a dict of numbers or a DataFrame of rows
    (sweeps derive them from the stored totals instead of storing them)."""
    count, time_s, energy_j = t["work_units"], t["time_s"], t["energy_pj"] * 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        units_per_s = np.divide(count, time_s)
        return {"time_per_unit_s": time_s / count, "energy_per_unit_pj": t["energy_pj"] / count,
                "edp_per_unit_js": energy_j / count * time_s / count, "units_per_s": units_per_s,
                "tops": np.divide(2 * t["macs"], time_s) / 1e12, "tops_per_w": np.divide(2 * t["macs"], energy_j) / 1e12,
                "units_per_s_per_mm2": units_per_s / t["area_mm2"]}


@dataclass
class Result:
    """Per-op costs as numpy ``columns`` (and as the ``ops`` DataFrame, built on first use), their
    totals, the design's area, the cited per-unit costs used and the model's formulas."""

    columns: dict[str, np.ndarray]
    area: dict[str, TechValue]
    basis: dict[str, TechValue]
    clock_hz: float
    peak_macs_per_cycle: float | None
    memory_levels: tuple[MemoryLevel, ...]
    formulas: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    summed_columns: tuple[str, ...] = ()
    op_series: tuple[str, ...] = ()
    ratio_columns: tuple[tuple[str, tuple[str, str]], ...] = ()

    @cached_property
    def ops(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.columns)

    @property
    def work(self) -> tuple[str, float]:
        """(unit, count) of the work the trace does, e.g. ("token", 8) (validated with the trace)."""
        work = self.meta.get("work") or DEFAULT_WORK
        return work["unit"], float(work["count"])

    def energy_components(self) -> list[str]:
        return [c for c in self.columns if is_energy(c)]

    def byte_columns(self) -> list[str]:
        return [f"bytes_{level.name}_{rw}" for level in self.memory_levels for rw in ("read", "write")]

    @cached_property
    def totals(self) -> dict[str, float | str]:
        """Sums over ops, utilization, area (mm^2), EDP, the memory-bound share of time and the
        per-work-unit metrics (module docstring)."""
        t = self._sums
        return {**t, **work_metrics(t)}

    def stored_totals(self) -> dict[str, float | str]:
        """The totals without those ``work_metrics`` derives (what a sweep stores per point)."""
        return dict(self._sums)

    @cached_property
    def _sums(self) -> dict[str, float | str]:
        """``totals`` without the per-work-unit metrics."""
        c = self.columns
        names = (*SUMMED, *self.byte_columns(), *self.energy_components(), *self.summed_columns)
        block = np.array([c[k] for k in names], dtype=float)  # one sum for ~20 columns of few ops
        block[np.isnan(block)] = 0.0  # as np.nansum, without its per-call overhead
        t: dict[str, float | str] = dict(zip(names, block.sum(axis=1).tolist()))
        for name, (numerator, denominator) in self.ratio_columns:
            t[name] = t[numerator] / t[denominator] if t[denominator] else np.nan
        peak = self.peak_macs_per_cycle
        t["peak_macs_per_cycle"] = float(peak) if peak is not None else np.nan
        t["utilization"] = t["macs"] / (t["cycles"] * peak) if peak is not None and t["cycles"] else np.nan
        t["clock_hz"] = self.clock_hz
        for level in self.memory_levels:
            if level.bytes_per_cycle is not None:
                t[f"roof_{level.name}_bytes_per_s"] = level.bytes_per_cycle * self.clock_hz
        t["area_mm2"] = sum(v.value for v in self.area.values())
        t.update({f"area_{k}_mm2": v.value for k, v in self.area.items()})
        t["edp_js"] = t["energy_pj"] * 1e-12 * t["time_s"]
        memory_bound = c["bound"] == "memory"
        t["memory_bound_share"] = int(c["cycles"] @ memory_bound) / t["cycles"] if t["cycles"] else 0.0
        t["work_unit"], t["work_units"] = self.work
        accuracy = self.meta.get("accuracy")
        if accuracy:
            t["accuracy_sqnr_db"] = float(accuracy["sqnr_db"])
        return t

    def basis_records(self) -> list[dict]:
        """The cited per-unit costs behind every energy and area number (quantity, value, unit, source)."""
        return [{"quantity": k, "value": v.value, "unit": v.unit, "source": v.source}
                for k, v in {**self.basis, **{f"area_{k}": v for k, v in self.area.items()}}.items()]

    def basis_table(self) -> pd.DataFrame:
        """``basis_records`` as a table."""
        import pandas as pd

        return pd.DataFrame(self.basis_records())
