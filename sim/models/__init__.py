"""Hardware model families: the registry, and the protocol every model implements.

A **family** is a kind of hardware model, selected by a config's ``model`` key. It lives in its
own module or package under ``sim/models/`` (or in a user's package) and registers a
:class:`Family`:

- ``config``: a strict pydantic schema (``sim.validation.Strict``) with ``model: Literal[name]``;
  ``sim.config.load_config`` validates the discriminated union of all registered schemas;
- ``model``: a callable from the validated config to an object implementing :class:`Model`;
- optionally ``sections``: report sections, each a callable ``(points, out_dir, table) ->
  (html, {png: caption}) | None`` that the report calls for sweeps of this family (``None``: not
  applicable to these points);
- ``description``: one line for ``dse list``;
- optionally ``metrics``: objectives a sweep may name beyond ``sim.pareto.METRICS`` (each a
  ``sim.pareto.Metric`` over a result column, e.g. one the family sums into its totals).

Built-in families (``BUILTIN``) are imported on first use. Other packages add families without
forking through the ``accel_dse.families`` entry-point group: each entry point names a
:class:`Family`, or a callable that registers families when called.

**The model protocol.** The engine (``sim.engine``) calls ``evaluate`` once per op kind of a
trace with an :class:`OpBatch` (dims, operand formats and each op's payload arrays; read-only, as
every run of the trace gets the same batches) and reads:

- ``cycles``, ``compute_cycles``, ``stall_cycles`` and ``macs`` per op, and
  ``bytes_<level>_read`` / ``bytes_<level>_write`` for every declared memory level: required; a
  missing or non-finite one is an error naming the model, the op kind and the column;
- ``energy_<component>_pj``: any components (a kind that lacks one spends 0 on it);
- ``memory_cycles`` (optional): the op's transfer time on its bandwidth-limiting level alone,
  which classifies the op as compute- or memory-bound (default: compared with the stall cycles);
- anything else: family columns, passed through to the result.

``peak_macs_per_cycle`` (``None`` where utilization does not apply, else > 0) defines
utilization; ``memory_levels`` name the levels reported, innermost first: the last is where an op
writes its outputs (a multi-unit system sends that many bytes to consumers on other units), and
a level with a bandwidth is a roof in the roofline plot; ``basis`` and ``area()`` hold cited
per-unit costs (``sim.tech.TechValue``); ``formulas`` state, in words, how energy and area follow
from counts and the basis (shown in reports). Optional: ``summed_columns`` (family columns summed
into the totals, so sweeps and reports see them), ``ratio_columns`` (a mapping ``name ->
(numerator, denominator)`` of totals divided after summing, e.g. a speed-up over a baseline: each a
column of the totals and of every sweep point, NaN where the denominator sums to 0; both must be
``cycles``, ``compute_cycles``, ``stall_cycles``, ``macs``, ``energy_pj`` or summed columns) and
``op_series`` (family columns stored per op with every sweep point), and ``fused_kinds`` with
``evaluate_fused``: disjoint groups of its kinds whose batches the engine passes together, as a
tuple in the group's order, when a trace holds two or more kinds of a group; ``evaluate_fused``
returns the columns of their ops batch after batch, the same values ``evaluate`` gives each batch
alone, in one call (per-call overhead, not arithmetic, dominates small batches). ``build_model`` checks all of this once, naming what is
missing.
"""

from __future__ import annotations

import importlib
import numbers
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.errors import ConfigError, ModelError, suggest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sim.tech import TechValue

ENTRY_POINT_GROUP = "accel_dse.families"
BUILTIN = {"systolic": "sim.models.systolic", "spade": "sim.models.spade"}
LEVEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
PROTOCOL = ("name", "clock_hz", "kinds", "peak_macs_per_cycle", "memory_levels", "basis", "formulas", "area",
            "evaluate")


@dataclass(frozen=True)
class MemoryLevel:
    """A memory level a model reports traffic for; ``bytes_per_cycle`` is its peak bandwidth (None: no roof)."""

    name: str
    bytes_per_cycle: float | None = None

    def __post_init__(self):
        if not LEVEL_NAME.fullmatch(str(self.name)):
            raise ModelError(f"memory level name: got {self.name!r}; allowed: letters, digits and _ (it becomes "
                             "part of column names such as bytes_<level>_read)")
        if self.bytes_per_cycle is not None and not self.bytes_per_cycle > 0:
            raise ModelError(f"memory level {self.name} bytes_per_cycle: got {self.bytes_per_cycle!r}; allowed: > 0 "
                             "or None")


@dataclass(frozen=True, eq=False)
class OpBatch:
    """The ops of one kind, in trace order: ids, names, dimension and format columns, payloads.
    Compared and hashed by identity (so per-batch results can be cached while it lives)."""

    kind: str
    ids: np.ndarray
    names: np.ndarray
    dims: dict[str, np.ndarray]
    formats: dict[str, np.ndarray]
    payloads: Mapping[int, Mapping[str, np.ndarray]] = field(default_factory=dict)
    _distinct: dict[tuple[str, ...], frozenset] = field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def distinct(self, *operands: str) -> frozenset[tuple[str, ...]]:
        """The distinct combinations of the ``operands``' formats over the ops (kept when their
        format arrays are read-only, as the engine's are)."""
        kept = self._distinct.get(operands)
        if kept is not None:
            return kept
        columns = [self.formats[o] for o in operands]
        combinations = frozenset(zip(*columns))
        if not any(c.flags.writeable for c in columns):
            self._distinct[operands] = combinations
        return combinations

    def payload(self, name: str) -> list[np.ndarray | None]:
        """Payload array ``name`` of every op of the batch (None where an op has none)."""
        return [self.payloads.get(int(i), {}).get(name) for i in self.ids]


class Model(Protocol):
    """What the engine needs of a hardware model (see the module docstring)."""

    name: str
    clock_hz: float
    kinds: tuple[str, ...]
    peak_macs_per_cycle: float | None
    memory_levels: tuple[MemoryLevel, ...]
    basis: dict[str, TechValue]
    formulas: dict[str, str]

    def area(self) -> dict[str, TechValue]: ...

    def evaluate(self, batch: OpBatch) -> dict[str, np.ndarray]: ...


Section = Callable[[Any, Any, Callable], "tuple[str, dict[str, str]] | None"]


@dataclass(frozen=True)
class Family:
    """A hardware family: its config schema, its model factory, report sections and a description."""

    name: str
    config: type[BaseModel]
    model: Callable[[Any], Model]
    description: str = ""
    sections: tuple[Section, ...] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)


_families: dict[str, Family] = {}
_loaded = False
version = 0  # bumped on every registration (load_config rebuilds its schema union when it changes)


def register_family(family: Family, replace: bool = False) -> Family:
    """Add ``family`` to the registry (``replace`` allows re-registering a name)."""
    global version
    if not isinstance(family, Family):
        raise TypeError(f"register_family takes a Family, got {type(family).__name__}")
    tag = family.config.model_fields.get("model")
    if tag is None or getattr(tag.annotation, "__args__", None) != (family.name,):
        raise TypeError(f"family {family.name!r}: its config needs the field model: Literal[{family.name!r}]")
    if family.name in _families and not replace and _families[family.name] is not family:
        raise ValueError(f"family {family.name!r} is already registered")
    _families[family.name] = family
    version += 1
    return family


def ensure_registered(family: Family) -> None:
    """Register ``family`` unless a family of the same name and classes is (sweep workers receive
    the families a parent process registered at run time, e.g. in a notebook, with every task)."""
    current = _families.get(family.name)
    if current is None or _identity(current) != _identity(family):
        register_family(family, replace=True)


def _identity(family: Family) -> tuple:
    return tuple(f"{getattr(x, '__module__', '')}.{getattr(x, '__qualname__', repr(x))}"
                 for x in (family.config, family.model))


def unregister_family(name: str) -> None:
    """Remove a family (tests that define their own use this to clean up)."""
    global version
    _families.pop(name, None)
    version += 1


def families() -> dict[str, Family]:
    """Every registered family by name: the built-ins, then those of installed entry points."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN.values():
            importlib.import_module(module)
        _load_entry_points()
    return dict(_families)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, Family):
                if obj.name in BUILTIN:
                    raise ValueError(f"the built-in family {obj.name!r} cannot be replaced")
                register_family(obj, replace=True)
            else:
                obj()
        except Exception as exc:  # a broken plug-in must not take the built-in families down with it
            warnings.warn(f"family plug-in {ep.name!r} ({ep.value}, entry point {ENTRY_POINT_GROUP}) failed to "
                          f"load: {type(exc).__name__}: {exc}", stacklevel=2)


def get_family(name: str) -> Family:
    """The family registered as ``name``, or one ConfigError listing the registered ones."""
    known = families()
    if name not in known:
        raise ConfigError(f"model: got {name!r}; allowed: {', '.join(known)}" + suggest(name, known))
    return known[name]


def build_model(config) -> Model:
    """The hardware model a validated config describes, checked against the protocol."""
    model = get_family(config.model).model(config)
    missing = [a for a in PROTOCOL if not hasattr(model, a)]
    if missing:
        raise ModelError(f"family {config.model!r}: its model ({type(model).__name__}) lacks {', '.join(missing)}; "
                         "a model has all of " + ", ".join(PROTOCOL) + " (see sim.models)")
    peak = model.peak_macs_per_cycle
    if peak is not None and not (isinstance(peak, numbers.Real) and peak > 0):
        raise ModelError(f"family {config.model!r}: peak_macs_per_cycle: got {peak!r}; allowed: a number > 0, or None "
                         "where utilization does not apply")
    _check_fused_kinds(config.model, model)
    _check_ratio_columns(config.model, model)
    if not model.memory_levels or not all(isinstance(m, MemoryLevel) for m in model.memory_levels):
        raise ModelError(f"family {config.model!r}: memory_levels: got {model.memory_levels!r}; allowed: one or more "
                         "MemoryLevel, innermost first")
    return model


def _check_fused_kinds(family: str, model) -> None:
    groups = getattr(model, "fused_kinds", ())
    flat = [k for group in groups for k in group]
    if groups and not hasattr(model, "evaluate_fused"):
        raise ModelError(f"family {family!r}: its model declares fused_kinds but lacks evaluate_fused (see sim.models)")
    stray = [k for k in flat if k not in model.kinds]
    if stray or len(flat) != len(set(flat)):
        raise ModelError(f"family {family!r}: fused_kinds: got {groups!r}; allowed: disjoint groups of its kinds "
                         f"({', '.join(model.kinds)})")


def _check_ratio_columns(family: str, model) -> None:
    summed = ("cycles", "compute_cycles", "stall_cycles", "macs", "energy_pj", *getattr(model, "summed_columns", ()))
    for name, parts in dict(getattr(model, "ratio_columns", {})).items():
        if not (LEVEL_NAME.fullmatch(str(name)) and name not in summed and isinstance(parts, tuple) and len(parts) == 2
                and all(part in summed for part in parts)):
            raise ModelError(f"family {family!r}: ratio_columns[{name!r}]: got {parts!r}; allowed: a new column name "
                             f"mapped to (numerator, denominator) among {', '.join(summed)}")


__all__ = ["ENTRY_POINT_GROUP", "Family", "MemoryLevel", "Model", "OpBatch", "build_model", "ensure_registered",
           "families", "get_family", "register_family", "unregister_family"]
