"""Per-unit energy and area of SPADE's units beyond the PE array, each a cited tech-library value.

The PE, DRAM and dense-path costs are the systolic family's (``SystolicArray.basis``). Here:
banked feature SRAMs (one macro per bank), the weight and rule SRAMs, the RGU's merge step, the
GSU's address generators and crossbars, the DVP unit's lanes and SPADE+'s top-k and merge units.
This project's synthesis of the RGU and of the gather-address generator (``RTL_ENTRIES``, from
``sim/tech/rtl_spade.yaml``, at the RTL's default widths; a tech override can replace them) gives
their energy and area; the other units are composed from Aladdin and Horowitz components
(comparators, adders, registers, mux cells), as each source string states. The GSU has one address
generator per bank port.
"""

from __future__ import annotations

from sim.models.spade.config import SpadeConfig
from sim.tech import TechLibrary, TechValue

# synthesized entries (sim/tech/rtl_spade.yaml, at the RTL's own widths): energy per
# merge step (one coordinate compared) and per word address, area of one RGU and of one address generator
RTL_ENTRIES = {"rgu_step_pj": "rtl_rgu_pj_per_cycle", "rgu_area_um2": "rtl_rgu_area_um2",
               "gsu_address_pj": "rtl_gather_addr_pj_per_cycle", "gsu_address_area_um2": "rtl_gather_addr_area_um2"}
FEATURE_SRAMS = ("input", "output")  # banked by the GSU
SRAMS = ("input", "output", "weight", "rule")


def _comparator(t: TechLibrary, bits: int, unit: str) -> TechValue:
    """An Aladdin comparator of ``bits`` (its table's width rule: linear in width)."""
    return t.scaled(f"aladdin_comparator_32_{unit}") * (bits / 32)


def spade_basis(t: TechLibrary, c: SpadeConfig) -> dict[str, TechValue]:
    """Every SPADE-specific per-unit cost (module docstring), by name."""
    cb, ib, acc, op = c.rgu.coord_bits, c.rgu.index_bits, c.mac.acc_bits, c.mac.operand_bits
    key_bits = 2 * cb  # a (y, x) coordinate compared as one key
    reg_pj, reg_um2 = t.register_pj_per_bit(), t.register_area_um2_per_bit()
    basis: dict[str, TechValue] = {}
    for name in SRAMS:
        size = int(getattr(c.sram, f"{name}_kb") * 1024)
        macros, bits = (c.gsu.banks, c.gsu.word_bits) if name in FEATURE_SRAMS else (1, 64)
        for rw in ("read", "write"):
            access = t.sram_access_pj(size / macros, bits=bits, write=rw == "write")
            basis[f"sram_{name}_{rw}_pj_per_bit"] = TechValue(access.value / bits, "pJ/bit",
                                                              f"{access.source} / {bits} bits")
        basis[f"sram_{name}_area_mm2"] = t.sram_area_mm2(size / macros) * macros
    # RGU (per merge step) and GSU address generators (per word address): the synthesized RTL
    basis.update({key: t.scaled(name) for key, name in RTL_ENTRIES.items()})
    # GSU: a banks x banks crossbar of word_bits each way (mux2 cells)
    basis["gsu_crossbar_area_um2"] = t.scaled("cell_mux2_x1_um2") * (2 * c.gsu.banks * max(c.gsu.banks - 1, 0)
                                                                     * c.gsu.word_bits)
    # DVP: per channel element of a score (a learned score's multiply-add costs as an L2 norm's
    # square-and-add), per compare of a score; lanes of element units
    element = {"l1": (t.int_add_pj(acc), t.int_add_area_um2(acc)),
               "l2": (t.int_mult_pj(op, op) + t.int_add_pj(acc), t.int_mult_area_um2(op, op) + t.int_add_area_um2(acc)),
               "linf": (_comparator(t, acc, "pj"), _comparator(t, acc, "um2"))}
    dvp_lane = "l2" if c.dvp.criterion == "learned" else c.dvp.norm
    basis["dvp_element_pj"], dvp_lane_um2 = element[dvp_lane]
    basis["score_compare_pj"] = _comparator(t, acc, "pj")
    basis["dvp_area_um2"] = dvp_lane_um2 * c.dvp.lanes + _comparator(t, acc, "um2")
    # SPADE+: scores on the DVP lanes (a learned score is a Cin-long dot product: lanes without a
    # multiplier get one), a top-k comparator, and the output-coordinate merge (a key comparison and
    # a register per coordinate)
    plus_lane = "l2" if c.plus.score == "learned" else dvp_lane
    basis["plus_element_pj"] = element[plus_lane][0]
    basis["plus_merge_pj"] = _comparator(t, key_bits, "pj") + reg_pj * (key_bits + ib)
    basis["plus_area_um2"] = (_comparator(t, acc, "um2") + _comparator(t, key_bits, "um2")
                              + reg_um2 * (key_bits + ib))
    if plus_lane != dvp_lane:
        basis["plus_area_um2"] = basis["plus_area_um2"] + t.int_mult_area_um2(op, op) * c.dvp.lanes
    return basis
