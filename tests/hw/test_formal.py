"""Formal equivalence (``hw.formal``: Yosys miter + sat, induction from reset).

(a) Amaranth's RTLIL of every generator equals both Verilog texts made from it: Amaranth's own
    ``verilog.convert`` and ``hw.export.verilog_text``, the one file ``dse rtl`` writes and Icarus
    and Verilator co-simulate. (b) A pipelined unit equals its unpipelined one delayed by the latency
    difference. (c) BlockDot's two datapaths (signed, magnitude) are equal. Every kind of check is also shown
    to fail: on an RTL mutant, on a miter wired with the wrong latency and on a broken lane.

Sizes keep the suite's share small (``SMALL``, ``SEQUENTIAL``): block 8 (MXFP4) and 4 (AMXFP4)
against the Verilog texts, smaller blocks where two differently built datapaths meet, a 2 x 2
array, induction depth <= pipeline + 2 (every proof here closes at k <= 3). The generators build
every lane with the same code, so a small block exercises each construct of a large one; the
proofs are not proofs of block 32. With E8M0 scales AMXFP4 has no mantissa multiply, so its third
pipeline stage (the split mantissa multiply, E5M2/E4M3 only) is not covered here.
"""

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw import export, formal, generators
from hw.block_dot import BlockDot
from sim.errors import ConfigError
from sim.models.pes import PES

pytestmark = pytest.mark.formal

SMALL = {"mxfp4": {"block": 8}, "amxfp4": {"block": 4}, "pe_array": {"rows": 2, "cols": 2, "pe": "int4xint4"}}
# Pipelined and datapath checks compare differently-shaped adder trees, harder for SAT: smaller
# blocks, and AMXFP4 with E8M0 scales. The E5M2 scale-mantissa multiply sits behind the partial sum
# in both designs, but it is not matched up as a cut point, so SAT would have to prove two
# multipliers equal on differently computed inputs (over 200 s at block 4; MXFP4's two magnitude
# trees per sign took 64 s at block 4).
SEQUENTIAL = {"mxfp4": {"block": 2}, "amxfp4": {"block": 2, "scale_format": "e8m0"}}
GENERATORS = [*PES, "pe_array"]


def small(name, **params):
    return generators.build(name, **{**SMALL.get(name, {}), **params})


def sequential(name, **params):
    return generators.build(name, **{**SEQUENTIAL.get(name, {}), **params})


def assert_proven(verdict):
    assert verdict.equivalent and verdict.cycles is None, str(verdict)


def assert_refuted(verdict):
    assert not verdict.equivalent, str(verdict)
    assert "gold_" in verdict.counterexample and "gate_" in verdict.counterexample, verdict.counterexample


# ---- (a) the exported Verilog is the RTL the tests simulate ---------------------------------------

VERILOG_TEXTS = {
    "verilog.convert": lambda c, name: verilog.convert(c, name=name, emit_src=False),
    "export": lambda c, name: export.verilog_text(c, name),
}


@pytest.mark.parametrize("text", VERILOG_TEXTS)
@pytest.mark.parametrize("name", GENERATORS)
def test_verilog_equals_rtlil(name, text):
    component = small(name)
    assert_proven(formal.equivalent(component, VERILOG_TEXTS[text](component, name), depth=4))


def test_mutated_verilog_is_caught():
    """An RTL change in the exported text (the accumulator adds the product's negation)."""
    component = generators.build("int8xint8")
    text = verilog.convert(component, name="top", emit_src=False)
    mutant = text.replace("+ $signed(prod)", "- $signed(prod)")
    assert mutant != text
    assert_refuted(formal.equivalent(component, mutant))


def test_other_unit_is_caught():
    """The miter wired to the wrong netlist: a saturating vs a wrapping 8-bit accumulator of int4
    products. The shortest difference: (-8)(-8) twice, 64 + 64 = 128 wraps to -128 but saturates to
    127 in cycle 3."""
    wrap = generators.build("int4xint4", acc_bits=8)
    saturate = generators.build("int4xint4", acc_bits=8, overflow="saturate")
    verdict = formal.equivalent(wrap, export.verilog_text(saturate, "top"), depth=4)
    assert_refuted(verdict)
    assert verdict.cycles == 3


def test_unreached_difference_is_only_bounded():
    """With 16-bit accumulators the overflow is 512 products away: 3 cycles from reset are proven
    equal, and the verdict says bounded (induction cannot close: a state near overflow differs)."""
    wrap, saturate = generators.build("int4xint4"), generators.build("int4xint4", overflow="saturate")
    verdict = formal.equivalent(wrap, saturate, depth=3)
    assert verdict.equivalent and verdict.cycles == 3, str(verdict)
    assert "bounded" in str(verdict)


class Product(wiring.Component):
    """Register-free ``y = a * b`` (``swapped``: ``b * a``; ``broken``: ``a + b``)."""

    def __init__(self, swapped=False, broken=False):
        self.swapped, self.broken = swapped, broken
        super().__init__({"a": In(4), "b": In(4), "y": Out(8)})

    def elaborate(self, platform):
        m = Module()
        x, y = (self.b, self.a) if self.swapped else (self.a, self.b)
        m.d.comb += self.y.eq(x + y if self.broken else x * y)
        return m


def test_register_free_designs_are_proven_in_one_step():
    verdict = formal.equivalent(Product(), Product(swapped=True), depth=1)
    assert verdict.equivalent and verdict.cycles is None and verdict.induction_length == 1, str(verdict)
    broken = formal.equivalent(Product(), Product(swapped=True, broken=True), depth=1)
    assert_refuted(broken)
    assert broken.cycles == 1


# ---- (b) pipelined == unpipelined delayed by the latency difference -------------------------------

class Accumulator(wiring.Component):
    """``acc += a`` on valid cycles; ``pipeline`` registers on the inputs first (latency 1 + pipeline)."""

    def __init__(self, pipeline=0, broken=False):
        self.pipeline, self.latency, self.broken = pipeline, 1 + pipeline, broken
        super().__init__({"a": In(8), "valid": In(1), "first": In(1), "acc": Out(12)})

    def elaborate(self, platform):
        m = Module()
        a, valid, first = self.a, self.valid, self.first
        for stage in range(self.pipeline):
            regs = Signal(8, name=f"a{stage}"), Signal(name=f"valid{stage}"), Signal(name=f"first{stage}")
            m.d.sync += [r.eq(v) for r, v in zip(regs, (a, valid, first))]
            a, valid, first = regs
            if self.broken:
                first = valid  # the mutant: a stage drops `first` and starts a sum on every valid step
        with m.If(valid):
            m.d.sync += self.acc.eq(Mux(first, 0, self.acc) + a)
        return m


def pipelined_pair(make, depth):
    """``make(pipeline)`` at 0 and ``depth`` stages, and their latency difference."""
    base, piped = make(0), make(depth)
    return base, piped, piped.latency - base.latency


@pytest.mark.parametrize("stages", [1, 2])
def test_pipelined_accumulator_equals_delayed(stages):
    base, piped, shift = pipelined_pair(Accumulator, stages)
    assert_proven(formal.equivalent(base, piped, latency_shift=shift, depth=4))


def test_wrong_latency_is_caught():
    """The miter wired with a latency off by one, either way."""
    for shift in (0, 2):
        assert_refuted(formal.equivalent(Accumulator(0), Accumulator(1), latency_shift=shift, depth=4))


def test_broken_pipeline_stage_is_caught():
    assert_refuted(formal.equivalent(Accumulator(0), Accumulator(1, broken=True), latency_shift=1, depth=4))


def pipeline_depths(name):
    """Every ``pipeline`` value the generator accepts beyond 0 (it rejects the first too deep one)."""
    depths = []
    while True:
        try:
            sequential(name, pipeline=len(depths) + 1)
        except ConfigError:
            return depths
        depths.append(len(depths) + 1)


@pytest.mark.parametrize("name", PES)
def test_pipelined_unit_equals_delayed(name):
    depths = pipeline_depths(name)
    assert depths
    for stages in depths:
        base, piped, shift = pipelined_pair(lambda p: sequential(name, pipeline=p), stages)
        verdict = formal.equivalent(base, piped, latency_shift=shift, depth=stages + 2, valid=valid_output(base))
        assert_proven(verdict)


def valid_output(unit):
    """A block unit's data outputs count only with ``out_valid`` (its pipeline registers reset to 0,
    which decodes to exponent -256 while the unpipelined unit's output register still holds 0)."""
    return "out_valid" if "out_valid" in unit.signature.members else None


def test_shift_applies_to_array_ports():
    """A block unit is not equal to itself one cycle later (the delay reaches the array-shaped outputs)."""
    assert_refuted(formal.equivalent(small("mxfp4"), small("mxfp4"), latency_shift=1, depth=2))


# ---- (c) the two BlockDot datapaths are equal ----------------------------------------------------

BLOCK_UNITS = [n for n in PES if PES[n].rtl_class() is BlockDot]


@pytest.mark.parametrize("name", BLOCK_UNITS)
def test_magnitude_datapath_equals_signed(name):
    signed_, magnitude = sequential(name, datapath="signed"), sequential(name, datapath="magnitude")
    assert_proven(formal.equivalent(signed_, magnitude, depth=2))


class FlippedLaneSign(formal.Wrapper):
    """A block unit whose lane 0 reads the weight's sign bit inverted: lane 0's product changes sign
    (and, with an asymmetric weight, its partial sum)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.unit.w[0].eq(self.w[0] ^ 0b1000)
        return m


@pytest.mark.parametrize("name", BLOCK_UNITS)
def test_flipped_lane_sign_is_caught(name):
    verdict = formal.equivalent(sequential(name), FlippedLaneSign(sequential(name)), depth=2, valid="out_valid")
    assert_refuted(verdict)
    assert verdict.cycles == 2  # the registered outputs differ one edge after the first block
