"""The PE registry: every format-aware processing element, named once.

An entry (:class:`PE`) names a PE (``dint4xint8``) and gives its weight and activation formats,
the other formats each port accepts (an integer port sign-extends a narrower two's-complement
integer), the RTL unit that implements it (an Amaranth component class in ``hw`` and the
generator's default parameters), the adapter that drives that unit's golden model and stimuli
(``hw.adapters``), the scaled terms per block of a block unit (0 for an integer unit, which does
one MAC per cycle) and its marker in plots. Everything that lists PEs reads this table: the
format-aware cost model (``sim.models.mac_pe``), the RTL generators and ``dse rtl``
(``hw.generators``), the golden and stimulus adapters, the formats study and its report section.
Adding a PE is one :func:`register_pe` call plus its classes; ``benchmarks/bench_mac_ppa.py`` then
synthesizes it and writes its cost entries (``rtl_mac_<name>_*``) into ``sim/tech/rtl_macs.yaml``.

Classes are named as ``"module:Class"`` strings and imported on use, so reading the table does
not import Amaranth.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sim.errors import ConfigError, suggest
from sim.numerics.storage import FORMATS


@dataclass(frozen=True)
class PE:
    """One format-aware processing element (see the module docstring)."""

    name: str
    weight_format: str
    act_format: str
    rtl: str
    rtl_params: Mapping[str, Any]
    adapter: str
    weight_also: tuple[str, ...] = ()
    act_also: tuple[str, ...] = ()
    block_terms: int = 0
    marker: str = "o"

    def __post_init__(self):
        for fmt in (self.weight_format, self.act_format, *self.weight_also, *self.act_also):
            if fmt not in FORMATS:
                raise ValueError(f"PE {self.name!r}: format got {fmt!r}; allowed: {', '.join(FORMATS)}")
        object.__setattr__(self, "rtl_params", MappingProxyType(dict(self.rtl_params)))

    @property
    def is_block(self) -> bool:
        """A block unit: one block of K per cycle, emitting ``block_terms`` scaled terms."""
        return self.block_terms > 0

    @property
    def macs_per_cycle(self) -> int:
        """MACs per PE per cycle: the block size of a block unit, else 1."""
        return FORMATS[self.weight_format][2] if self.is_block else 1

    @property
    def setting(self) -> str:
        """The quantization setting by element bits, e.g. ``W4A8``."""
        return f"W{FORMATS[self.weight_format][0]}A{FORMATS[self.act_format][0]}"

    def accepts(self, side: str) -> tuple[str, ...]:
        """Formats the ``"weight"`` or ``"activation"`` port takes."""
        if side == "weight":
            return (self.weight_format, *self.weight_also)
        return (self.act_format, *self.act_also)

    def rtl_class(self) -> type:
        return _import(self.rtl)

    def adapter_class(self) -> type:
        return _import(self.adapter)


def _import(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


PES: dict[str, PE] = {}


def register_pe(pe: PE, replace: bool = False) -> PE:
    """Add ``pe`` to the registry (``replace`` allows re-registering a name)."""
    if pe.name in PES and not replace:
        raise ValueError(f"PE {pe.name!r} is already registered")
    clash = [p.name for p in PES.values() if (p.weight_format, p.act_format) == (pe.weight_format, pe.act_format)
             and p.name != pe.name]
    if clash:
        raise ValueError(f"PE {pe.name!r}: formats {pe.weight_format}x{pe.act_format} already belong to {clash[0]!r}")
    PES[pe.name] = pe
    return pe


def get_pe(name: str) -> PE:
    if name not in PES:
        raise ConfigError(f"PE: got {name!r}; allowed: {', '.join(PES)}" + suggest(name, PES))
    return PES[name]


_MISSING = object()


def by_formats(weight_format: str, act_format: str, default=_MISSING) -> PE:
    """The PE of a (weight, activation) format pair; for an unregistered pair ``default`` if given,
    else one ConfigError naming the registered pairs."""
    for pe in PES.values():
        if (pe.weight_format, pe.act_format) == (weight_format, act_format):
            return pe
    if default is not _MISSING:
        return default
    pairs = ", ".join(f"{p.weight_format}x{p.act_format}" for p in PES.values())
    raise ConfigError(f"mac.weight_format x mac.act_format: got {weight_format}x{act_format}; allowed: {pairs}"
                      + suggest(f"{weight_format}x{act_format}", pairs.split(", ")))


_INT = "hw.int_mac:IntMAC"
_BLOCK = "hw.block_dot:BlockDot"
_INT_ADAPTER = "hw.adapters:IntMACAdapter"
_BLOCK_ADAPTER = "hw.adapters:BlockDotAdapter"
# Integer accumulators: 16 + log2(256) bits for INT8 products, the same 8 bits of headroom over the
# product for the others (dINT4's +-1/2 codes add one fraction bit).
for _pe in (
    PE("int8xint8", "int8", "int8", _INT, dict(w_bits=8, a_bits=8, acc_bits=24, overflow="wrap",
                                               weight_format="int", pipeline=0),
       _INT_ADAPTER, weight_also=("int4",), act_also=("int4",), marker="o"),
    PE("int4xint8", "int4", "int8", _INT, dict(w_bits=4, a_bits=8, acc_bits=20, overflow="wrap",
                                               weight_format="int", pipeline=0),
       _INT_ADAPTER, act_also=("int4",), marker="s"),
    PE("int4xint4", "int4", "int4", _INT, dict(w_bits=4, a_bits=4, acc_bits=16, overflow="wrap",
                                               weight_format="int", pipeline=0),
       _INT_ADAPTER, marker="v"),
    PE("dint4xint8", "dint4", "int8", _INT, dict(w_bits=4, a_bits=8, acc_bits=21, overflow="wrap",
                                                 weight_format="dint4", special_shift=1, pipeline=0),
       _INT_ADAPTER, act_also=("int4",), marker="D"),
    PE("mxfp4", "mxfp4", "mxfp4", _BLOCK, dict(block=32, scale_format="e8m0", a_asymmetric=False, w_asymmetric=False,
                                               pipeline=0, datapath="signed"),
       _BLOCK_ADAPTER, block_terms=1, marker="^"),
    PE("amxfp4", "amxfp4", "amxfp4", _BLOCK, dict(block=32, scale_format="e5m2", a_asymmetric=True, w_asymmetric=True,
                                                  pipeline=0, datapath="signed"),
       _BLOCK_ADAPTER, block_terms=4, marker="*"),
):
    register_pe(_pe)
