"""Sequential integer MAC unit: INT-b x INT-b and dINT4 x INT-b, one product per cycle.

Golden model: ``sim.numerics.mac.int_mac``. Ports: weight code ``w``, activation code ``a``,
``valid`` (accumulate this cycle) and ``first`` (start a new sum with this product); ``acc`` is the
registered accumulator, updated on the clock edge after a valid cycle.

dINT4 weights: codes -7..6 go through the signed w_bits x a_bits multiplier and are shifted left by
``special_shift`` (wiring only); the special codes 0b0111 / 0b1000 select +a / -a instead (a mux and
a negation, no multiplier), so the accumulator carries ``special_shift`` fraction bits.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sim.errors import ConfigError, field_message
from sim.numerics.codes import DINT4_NEG_CODE, DINT4_POS_CODE
from sim.numerics.mac import OVERFLOW_RULES


class IntMAC(wiring.Component):
    """``acc <= wrap_or_saturate((first ? 0 : acc) + product(w, a))`` on every valid cycle."""

    def __init__(self, w_bits: int = 8, a_bits: int = 8, acc_bits: int = 24, overflow: str = "wrap",
                 weight_format: str = "int", special_shift: int = 1):
        for field, bits in (("w_bits", w_bits), ("a_bits", a_bits)):
            if not 2 <= bits <= 16:
                raise ConfigError(field_message(field, bits, "2 to 16"))
        if weight_format not in ("int", "dint4"):
            raise ConfigError(field_message("weight_format", weight_format, "int, dint4"))
        if weight_format == "dint4" and w_bits != 4:
            raise ConfigError(field_message("w_bits", w_bits, "4 for dint4 weights"))
        if overflow not in OVERFLOW_RULES:
            raise ConfigError(field_message("overflow", overflow, ", ".join(OVERFLOW_RULES)))
        widest = 64 - w_bits - a_bits  # the shifted product must fit the widest accumulator
        if isinstance(special_shift, bool) or not isinstance(special_shift, int) or not 0 <= special_shift <= widest:
            raise ConfigError(field_message("special_shift", special_shift, f"an integer from 0 to {widest} "
                              "(the shifted product fits 64 bits)"))
        shift = special_shift if weight_format == "dint4" else 0
        self.product_bits = w_bits + a_bits + shift
        if not self.product_bits <= acc_bits <= 64:
            raise ConfigError(field_message("acc_bits", acc_bits, f"{self.product_bits} (the product width) to 64"))
        self.w_bits, self.a_bits, self.acc_bits = w_bits, a_bits, acc_bits
        self.overflow, self.weight_format, self.shift = overflow, weight_format, shift
        super().__init__({"w": In(signed(w_bits)), "a": In(signed(a_bits)), "valid": In(1), "first": In(1),
                          "acc": Out(signed(acc_bits))})

    def elaborate(self, platform):
        m = Module()
        prod = Signal(signed(self.product_bits))
        if self.weight_format == "dint4":
            m.d.comb += prod.eq(Mux(self.w == DINT4_POS_CODE, self.a,
                                    Mux(self.w == DINT4_NEG_CODE, -self.a, (self.w * self.a) << self.shift)))
        else:
            m.d.comb += prod.eq(self.w * self.a)
        total = Signal(signed(self.acc_bits + 1))
        m.d.comb += total.eq(Mux(self.first, 0, self.acc) + prod)
        with m.If(self.valid):
            if self.overflow == "wrap":
                m.d.sync += self.acc.eq(total)  # truncation to acc_bits is the wrap
            else:
                hi, lo = (1 << (self.acc_bits - 1)) - 1, -(1 << (self.acc_bits - 1))
                m.d.sync += self.acc.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
        return m
