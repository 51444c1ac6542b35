# amaranth: UnusedElaboratable=no
"""The named RTL generators (``dse rtl``, tests, synthesis): every PE of the PE registry
(``sim.models.pes``: its Amaranth class and default parameters), and ``pe_array``, a systolic
``PEArray`` (default 4 x 4) of any of them (``pe``, default int8xint8). Every default can be
overridden by keyword; the parameters of a PE are those of its registry entry.

The first line silences Amaranth's UnusedElaboratable warning for units built here: one rejected by
its own parameter checks is dropped on purpose, and would be warned about when garbage-collected.
"""

from __future__ import annotations

from amaranth.lib import wiring

from hw.pe_array import PEArray
from sim.errors import ConfigError, field_message, suggest
from sim.models.pes import PES

ARRAY = "pe_array"
TYPE_WORDS = {bool: "true or false", int: "an integer", str: "a string"}  # a parameter's type, in words


def names() -> tuple[str, ...]:
    """Every generator name: the registered PEs, then ``pe_array``."""
    return (*PES, ARRAY)


def defaults(name: str) -> dict:
    """The default parameters of a PE generator."""
    return dict(PES[name].rtl_params)


def build(name: str, **params) -> wiring.Component:
    """A generator's component with its defaults overridden by ``params`` (one clear error per bad key)."""
    if name == ARRAY:
        pe = params.pop("pe", "int8xint8")
        rows, cols = params.pop("rows", 4), params.pop("cols", 4)
        if not isinstance(pe, str) or pe not in PES:
            raise ConfigError(field_message("pe_array.pe", pe, ", ".join(PES)) + suggest(pe, PES))
        return PEArray(lambda: build(pe, **params), rows, cols)
    if name not in PES:
        raise ConfigError(field_message("generator", name, ", ".join(names())) + suggest(name, names()))
    entry = PES[name]
    unknown = sorted(set(params) - set(entry.rtl_params))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown parameter; allowed: {', '.join(entry.rtl_params)}"
                          + suggest(unknown[0], entry.rtl_params))
    for key, value in params.items():
        kind = type(entry.rtl_params[key])
        if type(value) is not kind:
            raise ConfigError(field_message(f"{name}.{key}", value, TYPE_WORDS.get(kind, kind.__name__)))
    return entry.rtl_class()(**{**entry.rtl_params, **params})
