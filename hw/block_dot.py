"""Block dot-product unit for E2M1 elements with shared scales: MXFP4 (one E8M0 scale per operand
block) and AMXFP4 (two scales per operand block, E5M2/E4M3/E8M0), one block per cycle.

Golden model: ``sim.numerics.mac.block_dot``. Ports: element codes ``a`` and ``w`` (``block`` 4-bit
E2M1 codes each), scale codes ``a_scale`` / ``w_scale`` (1 per symmetric, 2 per asymmetric operand:
s+ for sign bit clear, s- for sign bit set), ``valid``; out: the *terms* ``mant`` and ``exp`` (one
per partial sum, ordered (a side, w side)) and ``out_valid``, all registered.

Every lane decodes its two E2M1 codes to integer magnitudes in half units (0,1,2,3,4,6,8,12: a mux
and a shift) and multiplies them (4 x 4 bits). An asymmetric operand's sign bit steers the lane to
one of its 2 (with both operands asymmetric, 4) partial sums, each an adder tree over the block.
``datapath`` chooses how signs enter the trees:

- ``"signed"``: each lane negates its product by the XOR of the signs; signed trees.
- ``"magnitude"``: the trees add unsigned magnitudes, per partial sum one tree per product sign,
  and the sign is applied once after the tree (``pos - neg``). With both operands asymmetric, a
  partial sum's lanes all share one product sign, so it is a single unsigned tree and a negation:
  no per-lane negation at all, a smaller unit (AMXFP4). With a symmetric operand each partial sum
  needs both trees, twice the adders, and the signed datapath is the smaller one (MXFP4).

Per partial sum the unit then multiplies the scale mantissas into the sum (E5M2: 3-bit, E4M3:
4-bit mantissas; E8M0: none) and adds the scale exponents.

Latency (``latency = 1 + pipeline``): the outputs in cycle t + latency reflect the input row
presented in cycle t. ``pipeline`` adds registers, in this order: 1 after the lane products, 2 after
the partial-sum trees, 3 inside the mantissa multiply (sum x Ma registered, then x Mw), so at most
2 with E8M0 scales (no mantissa multiply) and 3 otherwise (``max_pipeline``). Scale codes and
``valid`` travel beside the data; every register resets to 0, what an all-zero input row holds.

Constants derive from the formats' own parameters (OCP MX v1.0: E2M1 = 2 exponent bits, 1 mantissa
bit, bias 1; E8M0 bias 2^7 - 1; OCP FP8: E5M2 / E4M3 with bias 2^(ebits-1) - 1), not from the
golden model's tables. NaN/Inf scale codes are not special-cased (their bits pass as exponents).
"""

from typing import NamedTuple

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim.errors import ConfigError, field_message


class Minifloat(NamedTuple):
    """A scale format: sign-less ``ebits`` exponent and ``mbits`` mantissa bits, IEEE-style bias."""

    ebits: int
    mbits: int

    @property
    def bias(self) -> int:
        return (1 << (self.ebits - 1)) - 1


E2M1 = Minifloat(2, 1)  # element format (plus a sign bit)
SIGN = E2M1.ebits + E2M1.mbits  # the sign bit of an element code
E8M0_BIAS = (1 << (8 - 1)) - 1
SCALE_FORMATS = {"e8m0": None, "e5m2": Minifloat(5, 2), "e4m3": Minifloat(4, 3)}  # None: E8M0 (2^(code - bias))
DATAPATHS = ("signed", "magnitude")


def e2m1_half_units() -> tuple[int, ...]:
    """|E2M1| x 2 per magnitude code 0..7, from the encoding: M 2^(max(e, 1) - bias - mbits), M = m for
    exponent e = 0 and 2^mbits + m otherwise (OCP MX v1.0 FP4)."""
    f = E2M1
    half_shift = 1 - f.bias - f.mbits  # x 2: half units
    return tuple((m if e == 0 else m | 1 << f.mbits) << (max(e, 1) + half_shift)
                 for e in range(1 << f.ebits) for m in range(1 << f.mbits))


def _bits(n: int) -> int:
    """Signed width holding -n .. n."""
    return n.bit_length() + 1


class BlockDot(wiring.Component):
    """Terms of the dot product of one block of E2M1 codes ``a`` and ``w`` under their block scales."""

    def __init__(self, block: int = 32, scale_format: str = "e8m0", a_asymmetric: bool = False,
                 w_asymmetric: bool = False, pipeline: int = 0, datapath: str = "signed"):
        if scale_format not in SCALE_FORMATS:
            raise ConfigError(field_message("scale_format", scale_format, ", ".join(SCALE_FORMATS)))
        if isinstance(block, bool) or not isinstance(block, int) or not 1 <= block <= 256:
            raise ConfigError(field_message("block", block, "an integer from 1 to 256"))
        if datapath not in DATAPATHS:
            raise ConfigError(field_message("datapath", datapath, ", ".join(DATAPATHS)))
        self.block, self.datapath = block, datapath
        self.scale_format, self.fmt = scale_format, SCALE_FORMATS[scale_format]
        self.max_pipeline = 2 if self.fmt is None else 3
        if isinstance(pipeline, bool) or not isinstance(pipeline, int) or not 0 <= pipeline <= self.max_pipeline:
            raise ConfigError(field_message("pipeline", pipeline, f"an integer from 0 to {self.max_pipeline} with "
                                            f"{scale_format} scales"))
        self.pipeline, self.latency = pipeline, 1 + pipeline
        self.n_a, self.n_w = 1 + a_asymmetric, 1 + w_asymmetric
        max_elem = max(e2m1_half_units())
        self.elem_bits = max_elem.bit_length()
        self.psum_bits = _bits(block * max_elem ** 2)
        max_mant = 1 if self.fmt is None else (1 << (self.fmt.mbits + 1)) - 1
        self.mant_bits = _bits(block * max_elem ** 2 * max_mant ** 2)
        e_lo, e_hi = self._scale_exponent_range()
        self.exp_bits = _bits(max(2 - 2 * e_lo, 2 * e_hi - 2))  # a term's exponent: Ea + Ew - 2
        super().__init__({
            "a": In(data.ArrayLayout(4, block)), "w": In(data.ArrayLayout(4, block)),
            "a_scale": In(data.ArrayLayout(8, self.n_a)), "w_scale": In(data.ArrayLayout(8, self.n_w)),
            "valid": In(1),
            "mant": Out(data.ArrayLayout(signed(self.mant_bits), self.n_a * self.n_w)),
            "exp": Out(data.ArrayLayout(signed(self.exp_bits), self.n_a * self.n_w)),
            "out_valid": Out(1),
        })

    def _scale_exponent_range(self) -> tuple[int, int]:
        """Smallest and largest exponent E of a scale code (E8M0: code - bias; minifloat: max(e, 1) - bias - mbits)."""
        if self.fmt is None:
            return -E8M0_BIAS, (1 << 8) - 1 - E8M0_BIAS
        f = self.fmt
        return 1 - f.bias - f.mbits, (1 << f.ebits) - 1 - f.bias - f.mbits

    def _magnitude(self, m: Module, code) -> Signal:
        """|E2M1| in half units: m for exponent 0, (2 + m) << (e - 1) otherwise."""
        f = E2M1
        mag = Signal(self.elem_bits)
        e, man = code[f.mbits:f.mbits + f.ebits], code[:f.mbits]
        m.d.comb += mag.eq(Mux(e == 0, man, ((man | 1 << f.mbits) << e) >> 1))
        return mag

    def _scale_parts(self, m: Module, code) -> tuple:
        """Integer mantissa and exponent of a scale code, value M * 2^E."""
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

    def _stage(self, m: Module, k: int, values: dict) -> dict:
        """``values`` (name -> value or list of values) through pipeline register ``k`` if it is on."""
        if self.pipeline < k:
            return values
        out = {}
        for name, v in values.items():
            items = v if isinstance(v, list) else [v]
            regs = [Signal(Value.cast(x).shape(), name=f"{name}{n}_s{k}") for n, x in enumerate(items)]
            m.d.sync += [r.eq(x) for r, x in zip(regs, items)]
            out[name] = regs if isinstance(v, list) else regs[0]
        return out

    def elaborate(self, platform):
        m = Module()
        lanes = []
        for i in range(self.block):
            mag = Signal(2 * self.elem_bits, name=f"mag{i}")
            m.d.comb += mag.eq(self._magnitude(m, self.a[i]) * self._magnitude(m, self.w[i]))
            if self.datapath == "signed":
                p = Signal(signed(2 * self.elem_bits + 1), name=f"p{i}")
                m.d.comb += p.eq(Mux(self.a[i][SIGN] ^ self.w[i][SIGN], -mag, mag))
                mag = p
            lanes.append(mag)
        n = range(self.block)
        s = self._stage(m, 1, {"lane": lanes, "a_sign": [self.a[i][SIGN] for i in n],
                               "w_sign": [self.w[i][SIGN] for i in n], "valid": self.valid,
                               "a_scale": [self.a_scale[i] for i in range(self.n_a)],
                               "w_scale": [self.w_scale[j] for j in range(self.n_w)]})
        terms = [(i, j) for i in range(self.n_a) for j in range(self.n_w)]
        s = self._stage(m, 2, {**s, "psum": [self._partial_sum(m, s, i, j) for i, j in terms]})
        if self.pipeline >= 3:  # the mantissa multiply split in two: sum x Ma, registered, then x Mw
            a_mants = [self._scale_parts(m, s["a_scale"][i])[0] for i in range(self.n_a)]
            s = self._stage(m, 3, {**s, "psum": [s["psum"][k] * a_mants[i] for k, (i, _) in enumerate(terms)]})
        for k, (i, j) in enumerate(terms):
            ma, ea = self._scale_parts(m, s["a_scale"][i])
            mw, ew = self._scale_parts(m, s["w_scale"][j])
            mant = s["psum"][k] * mw if self.pipeline >= 3 else s["psum"][k] * (ma * mw)
            m.d.sync += [self.mant[k].eq(mant), self.exp[k].eq(ea + ew - 2)]
        m.d.sync += self.out_valid.eq(s["valid"])
        return m

    def _partial_sum(self, m: Module, s: dict, i: int, j: int) -> Signal:
        """Sum over the lanes steered to partial sum (i, j): signed tree, or per-sign magnitude trees."""
        def steered(lane: int):
            sel = Const(1, 1)
            if self.n_a == 2:
                sel = sel & (s["a_sign"][lane] == i)
            if self.n_w == 2:
                sel = sel & (s["w_sign"][lane] == j)
            return sel

        psum = Signal(signed(self.psum_bits), name=f"psum{i}{j}")
        lanes = range(self.block)
        if self.datapath == "signed":
            terms = list(s["lane"]) if self.n_a == self.n_w == 1 else [Mux(steered(n), s["lane"][n], 0) for n in lanes]
            m.d.comb += psum.eq(_adder_tree(terms))
            return psum
        # both operands steered: every lane of (i, j) has product sign i ^ j; else one tree per sign
        signs = [i ^ j] if self.n_a == self.n_w == 2 else [0, 1]
        trees = {}
        for sign in signs:
            tree = Signal(unsigned(self.psum_bits - 1), name=f"psum{i}{j}_{'neg' if sign else 'pos'}")
            pick = [steered(n) & ((s["a_sign"][n] ^ s["w_sign"][n]) == sign) if len(signs) == 2 else steered(n)
                    for n in lanes]
            m.d.comb += tree.eq(_adder_tree([Mux(pick[n], s["lane"][n], 0) for n in lanes]))
            trees[sign] = tree
        m.d.comb += psum.eq(trees.get(0, 0) - trees.get(1, 0))
        return psum


def _adder_tree(values: list):
    """Balanced sum (log depth) of ``values``."""
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]
