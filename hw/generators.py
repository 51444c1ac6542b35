"""The named RTL generators and their default configurations (``dse rtl``, tests, synthesis).

| name | unit | defaults |
|---|---|---|
| int8xint8 | ``IntMAC`` | 8 x 8 bits, 24-bit accumulator (16 + log2 256) |
| int4xint8 | ``IntMAC`` | 4 x 8 bits, 20-bit accumulator |
| int4xint4 | ``IntMAC`` | 4 x 4 bits, 16-bit accumulator |
| dint4xint8 | ``IntMAC`` (dINT4 weights) | +-1/2 special codes, 21-bit accumulator (1 fraction bit) |
| mxfp4 | ``BlockDot`` | block 32, one E8M0 scale per operand |
| amxfp4 | ``BlockDot`` | block 32, two E5M2 scales per operand (4 partial sums) |
| pe_array | ``PEArray`` | 4 x 4 PEs of ``pe`` (any name above) |

Accumulators default to 16 + log2(256) bits for INT8 products and the same headroom (8 bits over
the product) for the others; every default can be overridden by keyword.
"""

from __future__ import annotations

from amaranth.lib import wiring

from hw.block_dot import BlockDot
from hw.int_mac import IntMAC
from hw.pe_array import PEArray
from sim.errors import ConfigError

UNITS: dict[str, tuple[type, dict]] = {
    "int8xint8": (IntMAC, dict(w_bits=8, a_bits=8, acc_bits=24, overflow="wrap", weight_format="int")),
    "int4xint8": (IntMAC, dict(w_bits=4, a_bits=8, acc_bits=20, overflow="wrap", weight_format="int")),
    "int4xint4": (IntMAC, dict(w_bits=4, a_bits=4, acc_bits=16, overflow="wrap", weight_format="int")),
    "dint4xint8": (IntMAC, dict(w_bits=4, a_bits=8, acc_bits=21, overflow="wrap", weight_format="dint4",
                                special_shift=1)),
    "mxfp4": (BlockDot, dict(block=32, scale_format="e8m0", a_asymmetric=False, w_asymmetric=False)),
    "amxfp4": (BlockDot, dict(block=32, scale_format="e5m2", a_asymmetric=True, w_asymmetric=True)),
}
GENERATORS = (*UNITS, "pe_array")


def build(name: str, **params) -> wiring.Component:
    """A generator's component with its defaults overridden by ``params`` (one clear error per bad key)."""
    if name == "pe_array":
        pe = params.pop("pe", "int8xint8")
        rows, cols = params.pop("rows", 4), params.pop("cols", 4)
        if pe not in UNITS:
            raise ConfigError(f"pe_array.pe: got {pe!r}; allowed: {', '.join(UNITS)}")
        return PEArray(lambda: build(pe, **params), rows, cols)
    if name not in UNITS:
        raise ConfigError(f"generator: got {name!r}; allowed: {', '.join(GENERATORS)}")
    cls, defaults = UNITS[name]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown parameter; allowed: {', '.join(defaults)}")
    for key, value in params.items():
        kind = type(defaults[key])
        if type(value) is not kind:
            raise ConfigError(f"{name}.{key}: got {value!r}; allowed: {kind.__name__}")
    return cls(**{**defaults, **params})
