"""Technology library: cited per-operation energy and area, scaled to a process node.

Data, not code: every number lives in the YAML files beside this module (entries in
horowitz2014, aladdin, eyeriss_ert, sram, dram, nangate45 cell areas and rtl_macs / rtl_spade, the MAC
and SPADE units synthesized from this project's RTL; the node-scaling law in scaling.yaml; references in
citations.yaml). An entry has a value, a unit, the node it was reported at (null: it does not
scale with the node) and a citation key whose kind is primary, secondary, derived or assumption. Every
lookup returns a :class:`TechValue` whose ``source`` names the entries and factors it was built
from, so costs derived by the models keep their provenance. Any entry can be replaced through
``overrides``; the assumption entries exist precisely so that users tune them.

Rules applied here (beyond the assumption entries):
- Node scaling, Stillmaker & Baas (2017) as tabulated in HWComponents: area by bilinear
  interpolation of the node-to-node area matrix, energy by the per-node fit a*Vdd^2 + b*Vdd + c at
  Vdd 0.8 V interpolated linearly in node size; 130..7 nm only. Leakage power (uW entries) scales
  with the energy factor (assumption ``assume_leakage_scaling``, as HWComponents does).
- Operand widths Horowitz does not tabulate follow Aladdin's width rules from the nearest
  tabulated width (log distance, ties to the smaller): an adder's cost is linear in its width, a
  multiplier's is proportional to the product of its operand widths. FP ops exist at 16 and 32 bits.
- SRAM access energy: log-log interpolation in macro size between Horowitz's 64-bit reads at
  8 KiB / 32 KiB / 1 MiB; outside that range the end value is used (clamped: no data beyond it);
  linear in the access width; a write costs read x ``sram_write_to_read_ratio`` (assumption entry).
- SRAM area: size x the node's 1 MiB macro density (assumption entries at 7/16/28 nm; other nodes
  from the nearest one, log distance, by the area factor) x eff(1 MiB) / eff(size), where eff is
  LLMCompass's array efficiency interpolated linearly in log2(size), clamped to 4 KiB..1 MiB.
- DRAM and link energy per bit, and DRAM bandwidth presets (per channel, channels per device), do
  not scale with the logic node.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import yaml

from sim.errors import field_error, suggest
from sim.files import read_yaml

if TYPE_CHECKING:
    import pandas as pd

DATA = Path(__file__).parent
ENTRY_FILES = ("horowitz2014.yaml", "aladdin.yaml", "eyeriss_ert.yaml", "sram.yaml", "dram.yaml", "nangate45.yaml",
               "rtl_macs.yaml", "rtl_spade.yaml")
ENERGY_UNITS = ("pJ", "uW")  # scale with the energy factor (uW: leakage assumption)
AREA_UNITS = ("um2", "mm2/MiB")  # scale with the area factor
MIB = 1 << 20
SRAM_READ_BITS = 64  # access width of Horowitz's SRAM reads
ALADDIN_REF_BITS = 32  # reference width of the Aladdin table
MEMO_SIZE = 4096  # lookups remembered per library
WIDTH_EXPONENT = {"adder": 1, "comparator": 1, "counter": 1, "multiplier": 2}  # Aladdin width rules


@dataclass(frozen=True)
class TechValue:
    """A number with its unit and a human-readable derivation naming every cited input."""

    value: float
    unit: str
    source: str

    def __mul__(self, factor: float) -> TechValue:
        """Scale by a plain number (a count, a width ratio); the unit is kept."""
        if not isinstance(factor, numbers.Real):
            return NotImplemented
        source = f"({self.source})" if " + " in self.source else self.source
        return TechValue(self.value * factor, self.unit, f"{source} x {factor:g}")

    __rmul__ = __mul__

    def __add__(self, other: TechValue) -> TechValue:
        """Sum of two costs in the same unit; the sources are joined with ' + '."""
        if not isinstance(other, TechValue):
            return NotImplemented
        if other.unit != self.unit:
            raise ValueError(f"cannot add {other.unit} to {self.unit}")
        return TechValue(self.value + other.value, self.unit, f"{self.source} + {other.source}")


class _Data(NamedTuple):
    entries: dict[str, dict]
    citations: dict[str, dict]
    scaling: dict


def _yaml(text: str):
    """``yaml.safe_load`` with libyaml's loader where PyYAML has it (10x faster, same result)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def _data() -> _Data:
    """The parsed YAML files (read once per process, by libyaml's C parser: 10x the pure-Python one)."""
    entries = {}
    for name in ENTRY_FILES:
        entries.update(_yaml((DATA / name).read_text()))
    citations = _yaml((DATA / "citations.yaml").read_text())
    scaling = _yaml((DATA / "scaling.yaml").read_text())
    return _Data(entries, citations, scaling)


def _node_index(node_nm: float) -> float:
    """Fractional index of a node in the scaling table, linear in node size between rows."""
    nodes = _data().scaling["nodes_nm"]
    if not nodes[-1] <= node_nm <= nodes[0]:
        raise field_error("tech.node_nm", node_nm, f"{nodes[-1]} to {nodes[0]} nm (Stillmaker & Baas table)")
    i = next(i for i in range(len(nodes) - 1) if nodes[i + 1] <= node_nm)
    return i + (nodes[i] - node_nm) / (nodes[i] - nodes[i + 1])


def area_factor(from_nm: float, to_nm: float) -> float:
    """Stillmaker & Baas area multiplier from one node to another (bilinear in the table)."""
    table = _data().scaling["area"]
    x, y = _node_index(from_nm), _node_index(to_nm)
    fx, fy = x % 1, y % 1
    x0, x1, y0, y1 = math.floor(x), math.ceil(x), math.floor(y), math.ceil(y)
    return ((1 - fx) * (1 - fy) * table[x0][y0] + (1 - fx) * fy * table[x0][y1]
            + fx * (1 - fy) * table[x1][y0] + fx * fy * table[x1][y1])


def energy_factor(from_nm: float, to_nm: float) -> float:
    """Stillmaker & Baas energy multiplier from one node to another at the table's Vdd."""
    scaling = _data().scaling
    vdd = scaling["vdd"]
    rel = [a * vdd**2 + b * vdd + c for a, b, c in scaling["energy"]]

    def at(node_nm: float) -> float:
        i = _node_index(node_nm)
        return rel[math.floor(i)] * (1 - i % 1) + rel[math.ceil(i)] * (i % 1)

    return at(to_nm) / at(from_nm)


def _memoized(method):
    """Compute a lookup once per library and arguments (a library never changes after loading, and
    a model is built per sweep point from the same few entries). Argument types are part of the key,
    so 8.0 is still rejected where 8 is allowed; unhashable arguments are not cached."""

    @functools.wraps(method)
    def lookup(self, *args, **kwargs):
        key = (method.__name__, *((type(a), a) for a in args), *sorted((k, type(v), v) for k, v in kwargs.items()))
        try:
            return self._memo[key]
        except KeyError:
            if len(self._memo) >= MEMO_SIZE:  # a sweep over continuous sizes must not grow it without end
                self._memo.clear()
            value = self._memo[key] = method(self, *args, **kwargs)
            return value
        except TypeError:
            return method(self, *args, **kwargs)

    return lookup


class TechLibrary:
    """Cited energy/area entries (overrides applied), looked up and scaled to ``node_nm``.

    Get one with :meth:`load`, which caches: instances are shared, so treat them as read-only.
    """

    def __init__(self, node_nm: float, entries: Mapping[str, dict]):
        _node_index(node_nm)
        self.node_nm = node_nm
        self.entries = MappingProxyType(dict(entries))
        self._memo: dict[tuple, object] = {}  # results of @_memoized lookups

    @classmethod
    def load(cls, node_nm: float = 45, overrides: None | str | Path | Mapping = None) -> TechLibrary:
        """The library at ``node_nm``; ``overrides`` (YAML file or mapping) replaces entry values.

        An override is ``name: value`` or ``name: {value: ..., source: "..."}``; unknown names and
        values that are not finite numbers > 0 raise ConfigError. Results are cached per node and
        overrides (a file is re-read when its modification time changes).
        """
        try:
            node = float(node_nm)
        except (TypeError, ValueError):
            raise field_error("tech.node_nm", node_nm, "a number of nm") from None
        if overrides is None:
            key = None
        elif isinstance(overrides, (str, Path)):
            path = Path(overrides)
            try:
                key = ("file", str(path.resolve()), path.stat().st_mtime_ns)
            except OSError:
                raise field_error("tech.overrides", str(overrides), "an existing YAML file or a mapping") from None
        elif isinstance(overrides, Mapping):
            key = ("mapping", json.dumps(overrides, sort_keys=True, default=str))
        else:
            raise field_error("tech.overrides", overrides, "a YAML file path or a mapping")
        return _load(node, key)

    # -- entries -----------------------------------------------------------------------------------

    @_memoized
    def scaled(self, name: str) -> TechValue:
        """Entry ``name`` scaled from its node to this library's node (energy, area or leakage)."""
        if name not in self.entries:
            raise field_error("tech entry", name, _close_names(name, self.entries))
        e = self.entries[name]
        where = f" @{e['node_nm']:g}nm" if e["node_nm"] is not None else ""
        note = f" ({e['note']})" if e["cite"] == "user" else ""
        value = TechValue(float(e["value"]), e["unit"], f"{e['cite']}:{name} {e['value']:g} {e['unit']}{where}{note}")
        node = e["node_nm"]
        if node is None or node == self.node_nm:
            return value
        if e["unit"] in AREA_UNITS:
            factor, law = area_factor(node, self.node_nm), "stillmaker2017 area"
        else:
            factor, law = energy_factor(node, self.node_nm), "stillmaker2017 energy"
            if e["unit"] == "uW":
                law = f"{_data().scaling['leakage_cite']}: {law}"
        return TechValue(value.value * factor, value.unit,
                         f"{value.source} x {law} {node:g}->{self.node_nm:g}nm {factor:.3g}")

    @_memoized
    def _series(self, pattern: str) -> Mapping[int, str]:
        """Entries whose name matches ``pattern`` (one integer group), keyed by that integer, sorted."""
        found = {int(m.group(1)): n for n in self.entries if (m := re.fullmatch(pattern, n))}
        return MappingProxyType(dict(sorted(found.items())))

    @_memoized
    def _width_scaled(self, op: str, unit: str, bits_a: int, bits_b: int | None = None) -> TechValue:
        """Horowitz ``op`` cost at the given width(s), by Aladdin's rule from the nearest tabulated width."""
        for bits in (bits_a, bits_b):
            if bits is not None and not (isinstance(bits, numbers.Integral) and bits > 0):
                raise field_error(f"{op} bits", bits, "an integer > 0")
        widths = self._series(rf"{op}_(\d+)_{unit}")
        mean = bits_a if bits_b is None else math.sqrt(bits_a * bits_b)
        w = min(widths, key=lambda t: (abs(math.log(mean / t)), t))
        base = self.scaled(widths[w])
        if bits_b is None:
            ratio, rule = bits_a / w, f"linear in width {bits_a}/{w}"
        else:
            ratio, rule = bits_a * bits_b / w**2, f"product of widths {bits_a}x{bits_b}/({w}x{w})"
        if ratio == 1:
            return base
        return TechValue(base.value * ratio, base.unit, f"{base.source} x aladdin2014 {rule}")

    @_memoized
    def _fp(self, op: str, unit: str, bits: int) -> TechValue:
        widths = self._series(rf"{op}_(\d+)_{unit}")
        if bits not in widths:
            raise field_error(f"{op} bits", bits, ", ".join(map(str, widths)))
        return self.scaled(widths[bits])

    # -- arithmetic --------------------------------------------------------------------------------

    def int_add_pj(self, bits: int) -> TechValue:
        """Energy of one integer addition of ``bits``-wide operands."""
        return self._width_scaled("int_add", "pj", bits)

    def int_mult_pj(self, bits_a: int, bits_b: int) -> TechValue:
        """Energy of one integer multiplication of a ``bits_a`` by a ``bits_b`` operand."""
        return self._width_scaled("int_mult", "pj", bits_a, bits_b)

    def int_add_area_um2(self, bits: int) -> TechValue:
        """Area of a ``bits``-wide integer adder."""
        return self._width_scaled("int_add", "um2", bits)

    def int_mult_area_um2(self, bits_a: int, bits_b: int) -> TechValue:
        """Area of a ``bits_a`` x ``bits_b`` integer multiplier."""
        return self._width_scaled("int_mult", "um2", bits_a, bits_b)

    def fp_add_pj(self, bits: int) -> TechValue:
        """Energy of one floating-point addition (16 or 32 bits)."""
        return self._fp("fp_add", "pj", bits)

    def fp_mult_pj(self, bits: int) -> TechValue:
        """Energy of one floating-point multiplication (16 or 32 bits)."""
        return self._fp("fp_mult", "pj", bits)

    def fp_add_area_um2(self, bits: int) -> TechValue:
        """Area of a floating-point adder (16 or 32 bits)."""
        return self._fp("fp_add", "um2", bits)

    def fp_mult_area_um2(self, bits: int) -> TechValue:
        """Area of a floating-point multiplier (16 or 32 bits)."""
        return self._fp("fp_mult", "um2", bits)

    def register_pj_per_bit(self) -> TechValue:
        """Energy to read one bit of a pipeline register (Aladdin)."""
        return self.scaled("aladdin_register_pj_per_bit")

    def register_area_um2_per_bit(self) -> TechValue:
        """Area of one bit of register (Aladdin)."""
        return self.scaled("aladdin_register_um2_per_bit")

    @_memoized
    def leakage_uw(self, component: str, bits: int) -> TechValue:
        """Leakage power of a ``bits``-wide Aladdin component (a multiplier: ``bits`` x ``bits``)."""
        if component not in WIDTH_EXPONENT:
            raise field_error("leakage component", component, ", ".join(WIDTH_EXPONENT))
        if not (isinstance(bits, numbers.Integral) and bits > 0):
            raise field_error(f"{component} bits", bits, "an integer > 0")
        base = self.scaled(f"aladdin_{component}_{ALADDIN_REF_BITS}_leakage_uw")
        exponent = WIDTH_EXPONENT[component]
        if bits == ALADDIN_REF_BITS:
            return base
        return TechValue(base.value * (bits / ALADDIN_REF_BITS) ** exponent, base.unit,
                         f"{base.source} x aladdin2014 width rule ({bits}/{ALADDIN_REF_BITS})^{exponent}")

    # -- memories ----------------------------------------------------------------------------------

    @_memoized
    def sram_access_pj(self, macro_bytes: float, bits: int = 64, write: bool = False) -> TechValue:
        """Energy of one ``bits``-wide read (or write) of an SRAM macro of ``macro_bytes``."""
        if not macro_bytes > 0:
            raise field_error("sram macro_bytes", macro_bytes, "> 0")
        if not (isinstance(bits, numbers.Integral) and bits > 0):
            raise field_error("sram access bits", bits, "an integer > 0")
        reads = self._series(rf"sram_read_{SRAM_READ_BITS}b_(\d+)_pj")
        sizes = list(reads)
        energies = {s: self.scaled(n) for s, n in reads.items()}
        size = min(max(macro_bytes, sizes[0]), sizes[-1])
        if size in energies:
            value, source = energies[size].value, energies[size].source
            if size != macro_bytes:
                source += f" (clamped: {macro_bytes:.10g} B outside {sizes[0]}..{sizes[-1]} B)"
        else:
            hi = bisect.bisect(sizes, size)
            lo, up = energies[sizes[hi - 1]], energies[sizes[hi]]
            t = math.log(size / sizes[hi - 1]) / math.log(sizes[hi] / sizes[hi - 1])
            value = lo.value ** (1 - t) * up.value**t
            source = f"log-log interpolation at {size:.10g} B of [{lo.source}] and [{up.source}]"
        result = TechValue(value, "pJ", source)
        if bits != SRAM_READ_BITS:
            result = TechValue(value * bits / SRAM_READ_BITS, "pJ", f"{source} x {bits}/{SRAM_READ_BITS} bits")
        if write:
            ratio = self.scaled("sram_write_to_read_ratio")
            result = TechValue(result.value * ratio.value, "pJ", f"{result.source} x {ratio.source}")
        return result

    @_memoized
    def sram_area_mm2(self, macro_bytes: float) -> TechValue:
        """Area of one SRAM macro of ``macro_bytes``: 1 MiB density corrected by array efficiency."""
        if not macro_bytes > 0:
            raise field_error("sram macro_bytes", macro_bytes, "> 0")
        densities = self._series(r"sram_density_(\d+)nm_mm2_per_mib")
        node = min(densities, key=lambda n: (abs(math.log(n / self.node_nm)), n))
        density = self.scaled(densities[node])
        effs = {s: self.entries[n]["value"] for s, n in self._series(r"sram_efficiency_(\d+)").items()}
        sizes = list(effs)
        eff = float(np.interp(math.log2(macro_bytes), np.log2(sizes), list(effs.values())))
        eff_ref = effs[MIB]
        mib = macro_bytes / MIB
        return TechValue(density.value * mib * eff_ref / eff, "mm2",
                         f"{density.source} x {mib:g} MiB x llmcompass2024 array efficiency "
                         f"{eff_ref:g} (1 MiB) / {eff:.3g} ({macro_bytes:.10g} B)")

    def dram_kinds(self) -> list[str]:
        """Off-chip memory kinds with an energy-per-bit entry, in the order of dram.yaml."""
        return list(self._dram_kinds)

    @cached_property
    def _dram_kinds(self) -> tuple[str, ...]:
        return tuple(m.group(1) for n in self.entries if (m := re.fullmatch(r"dram_(\w+)_pj_per_bit", n)))

    def dram_pj_per_bit(self, kind: str) -> TechValue:
        """Energy per bit moved to or from off-chip memory of ``kind`` (not node-scaled)."""
        if kind not in self.dram_kinds():
            raise field_error("dram.kind", kind, ", ".join(self.dram_kinds()) + suggest(kind, self.dram_kinds()))
        return self.scaled(f"dram_{kind}_pj_per_bit")

    @_memoized
    def dram_bandwidth_gbs(self, kind: str, channels: int | None = None) -> TechValue:
        """Peak bandwidth (GB/s) of ``channels`` channels of ``kind`` (default: one device's channels)."""
        self.dram_pj_per_bit(kind)  # checks the kind
        per_channel = self.scaled(f"dram_{kind}_channel_gbs")
        if channels is None:
            count = self.scaled(f"dram_{kind}_channels")
            channels, source = int(count.value), count.source
        else:
            source = "config dram.channels"
        return TechValue(per_channel.value * channels, "GB/s", f"{per_channel.source} x {channels} channels ({source})")

    def link_pj_per_bit(self) -> TechValue:
        """Energy per bit over a device-to-device link (AttAcc's inter-device link)."""
        return self.scaled("interdevice_link_pj_per_bit")

    # -- listing -----------------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """Every entry as tabulated (unscaled): name, value, unit, node, citation key, kind, note."""
        import pandas as pd

        kinds = {k: c["kind"] for k, c in _data().citations.items()}
        return pd.DataFrame([{"name": n, "value": float(e["value"]), "unit": e["unit"], "node_nm": e["node_nm"],
                              "cite": e["cite"], "kind": kinds[e["cite"]], "note": e.get("note", "")}
                             for n, e in self.entries.items()])

    @staticmethod
    def citation(key: str) -> str:
        """The full reference of a citation key: the work, where in it, its kind (and, if secondary,
        the reproduction read), then the note."""
        citations = _data().citations
        if key not in citations:
            raise field_error("citation", key, ", ".join(citations))
        c = citations[key]
        links = [f"doi:{c['doi']}" if c.get("doi") else "", c.get("url", "")]
        parts = [c["authors"], f"'{c['title']}'", c["venue"], str(c["year"] or ""), *links]
        via = f" Read in: {c['via']}." if c.get("via") else ""
        note = f" {c['note']}" if c.get("note") else ""
        return ", ".join(p for p in parts if p) + f"; {c['locator']}. [{c['kind']}]{via}{note}"


def _close_names(name: str, entries: Mapping) -> str:
    close = difflib.get_close_matches(str(name), entries, n=3)
    return "a tech-library entry name (see TechLibrary.table())" + (f", e.g. {', '.join(close)}" if close else "")


def _apply_overrides(entries: dict[str, dict], overrides: Mapping) -> None:
    """Replace entry values in place by the user's; the entry's citation becomes ``user``."""
    for name, spec in overrides.items():
        if name not in entries:
            raise field_error("tech.overrides", name, _close_names(name, entries))
        field = f"tech.overrides.{name}"
        if isinstance(spec, Mapping):
            if "value" not in spec or set(spec) - {"value", "source"}:
                raise field_error(field, dict(spec), "a number or {value: <number>, source: <text>}")
            value, source = spec["value"], str(spec.get("source", "no source given"))
        else:
            value, source = spec, "no source given"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise field_error(field, value, "a finite number > 0")
        old = entries[name]
        entries[name] = {**old, "value": float(value), "cite": "user", "note": f"{source}; replaces {old['cite']}"}


@lru_cache(maxsize=256)
def _load(node_nm: float, key: tuple | None) -> TechLibrary:
    entries = dict(_data().entries)
    if key is not None:
        if key[0] == "file":
            overrides = read_yaml(key[1], "tech.overrides")
        else:
            overrides = json.loads(key[1])
        if not isinstance(overrides, (Mapping, type(None))):
            raise field_error("tech.overrides", overrides, "a mapping of entry name to value")
        _apply_overrides(entries, overrides or {})
    return TechLibrary(node_nm, entries)
