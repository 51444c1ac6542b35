"""Sequential integer MAC unit: INT-b x INT-b and dINT4 x INT-b, one product per cycle.

Golden model: ``sim.numerics.mac.int_mac``. Ports: weight code ``w``, activation code ``a``,
``valid`` (accumulate this cycle) and ``first`` (start a new sum with this product); ``acc`` is the
registered accumulator.

Latency (``latency = 1 + pipeline``): ``acc`` in cycle t + latency reflects the input row
presented in cycle t. ``pipeline=0``: multiplier and accumulator adder in one cycle. ``pipeline=1``
registers the product (with ``valid`` and ``first`` beside it), so the multiplier and the
accumulate are separate cycles; deeper multiplier pipelining is not offered (``MAX_PIPELINE``).
Every pipeline register resets to 0, what an all-zero input row (``valid`` low) would hold.

dINT4 weights: codes -7..6 go through the signed w_bits x a_bits multiplier and are shifted left by
``special_shift`` (wiring only); the two extreme codes, 2^(b-1)-1 and -2^(b-1) (0b0111 / 0b1000),
select +a / -a instead (a mux and a negation, no multiplier), so the accumulator carries
``special_shift`` fraction bits. All constants derive from the parameters (no golden-side tables).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sim.errors import ConfigError, field_message

OVERFLOW_RULES = ("wrap", "saturate")
MAX_PIPELINE = 1


def _check_int(field: str, value, lo: int, hi: int, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(field_message(field, value, allowed))


class IntMAC(wiring.Component):
    """``acc <= wrap_or_saturate((first ? 0 : acc) + product(w, a))`` on every valid cycle."""

    def __init__(self, w_bits: int = 8, a_bits: int = 8, acc_bits: int = 24, overflow: str = "wrap",
                 weight_format: str = "int", special_shift: int = 1, pipeline: int = 0):
        for field, bits in (("w_bits", w_bits), ("a_bits", a_bits)):
            _check_int(field, bits, 2, 16, "2 to 16")
        if weight_format not in ("int", "dint4"):
            raise ConfigError(field_message("weight_format", weight_format, "int, dint4"))
        if weight_format == "dint4" and w_bits != 4:
            raise ConfigError(field_message("w_bits", w_bits, "4 for dint4 weights"))
        if overflow not in OVERFLOW_RULES:
            raise ConfigError(field_message("overflow", overflow, ", ".join(OVERFLOW_RULES)))
        widest = 64 - w_bits - a_bits
        _check_int("special_shift", special_shift, 0, widest,
                   f"an integer from 0 to {widest} (the shifted product fits 64 bits)")
        _check_int("pipeline", pipeline, 0, MAX_PIPELINE, f"an integer from 0 to {MAX_PIPELINE} (a product register)")
        shift = special_shift if weight_format == "dint4" else 0
        self.product_bits = w_bits + a_bits + shift
        _check_int("acc_bits", acc_bits, self.product_bits, 64, f"{self.product_bits} (the product width) to 64")
        self.w_bits, self.a_bits, self.acc_bits = w_bits, a_bits, acc_bits
        self.overflow, self.weight_format, self.shift = overflow, weight_format, shift
        self.special_codes = ((1 << (w_bits - 1)) - 1, -(1 << (w_bits - 1)))  # dINT4: +2^-k, -2^-k
        self.pipeline, self.latency = pipeline, 1 + pipeline
        super().__init__({"w": In(signed(w_bits)), "a": In(signed(a_bits)), "valid": In(1), "first": In(1),
                          "acc": Out(signed(acc_bits))})

    def elaborate(self, platform):
        m = Module()
        prod = Signal(signed(self.product_bits))
        if self.weight_format == "dint4":
            pos, neg = self.special_codes
            ordinary = (self.w * self.a) << self.shift
            m.d.comb += prod.eq(Mux(self.w == pos, self.a, Mux(self.w == neg, -self.a, ordinary)))
        else:
            m.d.comb += prod.eq(self.w * self.a)
        valid, first = self.valid, self.first
        if self.pipeline:
            stage = [Signal.like(prod, name="prod_s1"), Signal(name="valid_s1"), Signal(name="first_s1")]
            m.d.sync += [reg.eq(v) for reg, v in zip(stage, (prod, valid, first))]
            prod, valid, first = stage
        total = Signal(signed(self.acc_bits + 1))
        m.d.comb += total.eq(Mux(first, 0, self.acc) + prod)
        with m.If(valid):
            if self.overflow == "wrap":
                m.d.sync += self.acc.eq(total)  # truncation to acc_bits is the wrap
            else:
                hi, lo = (1 << (self.acc_bits - 1)) - 1, -(1 << (self.acc_bits - 1))
                m.d.sync += self.acc.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
        return m
