"""Operand vectors for the simulators: a port's per-cycle values as numpy arrays, packed to the
port's bit vector and back.

A port is a plain shape or a (nested) ``lib.data.ArrayLayout`` of one; its values are arrays of
shape (cycles, *dims) (the array lengths, outermost first), flattened element i at bits [i * width, (i + 1) * width) -- the layout
``ArrayLayout`` gives and the flat Verilog port carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Shape
from amaranth.lib import data, wiring


@dataclass(frozen=True)
class Port:
    name: str
    is_input: bool
    width: int  # of one element
    signed: bool
    dims: tuple[int, ...]  # array lengths, outermost first; () for a plain shape

    @property
    def count(self) -> int:
        return int(np.prod(self.dims, dtype=np.int64))

    @property
    def bits(self) -> int:
        return self.width * self.count


def ports(component: wiring.Component) -> list[Port]:
    """The component's top-level ports in signature order."""
    out = []
    for name, member in component.signature.members.items():
        shape, dims = member.shape, ()
        while isinstance(shape, data.ArrayLayout):
            dims, shape = (*dims, shape.length), shape.elem_shape
        shape = Shape.cast(shape)
        out.append(Port(name, member.flow == wiring.In, shape.width, shape.signed, dims))
    return out


def to_bits(port: Port, values) -> np.ndarray:
    """(cycles, port.bits) array of 0/1: bit i of a cycle's flat port vector in column i."""
    v = np.asarray(values, dtype=np.int64).reshape(-1, port.count)
    return ((v[..., None] >> np.arange(port.width)) & 1).astype(np.uint8).reshape(len(v), -1)


def from_bits(port: Port, bits: np.ndarray) -> np.ndarray:
    """Inverse of ``to_bits``: (cycles, *dims) values, sign-extended."""
    bits = np.asarray(bits, dtype=np.int64).reshape(len(bits), port.count, port.width)
    v = bits @ (np.int64(1) << np.arange(port.width, dtype=np.int64))
    if port.signed:
        v -= bits[..., -1] << port.width
    return v.reshape(len(bits), *port.dims)


def pack(port: Port, values) -> list[int]:
    """One unsigned integer per cycle holding all of the port's elements."""
    rows = np.packbits(to_bits(port, values), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in rows]


def unpack(port: Port, words: list[int]) -> np.ndarray:
    """Inverse of ``pack`` (words may also be signed ints): (cycles, *dims) values, sign-extended."""
    nbytes, mask = (port.bits + 7) // 8, (1 << port.bits) - 1
    raw = np.frombuffer(b"".join((w & mask).to_bytes(nbytes, "little") for w in words), dtype=np.uint8).reshape(-1, nbytes)
    return from_bits(port, np.unpackbits(raw, axis=1, bitorder="little")[:, :port.bits])
