"""Format-aware processing element: per-MAC energy, area and leakage of a PE built around one of the
synthesized MAC units of ``hw`` (``sim/tech/rtl_macs.yaml``, written by ``benchmarks/bench_mac_ppa.py``).

A PE is named by (weight format, activation format); the PE registry (``sim.models.pes``) maps
each pair to its RTL unit and the formats its ports accept. What the PE adds around the unit, each
from a cited ``sim.tech`` entry:

- Integer units (one MAC per cycle): the unit's area and energy include its accumulator at the
  synthesized width ``rtl_acc_bits``; another width adds (or removes) the synthesized cost of one
  accumulator bit, ``rtl_mac_<unit>_acc_{um2,pj}_per_bit`` (measured at +8 bits), per bit.
- Block units (MXFP4, AMXFP4: one 32-element block, i.e. 32 MACs, per cycle): the unit emits 1
  (MXFP4) or 4 (AMXFP4: one per pair of sign sides) scaled terms per block; each is added into an
  ``acc_bits`` floating-point accumulator (16 or 32: a Horowitz FP adder per term, its
  int-to-float alignment assumed folded into the adder).
- Pipeline registers forwarding both operands to the neighbouring PEs (element bits plus each
  scale's share of its block), charged per MAC at the Aladdin register energy, as the generic PE.
- Leakage: the PE's area times the leakage density of Aladdin's 32-bit multiplier (µW per µm² of
  Horowitz multiplier area): an assumption that the unit leaks like the arithmetic it is made of.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sim.models.pes import PE, by_formats
from sim.numerics.storage import FORMATS
from sim.tech import TechLibrary, TechValue


@dataclass(frozen=True)
class FormatPE:
    """Per-MAC costs of the PE for ``weight_format`` x ``act_format`` with an ``acc_bits`` accumulator."""

    weight_format: str
    act_format: str
    acc_bits: int
    tech: TechLibrary

    @cached_property
    def pe(self) -> PE:
        return by_formats(self.weight_format, self.act_format)

    @property
    def unit(self) -> str:
        return self.pe.name

    @property
    def macs_per_pe(self) -> int:
        """MACs per PE per cycle (the block size of a block unit, else 1)."""
        return self.pe.macs_per_cycle

    def acc_bits_problem(self) -> str | None:
        """What ``acc_bits`` must be for this PE, if it is not: the block terms' FP width, or at
        least the integer product's width (the element bits plus the PE's fraction bits)."""
        if self.pe.is_block:
            ok = self.acc_bits in (16, 32)
            return None if ok else f"16 or 32 (the FP accumulator of {self.unit} block terms)"
        product = (FORMATS[self.weight_format][0] + FORMATS[self.act_format][0]
                   + self.pe.rtl_params.get("special_shift", 0))
        return None if self.acc_bits >= product else f">= {product} (the {self.unit} product width)"

    def misfit(self, weight_side: str, act_side: str) -> str | None:
        """Why the PE's ports do not take operands in these formats ('' = unset), or None."""
        for side, fmt in (("weight", weight_side), ("activation", act_side)):
            accepts = self.pe.accepts(side)
            if fmt and fmt not in accepts:
                return f"{side} operand in {fmt!r} does not fit the {self.unit} PE's {side} port; allowed: {', '.join(accepts)}"
        return None

    def _operand_register_bits(self) -> float:
        return sum(FORMATS[f][0] + FORMATS[f][1] / FORMATS[f][2] for f in (self.weight_format, self.act_format))

    def _acc(self, quantity: str) -> TechValue:
        """Unit cost adjusted from the synthesized accumulator width to ``acc_bits`` (integer units)."""
        t, u = self.tech, self.unit
        base = t.scaled(f"rtl_mac_{u}_{quantity}")
        if self.pe.is_block:
            return base
        delta = self.acc_bits - t.scaled(f"rtl_mac_{u}_acc_bits").value
        if delta == 0:
            return base
        return base + t.scaled(f"rtl_mac_{u}_acc_{quantity}_per_bit") * delta

    def mac_pj(self) -> TechValue:
        """Energy per MAC: unit (+ accumulator width change) + block-term FP adds + operand registers."""
        t = self.tech
        cost = self._acc("pj") + t.register_pj_per_bit() * self._operand_register_bits()
        if self.pe.is_block:
            cost = cost + t.fp_add_pj(self.acc_bits) * (self.pe.block_terms / self.macs_per_pe)
        return cost

    def area_um2(self) -> TechValue:
        """Area of one PE (a block PE: all its MAC lanes and term adders)."""
        t = self.tech
        per_pe = self._acc("um2") * self.macs_per_pe + t.register_area_um2_per_bit() * (self._operand_register_bits() * self.macs_per_pe)
        if self.pe.is_block:
            per_pe = per_pe + t.fp_add_area_um2(self.acc_bits) * self.pe.block_terms
        return per_pe

    def leakage_uw(self) -> TechValue:
        """Leakage of one PE: its area at the leakage density of Aladdin's multiplier."""
        t = self.tech
        leak, area = t.leakage_uw("multiplier", 32), t.int_mult_area_um2(32, 32)
        density = TechValue(leak.value / area.value, "uW/um2", f"({leak.source}) / ({area.source})")
        return TechValue(density.value * self.area_um2().value, "uW", f"{density.source} x PE area")
