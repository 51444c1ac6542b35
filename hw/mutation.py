"""Mutation testing of the RTL generators: a catalogue of source-level faults and the harness that builds them.

A mutant is one edit of a generator's Python source: an exact ``find`` snippet (it must occur
exactly once, else the catalogue has drifted from the source and ``mutated_class`` says so) and its
``replace``ment. The harness compiles the edited source into a fresh module object and takes the
class from it, so nothing on disk or in ``sys.modules`` changes; the mutant is built with the same
parameters as the original unit and simulated on the same vectors. It is *killed* when an output
differs from the golden model in some cycle.

The kinds are the faults a verification engineer would try on these units: off-by-one saturation,
a dropped guard bit, an operand width narrowed by one bit, a sign inverted in one lane, a wrong
E2M1 decode (hitting both signs alike), a swapped partial sum, a stuck ``valid``, a reset that is
ignored, and a pipeline stage dropped (the latency off by one). A kind that a unit does not have
(saturation in the block unit, partial sums in the integer MAC) has no entry for it. Faults of the
pipelined units (``pipeline=1``: a stage's ``valid`` register stuck at 1, a stage dropped, the
stage registers without reset; ``pipeline`` 2 and 3: the block unit's partial-sum stage and its
mantissa-multiply stage dropped) and of the block unit's ``magnitude`` datapath (the sign applied
to the wrong tree, a magnitude tree narrowed, lane 0 steered to the wrong sign's tree) carry those
parameters in ``when``, so they run on the plans that build them.

*Equivalent* mutants change the netlist but no output for any input; the catalogue keeps them with
the reason (``equivalent``), checked by range arithmetic in the tests, instead of a kill:

- the guard bit under ``overflow="wrap"``: the ``acc_bits + 1``-bit sum is truncated to
  ``acc_bits`` anyway, and the low ``acc_bits`` bits of a sum do not depend on the bit above them;
- the dINT4 product narrowed by one bit: regular codes -7..6 times INT-b shifted by k reach at most
  7 * 2^(b-1) * 2^k, one bit below ``w_bits + a_bits + k``, and the special codes give +-a;
- the block unit's exponent narrowed by one bit with E8M0 scales: Ea + Ew - 2 lies in -256..254,
  9 signed bits, and the width is built for the symmetric bound +-256 (10 bits). For E5M2
  (-34..26) and E4M3 (-20..8) the built width is tight, so ``exp_narrowed`` is killed there.
"""

from __future__ import annotations

import importlib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from sim.models.pes import PES

KINDS = ("saturation", "guard_bit", "width", "sign", "decode", "partial_sum", "valid", "reset", "latency")

# Replaces ``return m`` at the end of ``elaborate``: the unit's registers move to a clock domain
# that has the same clock and no reset.
_RESET_IGNORED = '''        from amaranth.hdl import ClockDomain, ClockSignal, DomainRenamer
        top = Module()
        top.domains.unreset = ClockDomain(reset_less=True)
        top.d.comb += ClockSignal("unreset").eq(ClockSignal("sync"))
        top.submodules.core = DomainRenamer("unreset")(m)
        return top
'''


@dataclass(frozen=True)
class Mutant:
    """One source edit of the class ``rtl`` ("module:Class", as in the PE registry)."""

    name: str
    kind: str
    rtl: str
    find: str
    replace: str
    needs: Mapping = field(default_factory=dict)  # registry parameters a unit must have for the edit to apply
    when: Mapping = field(default_factory=dict)  # parameters the unit is built with (e.g. a saturating accumulator)
    equivalent: str = ""  # why no input can tell it from the original; empty: it must be killed

    def applies_to(self, unit: str) -> bool:
        pe = PES[unit]
        return pe.rtl == self.rtl and all(pe.rtl_params.get(k) == v for k, v in self.needs.items())


_MAC, _BLOCK = "hw.int_mac:IntMAC", "hw.block_dot:BlockDot"
_SAT, _WRAP = {"overflow": "saturate"}, {"overflow": "wrap"}
_INT_W, _DINT4 = {"weight_format": "int"}, {"weight_format": "dint4"}
_PIPED, _MAGNITUDE = {"pipeline": 1}, {"datapath": "magnitude"}
_HI = "hi, lo = (1 << (self.acc_bits - 1)) - 1, -(1 << (self.acc_bits - 1))"
_GUARD = "total = Signal(signed(self.acc_bits + 1))"
_PROD = "prod = Signal(signed(self.product_bits))"
_STAGE = 'stage = [Signal.like(prod, name="prod_s1"), Signal(name="valid_s1"), Signal(name="first_s1")]'
_STAGE_IN = "zip(stage, (prod, valid, first))"
_EXP = "self.exp_bits = _bits(max(2 - 2 * e_lo, 2 * e_hi - 2))"
_LANE_SIGN = "self.a[i][SIGN] ^ self.w[i][SIGN]"
_SKIP = "if self.pipeline < k:"
_PICK = '(s["a_sign"][n] ^ s["w_sign"][n])'
_APPLY = "m.d.comb += psum.eq(trees.get(0, 0) - trees.get(1, 0))"

CATALOGUE: tuple[Mutant, ...] = (
    # ---- IntMAC ----
    Mutant("saturate_hi_minus_1", "saturation", _MAC, _HI, _HI.replace(") - 1,", ") - 2,"), when=_SAT),
    Mutant("saturate_lo_plus_1", "saturation", _MAC, _HI, _HI + " + 1", when=_SAT),
    Mutant("guard_bit_dropped", "guard_bit", _MAC, _GUARD, "total = Signal(signed(self.acc_bits))", when=_SAT),
    Mutant("guard_bit_dropped_wrap", "guard_bit", _MAC, _GUARD, "total = Signal(signed(self.acc_bits))", when=_WRAP,
           equivalent="wrap truncates the sum to acc_bits; the low bits do not depend on the guard bit"),
    Mutant("product_narrowed", "width", _MAC, _PROD, "prod = Signal(signed(self.product_bits - 1))", needs=_INT_W),
    Mutant("product_narrowed_dint4", "width", _MAC, _PROD, "prod = Signal(signed(self.product_bits - 1))",
           needs=_DINT4, equivalent="|(w * a) << k| <= 7 * 2^(a_bits - 1) * 2^k for codes -7..6 fits one bit less"),
    Mutant("acc_narrowed", "width", _MAC, '"acc": Out(signed(acc_bits))', '"acc": Out(signed(acc_bits - 1))'),
    Mutant("product_sign_inverted", "sign", _MAC, "m.d.comb += prod.eq(self.w * self.a)",
           "m.d.comb += prod.eq(-(self.w * self.a))", needs=_INT_W),
    Mutant("dint4_multiplier_sign_inverted", "sign", _MAC, "(self.w * self.a) << self.shift",
           "(-(self.w * self.a)) << self.shift", needs=_DINT4),
    Mutant("dint4_negative_code_sign_inverted", "sign", _MAC, "Mux(self.w == neg, -self.a,",
           "Mux(self.w == neg, self.a,", needs=_DINT4),
    Mutant("valid_stuck_1", "valid", _MAC, "with m.If(valid):", "with m.If(1):"),
    Mutant("valid_stuck_0", "valid", _MAC, "with m.If(valid):", "with m.If(0):"),
    Mutant("reset_ignored", "reset", _MAC, "        return m\n", _RESET_IGNORED),
    # pipelined IntMAC (a product register with valid and first beside it)
    Mutant("stage_valid_stuck_1", "valid", _MAC, _STAGE_IN, "zip(stage, (prod, 1, first))", when=_PIPED),
    Mutant("stage_dropped", "latency", _MAC, "prod, valid, first = stage", "pass", when=_PIPED),
    Mutant("stage_reset_ignored", "reset", _MAC, _STAGE, _STAGE.replace('_s1")', '_s1", reset_less=True)'),
           when=_PIPED),
    # ---- BlockDot ----
    Mutant("lane_product_narrowed", "width", _BLOCK, "signed(2 * self.elem_bits + 1)", "signed(2 * self.elem_bits)"),
    Mutant("magnitude_narrowed", "width", _BLOCK, "mag = Signal(self.elem_bits)", "mag = Signal(self.elem_bits - 1)"),
    Mutant("psum_narrowed", "width", _BLOCK, "self.psum_bits = _bits(block * max_elem ** 2)",
           "self.psum_bits = _bits(block * max_elem ** 2) - 1"),
    Mutant("mant_narrowed", "width", _BLOCK, "self.mant_bits = _bits(block * max_elem ** 2 * max_mant ** 2)",
           "self.mant_bits = _bits(block * max_elem ** 2 * max_mant ** 2) - 1"),
    Mutant("scale_mantissa_narrowed", "width", _BLOCK, "mant = Signal(f.mbits + 1)", "mant = Signal(f.mbits)",
           needs={"scale_format": "e5m2"}),
    Mutant("exp_narrowed", "width", _BLOCK, _EXP, _EXP + " - 1", needs={"scale_format": "e5m2"}),
    Mutant("exp_narrowed_e8m0", "width", _BLOCK, _EXP, _EXP + " - 1", needs={"scale_format": "e8m0"},
           equivalent="Ea + Ew - 2 spans -256..254 for E8M0: 9 signed bits, one fewer than the symmetric bound builds"),
    Mutant("lane0_sign_inverted", "sign", _BLOCK, _LANE_SIGN, _LANE_SIGN + " ^ (i == 0)"),
    Mutant("e2m1_half_decoded_as_one", "decode", _BLOCK, "Mux(e == 0, man, ((man | 1 << f.mbits) << e) >> 1)",
           "Mux(e == 0, man << 1, ((man | 1 << f.mbits) << e) >> 1)"),
    Mutant("psum_a_sides_swapped", "partial_sum", _BLOCK, 'sel = sel & (s["a_sign"][lane] == i)',
           'sel = sel & (s["a_sign"][lane] != i)', needs={"a_asymmetric": True}),
    Mutant("psum_w_sides_swapped", "partial_sum", _BLOCK, 'sel = sel & (s["w_sign"][lane] == j)',
           'sel = sel & (s["w_sign"][lane] != j)', needs={"w_asymmetric": True}),
    Mutant("out_valid_stuck_1", "valid", _BLOCK, 'self.out_valid.eq(s["valid"])', "self.out_valid.eq(1)"),
    Mutant("out_valid_stuck_0", "valid", _BLOCK, 'self.out_valid.eq(s["valid"])', "self.out_valid.eq(0)"),
    Mutant("reset_ignored", "reset", _BLOCK, "        return m\n", _RESET_IGNORED),
    # pipelined BlockDot (registers after the lanes, the partial sums and inside the mantissa multiply)
    Mutant("stage_valid_stuck_1", "valid", _BLOCK, '"valid": self.valid', '"valid": Const(1, 1)', when=_PIPED),
    Mutant("stage_dropped", "latency", _BLOCK, _SKIP, "if self.pipeline < k or k == 1:", when=_PIPED),
    Mutant("stage2_dropped", "latency", _BLOCK, _SKIP, "if self.pipeline < k or k == 2:", when={"pipeline": 2}),
    Mutant("stage3_dropped", "latency", _BLOCK, _SKIP, "if self.pipeline < k or k == 3:", when={"pipeline": 3},
           needs={"scale_format": "e5m2"}),
    Mutant("stage_reset_ignored", "reset", _BLOCK, 'name=f"{name}{n}_s{k}")',
           'name=f"{name}{n}_s{k}", reset_less=True)', when=_PIPED),
    # magnitude datapath (unsigned trees per product sign, the sign applied after the tree)
    Mutant("magnitude_sign_swapped", "sign", _BLOCK, _APPLY,
           _APPLY.replace("get(0, 0) - trees.get(1, 0)", "get(1, 0) - trees.get(0, 0)"), when=_MAGNITUDE),
    Mutant("magnitude_tree_narrowed", "width", _BLOCK, "unsigned(self.psum_bits - 1)", "unsigned(self.psum_bits - 2)",
           when=_MAGNITUDE),
    Mutant("magnitude_lane0_sign_inverted", "sign", _BLOCK, _PICK, _PICK.replace("])", "] ^ (n == 0))"),
           needs={"a_asymmetric": False}, when=_MAGNITUDE),
)


def mutants(unit: str) -> list[Mutant]:
    """The catalogue entries that apply to the registry PE ``unit``."""
    return [m for m in CATALOGUE if m.applies_to(unit)]


def mutated_source(mutant: Mutant) -> tuple[str, str]:
    """(path, edited source) of the mutant's module; the snippet must occur exactly once."""
    module = importlib.import_module(mutant.rtl.split(":")[0])
    path = module.__file__
    source = Path(path).read_text()
    count = source.count(mutant.find)
    if count != 1:
        raise LookupError(f"mutant {mutant.name}: snippet {mutant.find!r} occurs {count} times in {path}; allowed: once")
    return path, source.replace(mutant.find, mutant.replace)


def mutated_class(mutant: Mutant) -> type:
    """The mutant's class, compiled from the edited source into a fresh module object."""
    module_name, cls = mutant.rtl.split(":")
    path, source = mutated_source(mutant)
    module = types.ModuleType(f"{module_name}__{mutant.name}")
    module.__file__ = path
    exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102  (our own generator source, edited)
    return getattr(module, cls)


def build(mutant: Mutant, unit: str, **params):
    """The mutant of registry PE ``unit`` with its registry parameters overridden by ``params``."""
    return mutated_class(mutant)(**{**PES[unit].rtl_params, **params})


def verdict(mutant: Mutant, unit: str, plans=None, simulate=None) -> str:
    """Where ``mutant`` of ``unit`` is killed ("<parameters> <stimulus>: <outputs that differ>"), or "" if it
    survives every plan (default: ``hw.corners.plans``, those built with the mutant's ``when``), in order."""
    from hw import corners, generators, golden, pysim

    simulate = simulate or pysim.run
    for params, stimulus in corners.plans(unit) if plans is None else plans:
        built = {**PES[unit].rtl_params, **params}
        if any(built.get(k) != v for k, v in mutant.when.items()):
            continue
        original = generators.build(unit, **params)
        inputs = stimulus(original)
        bad = golden.mismatches(corners.expected(original, inputs), simulate(build(mutant, unit, **params), inputs))
        if any(bad.values()):
            return f"{params or 'defaults'} {stimulus.__name__}: " + ", ".join(f"{k} x{v}" for k, v in bad.items() if v)
    return ""


# ---- SPADE stream units (``hw.rgu``, ``hw.gather_address``) ------------------------------------
# Not registry PEs: their tests (tests/hw/test_rgu.py, tests/hw/test_gather_address.py) run every
# entry here through the unit's stream bench against its golden model and require each one killed.

SPADE_KINDS = ("comparator", "priority", "stride", "offset", "handshake", "valid", "width", "framing", "duplicate",
               "bank", "address", "issue")
_RGU = "hw.rgu:RuleGenerationUnit"

SPADE_CATALOGUE: tuple[Mutant, ...] = (
    Mutant("comparator_off_by_one", "comparator", _RGU, "((qy < a.payload.y) |", "((qy <= a.payload.y) |"),
    Mutant("equal_x_taken_as_less", "comparator", _RGU, "(qx < a.payload.x)", "(qx <= a.payload.x)"),
    Mutant("equal_x_ignored", "comparator", _RGU, "(qy == a.payload.y) & (qx == a.payload.x)", "(qy == a.payload.y)"),
    Mutant("end_ranks_lowest", "comparator", _RGU, "q_less = (~b_end & a_end)", "q_less = (b_end & ~a_end)"),
    Mutant("yx_priority_swapped", "priority", _RGU, "((qy < a.payload.y) | ((qy == a.payload.y) & (qx < a.payload.x)))",
           "((qx < a.payload.x) | ((qx == a.payload.x) & (qy < a.payload.y)))"),
    Mutant("stride_shift_wrong", "stride", _RGU, "self.stride, self.shift = stride, exact_log2(stride)",
           "self.stride, self.shift = stride, exact_log2(stride) + 1"),
    Mutant("offset_subtracted", "offset", _RGU, "(b.payload.x << self.shift) + self.offset.x",
           "(b.payload.x << self.shift) - self.offset.x"),
    Mutant("back_pressure_dropped", "handshake", _RGU, "step = compare & (~emit | ~p.valid | p.ready)",
           "step = compare"),
    Mutant("pairs_valid_stuck_1", "valid", _RGU, "m.d.sync += p.valid.eq(0)", "m.d.sync += p.valid.eq(1)"),
    Mutant("row_counter_narrowed", "width", _RGU, "row = Signal(self.row_bits,", "row = Signal(self.row_bits - 1,"),
    Mutant("duplicate_register_narrowed", "width", _RGU, "prev = Signal(coord_layout(self.coord_bits)",
           "prev = Signal(coord_layout(self.coord_bits - 1)"),
    Mutant("row_not_reset_at_frame_end", "framing", _RGU, "m.d.sync += [row.eq(0), prev.end.eq(0)]",
           "m.d.sync += [prev.end.eq(0)]"),
    Mutant("duplicate_seen_across_frames", "framing", _RGU, "m.d.sync += [row.eq(0), prev.end.eq(0)]",
           "m.d.sync += [row.eq(0)]"),
    Mutant("end_beat_missing", "framing", _RGU, "emit = equal | both_end", "emit = equal"),
    Mutant("duplicate_counted", "duplicate", _RGU, "with m.Elif(~dup):", "with m.Else():"),
    Mutant("duplicate_not_detected", "duplicate", _RGU, "dup = ~s.payload.end & prev.end &",
           "dup = ~s.payload.end & prev.end & 0 &"),
)
_GATHER = "hw.gather_address:GatherAddressGenerator"
SPADE_CATALOGUE += (
    Mutant("bank_bit_slice_wrong", "bank", _GATHER, "o.payload.bank.eq(addr[:self.bank_bits])",
           "o.payload.bank.eq(addr[1:self.bank_bits + 1])"),
    Mutant("line_shift_off_by_one", "address", _GATHER, "o.payload.line.eq(addr[self.bank_bits:])",
           "o.payload.line.eq(addr[self.bank_bits + 1:])"),
    Mutant("address_register_narrowed", "width", _GATHER, "self.addr_bits = row_bits + ceil_log2(words)",
           "self.addr_bits = row_bits + ceil_log2(words) - 1"),
    Mutant("row_narrowed", "width", _GATHER, "first = i.payload.row * self.words",
           "first = i.payload.row[:-1] * self.words"),
    Mutant("word_counter_narrowed", "width", _GATHER, "left = Signal(ceil_log2(self.words))",
           "left = Signal(max(0, ceil_log2(self.words) - 1))"),
    Mutant("last_word_off_by_one", "framing", _GATHER, "last = left == 0", "last = left == 1"),
    Mutant("back_pressure_dropped", "handshake", _GATHER, "with m.Elif(o.valid & o.ready):", "with m.Elif(o.valid):"),
    Mutant("row_taken_mid_vector", "handshake", _GATHER, "i.ready.eq(~busy | (o.ready & last))",
           "i.ready.eq(~busy | o.ready)"),
    Mutant("words_valid_stuck_1", "valid", _GATHER, "o.valid.eq(busy)", "o.valid.eq(1)"),
    Mutant("bank_conflict_ignored", "issue", _GATHER, "opens = ~started | (banks & used).any() |", "opens = ~started |"),
    Mutant("vector_cap_ignored", "issue", _GATHER, "| (count == self.vectors_per_cycle)", ""),
    Mutant("bank_wrap_dropped", "bank", _GATHER, "banks = wide[:self.banks] | wide[self.banks:2 * self.banks]",
           "banks = wide[:self.banks]"),
    Mutant("used_banks_not_accumulated", "issue", _GATHER, "used.eq(used | banks)", "used.eq(banks)"),
    Mutant("own_cycles_rounded_down", "issue", _GATHER, "cycle.eq(cycle + -(-self.words // self.banks))",
           "cycle.eq(cycle + self.words // self.banks)"),
    Mutant("issue_counter_narrowed", "width", _GATHER, "cycle = Signal(self.cycle_bits)",
           "cycle = Signal(self.cycle_bits - 1)"),
)
