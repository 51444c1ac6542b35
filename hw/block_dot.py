"""Block dot-product unit for E2M1 elements with shared scales: MXFP4 (one E8M0 scale per operand
block) and AMXFP4 (two scales per operand block, E5M2/E4M3/E8M0), one block per cycle.

Golden model: ``sim.numerics.mac.block_dot``. Every lane decodes its two E2M1 codes to integer
magnitudes in half units (0,1,2,3,4,6,8,12: a mux and a shift), multiplies them (4 x 4 bits) and
applies the XOR of the signs. An asymmetric operand's sign bit steers the lane's product to one of
its 2 (or, with both operands asymmetric, 4) partial sums; each partial sum is an adder tree over
the block. Per partial sum the unit then multiplies the scale mantissas (E5M2: 3 x 3 bits; E4M3:
4 x 4; E8M0: none), multiplies that into the sum and adds the scale exponents: the *terms*
(``mant``, ``exp``) leave through a register, one cycle after a ``valid`` input.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim.errors import ConfigError, field_message
from sim.numerics.codes import E8M0_BIAS
from sim.numerics.mac import E2M1_HALF_UNITS
from sim.numerics.minifloat import E4M3, E5M2

SCALE_FORMATS = {"e8m0": None, "e5m2": E5M2, "e4m3": E4M3}


def _bits(n: int) -> int:
    """Signed width holding -n .. n."""
    return n.bit_length() + 1


class BlockDot(wiring.Component):
    """Terms of the dot product of one block of E2M1 codes ``a`` and ``w`` under their block scales."""

    def __init__(self, block: int = 32, scale_format: str = "e8m0", a_asymmetric: bool = False,
                 w_asymmetric: bool = False):
        if scale_format not in SCALE_FORMATS:
            raise ConfigError(field_message("scale_format", scale_format, ", ".join(SCALE_FORMATS)))
        if not isinstance(block, int) or not 1 <= block <= 256:
            raise ConfigError(field_message("block", block, "an integer from 1 to 256"))
        self.block, self.fmt = block, SCALE_FORMATS[scale_format]
        self.n_a, self.n_w = 1 + a_asymmetric, 1 + w_asymmetric
        max_elem = int(E2M1_HALF_UNITS[-1])
        self.psum_bits = _bits(block * max_elem ** 2)
        max_mant = 1 if self.fmt is None else (1 << (self.fmt.mbits + 1)) - 1
        self.mant_bits = _bits(block * max_elem ** 2 * max_mant ** 2)
        self.exp_bits = 10 if self.fmt is None else 8  # E8M0: -256..254; minifloat scales: |E| < 32
        super().__init__({
            "a": In(data.ArrayLayout(4, block)), "w": In(data.ArrayLayout(4, block)),
            "a_scale": In(data.ArrayLayout(8, self.n_a)), "w_scale": In(data.ArrayLayout(8, self.n_w)),
            "valid": In(1),
            "mant": Out(data.ArrayLayout(signed(self.mant_bits), self.n_a * self.n_w)),
            "exp": Out(data.ArrayLayout(signed(self.exp_bits), self.n_a * self.n_w)),
            "out_valid": Out(1),
        })

    def _magnitude(self, m: Module, code) -> Signal:
        """|E2M1| in half units: m for exponent 0, (2 + m) << (e - 1) otherwise."""
        mag = Signal(4)
        e, man = code[1:3], code[0]
        m.d.comb += mag.eq(Mux(e == 0, man, ((man | 2) << e) >> 1))
        return mag

    def _scale_parts(self, m: Module, code) -> tuple:
        """Integer mantissa and exponent of a scale code (``sim.numerics.mac.scale_parts``)."""
        exp = Signal(signed(self.exp_bits))
        if self.fmt is None:
            m.d.comb += exp.eq(code - E8M0_BIAS)
            return Const(1, 1), exp
        f = self.fmt
        e, man = code[f.mbits:f.mbits + f.ebits], code[:f.mbits]
        mant = Signal(f.mbits + 1)
        m.d.comb += [mant.eq(Mux(e == 0, man, man | (1 << f.mbits))),
                     exp.eq(Mux(e == 0, 1, e) - (f.bias + f.mbits))]
        return mant, exp

    def elaborate(self, platform):
        m = Module()
        products, a_side, w_side = [], [], []
        for i in range(self.block):
            a, w = self.a[i], self.w[i]
            p = Signal(signed(9), name=f"p{i}")
            mag = Signal(8, name=f"mag{i}")
            m.d.comb += [mag.eq(self._magnitude(m, a) * self._magnitude(m, w)),
                         p.eq(Mux(a[3] ^ w[3], -mag, mag))]
            products.append(p)
            a_side.append(a[3])
            w_side.append(w[3])
        k = 0
        for i in range(self.n_a):
            ma, ea = self._scale_parts(m, self.a_scale[i])
            for j in range(self.n_w):
                mw, ew = self._scale_parts(m, self.w_scale[j])
                lanes = []
                for lane, p in enumerate(products):
                    sel = Const(1, 1)
                    if self.n_a == 2:
                        sel = sel & (a_side[lane] == i)
                    if self.n_w == 2:
                        sel = sel & (w_side[lane] == j)
                    lanes.append(p if self.n_a == self.n_w == 1 else Mux(sel, p, 0))
                psum = Signal(signed(self.psum_bits), name=f"psum{i}{j}")
                m.d.comb += psum.eq(_adder_tree(lanes))
                m.d.sync += [self.mant[k].eq(psum * (ma * mw)), self.exp[k].eq(ea + ew - 2)]
                k += 1
        m.d.sync += self.out_valid.eq(self.valid)
        return m


def _adder_tree(values: list):
    """Balanced sum (log depth) of ``values``."""
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]
