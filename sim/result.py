"""Results of running a trace on a hardware model: a per-op table plus totals and area.

Per-op columns (``COLUMNS``): cycles (incl. stalls), compute_cycles, stall_cycles, start/end
cycle, time_s, energy_<component>_pj and their sum energy_pj, bytes_{sram,dram}_{read,write},
macs, utilization and mapping_efficiency. Models may add columns (e.g. ``compute_cycles_true``);
columns an op kind does not produce are NaN for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from sim.tech import TechValue

IDENTITY = ("id", "name", "layer", "phase", "kind")
COLUMNS = ("cycles", "compute_cycles", "stall_cycles", "macs", "utilization", "mapping_efficiency",
           "bytes_sram_read", "bytes_sram_write", "bytes_dram_read", "bytes_dram_write")
SUMMED = ("cycles", "compute_cycles", "stall_cycles", "time_s", "macs", "energy_pj",
          "bytes_sram_read", "bytes_sram_write", "bytes_dram_read", "bytes_dram_write")


@dataclass
class Result:
    """Per-op costs as numpy ``columns`` (and as the ``ops`` DataFrame, built on first use), their
    totals, the design's area and the cited per-unit costs used."""

    columns: dict[str, np.ndarray]
    area: dict[str, TechValue]
    basis: dict[str, TechValue]
    array_macs: int
    clock_hz: float
    meta: dict = field(default_factory=dict)

    @cached_property
    def ops(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)

    def energy_components(self) -> list[str]:
        return [c for c in self.columns if c.startswith("energy_") and c != "energy_pj"]

    @property
    def totals(self) -> dict[str, float]:
        """Sums over ops, overall utilization, energy by component and area (mm^2)."""
        t = {c: float(np.sum(self.columns[c])) for c in (*SUMMED, *self.energy_components())}
        t["utilization"] = t["macs"] / (t["cycles"] * self.array_macs) if t["cycles"] else 0.0
        t["array_macs"] = self.array_macs
        t["area_mm2"] = sum(v.value for v in self.area.values())
        t.update({f"area_{k}_mm2": v.value for k, v in self.area.items()})
        t["edp_js"] = t["energy_pj"] * 1e-12 * t["time_s"]
        return t

    def basis_table(self) -> pd.DataFrame:
        """The cited per-unit costs behind every energy and area number (value, unit, source)."""
        rows = [{"quantity": k, "value": v.value, "unit": v.unit, "source": v.source}
                for k, v in {**self.basis, **{f"area_{k}": v for k, v in self.area.items()}}.items()]
        return pd.DataFrame(rows)
