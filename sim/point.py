"""A design point: a hardware config (source + dotted overrides) and a workload spec.

``point_key`` hashes the canonical point together with the code version, so cached results are
reused exactly when nothing that could change them has changed. ``evaluate_point`` runs it and
returns one flat row: the point's parameters (``p.<name>``), the family (``model``) and config
name, the totals of ``Result.totals`` except the per-work-unit metrics (``sim.result.work_metrics``
derives those when a sweep's rows are read), the per-op series as numpy arrays (``op_*``: name, kind,
layer, cycles, MACs, bound, energy, the bytes of every memory level that has a bandwidth roof,
and the family's own ``op_series``)
and JSON provenance (``point_json``, ``basis_json``, ``formulas_json``). This row is the unit
sweeps store and reports read.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.config import apply_overrides, load_config, raw_config
from sim.engine import run
from sim.models import build_model

OP_SERIES = {"op_name": "name", "op_kind": "kind", "op_layer": "layer", "op_cycles": "cycles", "op_macs": "macs",
             "op_bound": "bound", "op_energy_pj": "energy_pj"}
_SOURCE_ROOTS = ("sim", "workloads")


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus a hash of every source and data file of the simulator and workloads."""
    digest = hashlib.sha256(__version__.encode())
    top = Path(__file__).resolve().parent.parent
    for root in _SOURCE_ROOTS:
        for path in sorted((top / root).rglob("*")):
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(top)).encode())
                digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def canonical_point(config: str | Path | dict, overrides: dict[str, Any], workload: dict) -> dict:
    """The fully resolved point: config mapping with overrides applied, and the workload spec."""
    return {"config": apply_overrides(raw_config(config), overrides), "workload": dict(workload)}


def point_key(point: dict) -> str:
    """Stable hash of a canonical point, the code version and the source of its family when the
    family is not built in (so editing a plug-in family invalidates its cached points)."""
    model = point["config"].get("model")
    blob = json.dumps({"point": point, "code": code_version(), "family": _family_source(model if isinstance(model, str)
                                                                                          else "")},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _family_source(name: str) -> str:
    """A digest of a plug-in family's config and model source ('' for built-in or unknown families);
    where the source cannot be read (a class typed into an interpreter), a value unique to this
    process, so that nothing cached by another process is reused for it."""
    from sim.models import BUILTIN, families

    family = families().get(name)
    return "" if family is None or name in BUILTIN else _digest(family.config, family.model)


@lru_cache(maxsize=64)
def _digest(*objects) -> str:
    digest = hashlib.sha256()
    for obj in objects:
        try:
            digest.update(inspect.getsource(obj).encode())
        except (OSError, TypeError):
            digest.update(f"{id(obj)}-{os.getpid()}-{time.time_ns()}".encode())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=32)
def _trace(workload_json: str):
    from workloads import build

    return build(json.loads(workload_json))


@lru_cache(maxsize=256)
def _records_json(records: tuple[tuple[str, type, float, str, str], ...]) -> str:
    """The JSON list of basis records (quantity, value, unit, source), remembered by content (the
    value's type too, so 1 and 1.0 stay apart): a sweep's points share a few bases, and encoding
    one costs more than the rest of its row."""
    return json.dumps([{"quantity": q, "value": v, "unit": u, "source": src} for q, _, v, u, src in records])


@lru_cache(maxsize=256)
def _formulas_json(formulas: tuple[tuple[str, str], ...]) -> str:
    """The JSON object of a model's formulas, remembered by content like ``_records_json``."""
    return json.dumps(dict(formulas))


def flat_param(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, mappings and lists as sorted JSON."""
    return value if value is None or np.isscalar(value) else json.dumps(value, sort_keys=True)


def evaluate_point(point: dict, params: dict[str, Any] | None = None) -> dict:
    """Run one canonical point; return its flat result row (see module docstring)."""
    config = load_config(point["config"])
    trace = _trace(json.dumps(point["workload"], sort_keys=True))
    model = build_model(config)
    result = run(trace, model)
    row: dict[str, Any] = {f"p.{k}": flat_param(v) for k, v in (params or {}).items()}
    row["model"] = config.model
    row["config_name"] = model.name
    row.update(result.stored_totals())
    columns = result.columns
    for col, src in OP_SERIES.items():
        row[col] = columns[src]
    for src in result.op_series:
        row[f"op_{src}"] = columns[src]
    for level in result.memory_levels:
        if level.bytes_per_cycle is not None:
            row[f"op_bytes_{level.name}"] = (columns[f"bytes_{level.name}_read"]
                                             + columns[f"bytes_{level.name}_write"])
    row["point_json"] = json.dumps(point, sort_keys=True, default=str)
    row["basis_json"] = _records_json(tuple((r["quantity"], type(r["value"]), r["value"], r["unit"], r["source"])
                                            for r in result.basis_records()))
    row["formulas_json"] = _formulas_json(tuple(result.formulas.items()))
    return row
