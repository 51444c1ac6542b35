"""Technology library: cited per-operation energy and area, scaled to a process node.

The numbers live in the YAML files beside this module, each entry with its value, unit, node and
a citation key from ``citations.yaml``; this module only looks them up, scales them and derives.
Every lookup returns a :class:`TechValue` whose ``source`` names the cited entries and factors.

Rules and their status (assumptions are user-tunable through overrides or stated here):
- Node scaling: Stillmaker & Baas (2017), area by a bilinear interpolation of the node-to-node
  table, energy by a*Vdd^2 + b*Vdd + c at Vdd 0.8 V, both linear in node size between tabulated
  nodes (130..7 nm). Leakage power scales with the energy factor (assumption, as HWComponents).
- Widths not tabulated (Aladdin's rules): an adder scales linearly with its width, a multiplier
  with the product of its operand widths, from the nearest tabulated width.
- SRAM access energy: log-log interpolation of Horowitz's 64-bit reads at 8 KB / 32 KB / 1 MB,
  clamped to the end points outside that range (assumption), linear in access width; a write
  costs read x ``sram_write_to_read_ratio``.
- SRAM area: bit-cell area at the node (nearest tabulated node, area-scaled) x bits / array
  efficiency, the efficiency interpolated in log2(size) between LLMCompass's points and clamped.
- DRAM energy per bit does not scale with the logic node.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.errors import ConfigError

DATA = Path(__file__).parent
ENTRY_FILES = ("horowitz2014.yaml", "aladdin.yaml", "sram.yaml", "dram.yaml")
BITS_PER_BYTE = 8


@dataclass(frozen=True)
class TechValue:
    """A number with its unit and a human-readable derivation naming every cited input."""

    value: float
    unit: str
    source: str

    def __mul__(self, factor: float) -> TechValue:
        return TechValue(self.value * factor, self.unit, f"{self.source} x {factor:.6g}")

    __rmul__ = __mul__

    def __add__(self, other: TechValue) -> TechValue:
        if other.unit != self.unit:
            raise ValueError(f"cannot add {self.unit} and {other.unit}")
        return TechValue(self.value + other.value, self.unit, f"({self.source}) + ({other.source})")


@lru_cache(maxsize=None)
def _data() -> tuple[dict, dict, dict]:
    entries = {}
    for name in ENTRY_FILES:
        entries.update(yaml.safe_load((DATA / name).read_text()))
    citations = yaml.safe_load((DATA / "citations.yaml").read_text())
    scaling = yaml.safe_load((DATA / "scaling.yaml").read_text())
    return entries, citations, scaling


def _node_index(node: float, nodes: list[float]) -> float:
    """Fractional index of ``node`` in the descending node list, linear in node size."""
    if not nodes[-1] <= node <= nodes[0]:
        raise ConfigError(f"tech.node_nm: got {node:g}; allowed: {nodes[-1]} to {nodes[0]} nm")
    for i in range(len(nodes) - 1):
        if nodes[i + 1] <= node <= nodes[i]:
            return i + (nodes[i] - node) / (nodes[i] - nodes[i + 1])
    return float(len(nodes) - 1)


def area_factor(from_nm: float, to_nm: float) -> float:
    """Stillmaker & Baas area multiplier from one node to another."""
    scaling = _data()[2]
    table, nodes = scaling["area"], scaling["nodes_nm"]
    x, y = _node_index(from_nm, nodes), _node_index(to_nm, nodes)
    x0, y0 = math.floor(x), math.floor(y)
    x1, y1 = min(x0 + 1, len(nodes) - 1), min(y0 + 1, len(nodes) - 1)
    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * table[x0][y0] + (1 - fx) * fy * table[x0][y1]
            + fx * (1 - fy) * table[x1][y0] + fx * fy * table[x1][y1])


def energy_factor(from_nm: float, to_nm: float) -> float:
    """Stillmaker & Baas energy multiplier from one node to another at the table's Vdd."""
    scaling = _data()[2]
    nodes, vdd = scaling["nodes_nm"], scaling["vdd"]
    rel = [a * vdd ** 2 + b * vdd + c for a, b, c in scaling["energy"]]

    def at(node):
        i = _node_index(node, nodes)
        i0 = math.floor(i)
        i1 = min(i0 + 1, len(nodes) - 1)
        return rel[i0] * (1 - (i - i0)) + rel[i1] * (i - i0)

    return at(to_nm) / at(from_nm)


class TechLibrary:
    """Cited energy/area entries scaled to ``node_nm``, with user overrides applied."""

    def __init__(self, node_nm: float, entries: dict[str, dict]):
        _node_index(node_nm, _data()[2]["nodes_nm"])
        self.node_nm = node_nm
        self.entries = entries

    @classmethod
    def load(cls, node_nm: float = 45, overrides: None | str | Path | dict = None) -> TechLibrary:
        """The library at ``node_nm``; overrides (YAML path or mapping) replace entry values."""
        key = json.dumps(overrides, sort_keys=True, default=str)
        return _load(float(node_nm), key)

    # -- raw entries -------------------------------------------------------------------------------

    def entry(self, name: str) -> TechValue:
        """An entry as tabulated (no scaling), with its citation."""
        e = self.entries[name]
        where = f" @{e['node_nm']:g}nm" if "node_nm" in e else ""
        note = f" ({e['note']})" if e["cite"] == "user" else ""
        return TechValue(float(e["value"]), e["unit"], f"{e['cite']}:{name} {e['value']:g} {e['unit']}{where}{note}")

    def _energy(self, name: str) -> TechValue:
        v = self.entry(name)
        node = self.entries[name]["node_nm"]
        if node == self.node_nm:
            return v
        f = energy_factor(node, self.node_nm)
        return TechValue(v.value * f, v.unit, f"{v.source} x stillmaker2017 energy {node:g}->{self.node_nm:g}nm {f:.4g}")

    def _area(self, name: str) -> TechValue:
        v = self.entry(name)
        node = self.entries[name]["node_nm"]
        if node == self.node_nm:
            return v
        f = area_factor(node, self.node_nm)
        return TechValue(v.value * f, v.unit, f"{v.source} x stillmaker2017 area {node:g}->{self.node_nm:g}nm {f:.4g}")

    def _widths(self, op: str, unit: str) -> list[int]:
        prefix = f"{op}_"
        return sorted(int(n[len(prefix):].split("_")[0]) for n in self.entries
                      if n.startswith(prefix) and n.endswith(f"_{unit}") and n[len(prefix):].split("_")[0].isdigit())

    def _scaled_width(self, op: str, unit: str, bits: float, exponent: int) -> TechValue:
        """Entry of ``op`` at ``bits`` from the nearest tabulated width, scaled by (bits/w)^exponent."""
        widths = self._widths(op, unit)
        w = min(widths, key=lambda t: abs(math.log(bits / t)))
        base = (self._energy if unit == "pj" else self._area)(f"{op}_{w}_{unit}")
        if bits == w:
            return base
        f = (bits / w) ** exponent
        return TechValue(base.value * f, base.unit, f"{base.source} x aladdin2014 width rule ({bits:g}/{w})^{exponent}")

    # -- arithmetic ----------------------------------------------------------------------------------

    def int_add_pj(self, bits: int) -> TechValue:
        return self._scaled_width("int_add", "pj", bits, 1)

    def int_mult_pj(self, bits_a: int, bits_b: int) -> TechValue:
        return self._scaled_width("int_mult", "pj", math.sqrt(bits_a * bits_b), 2)

    def int_add_area_um2(self, bits: int) -> TechValue:
        return self._scaled_width("int_add", "um2", bits, 1)

    def int_mult_area_um2(self, bits_a: int, bits_b: int) -> TechValue:
        return self._scaled_width("int_mult", "um2", math.sqrt(bits_a * bits_b), 2)

    def _fp(self, op: str, bits: int, unit: str) -> TechValue:
        if bits not in (16, 32):
            raise ConfigError(f"{op} bits: got {bits}; allowed: 16, 32")
        return (self._energy if unit == "pj" else self._area)(f"{op}_{bits}_{unit}")

    def fp_add_pj(self, bits: int) -> TechValue:
        return self._fp("fp_add", bits, "pj")

    def fp_mult_pj(self, bits: int) -> TechValue:
        return self._fp("fp_mult", bits, "pj")

    def fp_add_area_um2(self, bits: int) -> TechValue:
        return self._fp("fp_add", bits, "um2")

    def fp_mult_area_um2(self, bits: int) -> TechValue:
        return self._fp("fp_mult", bits, "um2")

    def register_pj_per_bit(self) -> TechValue:
        return self._energy("register_pj_per_bit")

    def register_area_um2_per_bit(self) -> TechValue:
        return self._area("register_um2_per_bit")

    def leakage_uw(self, component: str, bits: int) -> TechValue:
        """Leakage power of an adder (linear in width) or multiplier (square of width), 32-bit reference."""
        exponent = {"adder": 1, "multiplier": 2}.get(component)
        if exponent is None:
            raise ConfigError(f"leakage component: got {component!r}; allowed: adder, multiplier")
        base = self._energy(f"{component}_32_leakage_uw")
        f = (bits / 32) ** exponent
        return TechValue(base.value * f, base.unit, f"{base.source} x aladdin2014 width rule ({bits}/32)^{exponent}")

    # -- memories --------------------------------------------------------------------------------------

    def sram_access_pj(self, macro_bytes: float, bits: int = 64, write: bool = False) -> TechValue:
        """Energy of one ``bits``-wide access to an SRAM macro of ``macro_bytes``."""
        sizes = sorted(int(n.split("_")[3]) for n in self.entries if n.startswith("sram_read_64b_"))
        size = min(max(macro_bytes, sizes[0]), sizes[-1])
        hi = next(s for s in sizes if s >= size)
        lo = sizes[max(sizes.index(hi) - 1, 0)]
        e_lo, e_hi = self._energy(f"sram_read_64b_{lo}_pj"), self._energy(f"sram_read_64b_{hi}_pj")
        t = 0.0 if hi == lo else math.log(size / lo) / math.log(hi / lo)
        value = math.exp((1 - t) * math.log(e_lo.value) + t * math.log(e_hi.value)) * bits / 64
        source = f"log-log interp at {macro_bytes:g} B of [{e_lo.source}] and [{e_hi.source}] x {bits}/64 bits"
        if write:
            ratio = self.entry("sram_write_to_read_ratio")
            value *= ratio.value
            source += f" x {ratio.source}"
        return TechValue(value, "pJ", source)

    def sram_area_mm2(self, macro_bytes: float) -> TechValue:
        """Area of an SRAM macro: bit cells at this node divided by the macro's array efficiency."""
        cells = {int(n.split("_")[2].removesuffix("nm")): n for n in self.entries if n.startswith("sram_bitcell_")}
        node = min(cells, key=lambda n: abs(n - self.node_nm))
        cell = self._area(cells[node])
        if node != self.node_nm:
            f = area_factor(node, self.node_nm)
            cell = TechValue(cell.value * f, cell.unit, f"{cell.source} x stillmaker2017 area {node}->{self.node_nm:g}nm {f:.4g}")
        eff_sizes = sorted(int(n.split("_")[2]) for n in self.entries if n.startswith("sram_efficiency_"))
        x = np.log2(np.clip(macro_bytes, eff_sizes[0], eff_sizes[-1]))
        eff = float(np.interp(x, np.log2(eff_sizes), [self.entries[f"sram_efficiency_{s}"]["value"] for s in eff_sizes]))
        bits = macro_bytes * BITS_PER_BYTE
        return TechValue(cell.value * bits / eff * 1e-6, "mm2",
                         f"{cell.source} x {bits:g} bits / llmcompass2024 array efficiency {eff:.3g} at {macro_bytes:g} B")

    def dram_kinds(self) -> list[str]:
        return [n[len("dram_"):-len("_pj_per_bit")] for n in self.entries
                if n.startswith("dram_") and n.endswith("_pj_per_bit") and "pim" not in n]

    def dram_pj_per_bit(self, kind: str) -> TechValue:
        if kind not in self.dram_kinds():
            raise ConfigError(f"dram.kind: got {kind!r}; allowed: {', '.join(self.dram_kinds())}")
        return self.entry(f"dram_{kind}_pj_per_bit")

    # -- listing ---------------------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """Every entry with its value, unit, node, citation key and kind (primary/secondary/assumption)."""
        citations = _data()[1]
        return pd.DataFrame([{"name": n, "value": e["value"], "unit": e["unit"], "node_nm": e.get("node_nm"),
                              "cite": e["cite"], "kind": citations[e["cite"]]["kind"]} for n, e in self.entries.items()])

    @staticmethod
    def citation(key: str) -> str:
        return _data()[1][key]["ref"]


@lru_cache(maxsize=256)
def _load(node_nm: float, overrides_key: str) -> TechLibrary:
    entries = {k: dict(v) for k, v in _data()[0].items()}
    overrides = json.loads(overrides_key)
    if isinstance(overrides, str):
        path = Path(overrides)
        try:
            overrides = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"tech.overrides: cannot read {path}: {exc}") from None
    for name, spec in (overrides or {}).items():
        if name not in entries:
            raise ConfigError(f"tech.overrides.{name}: unknown entry; allowed: {', '.join(sorted(entries))}")
        value = spec.get("value") if isinstance(spec, dict) else spec
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ConfigError(f"tech.overrides.{name}: got {value!r}; allowed: a number > 0")
        source = spec.get("source", "user override") if isinstance(spec, dict) else "user override"
        entries[name].update(value=value, cite="user", note=source)
    return TechLibrary(node_nm, entries)
