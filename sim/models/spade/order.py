"""Processing order of a sparse layer: how its outputs and output channels are tiled so that the
partial sums fit the output SRAM, and what that costs in DRAM traffic.

Half of each SRAM holds the working set (the other half is being filled or drained, as in the
systolic family). Orders (``array.order``):

- ``tiled``: output tiles whose partial sums (all Cout channels, ``acc_bits`` each) fit half the
  output SRAM; every offset runs per tile; the weights are fetched once if they fit half the
  weight SRAM, else once per tile.
- ``channel_tiled``: Cout in chunks whose R·S weight slices fit half the weight SRAM (each fetched
  once; a whole number of ``align`` array columns when at least that many fit); output tiles per
  chunk as above; the input features are fetched once if they fit half the input SRAM, else once
  per chunk.
- ``offset_major``: each offset over all pairs, all Cout at once; when the partial sums exceed half
  the output SRAM they all spill to DRAM (no partial residency is assumed): written after every
  offset but the last and read back by every offset but the first.
- ``adaptive``: per layer, the order with the least DRAM traffic (the first listed on a tie).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ORDERS = ("tiled", "channel_tiled", "offset_major")


@dataclass(frozen=True)
class Layer:
    """What the order depends on: output rows whose partial sums stay resident (those accumulating
    pairs of several offsets; 0 when every output takes one pair), non-empty offsets, channels,
    kernel taps, bytes of one partial sum (``acc``) and one weight (``w``), and of the input features."""

    n_out: int
    offsets_used: int
    cin: int
    cout: int
    taps: int
    acc: float
    w: float
    inputs: float

    @property
    def weights(self) -> float:
        return self.taps * self.cin * self.cout * self.w


@dataclass(frozen=True)
class Plan:
    """A layer's order: ``tiles`` output tiles per chunk of ``chunk`` output channels (``chunks``
    of them), DRAM fetches of the inputs and of the weights, and ``spill`` partial-sum bytes each way."""

    order: str
    tiles: int
    chunk: int
    chunks: int
    input_fetches: int
    weight_fetches: int
    spill: float

    def dram_bytes(self, layer: Layer) -> float:
        """The DRAM bytes that depend on the order: input and weight fetches and spills."""
        return layer.inputs * self.input_fetches + layer.weights * self.weight_fetches + 2 * self.spill


def plan(order: str, layer: Layer, half: dict[str, float], align: int) -> Plan:
    """The plan of ``layer`` in ``order`` (``adaptive``: the least DRAM traffic); ``half``: bytes of
    half of each SRAM (input, output, weight); ``align``: the array columns a chunk fills."""
    if order == "adaptive":
        return min((plan(o, layer, half, align) for o in ORDERS), key=lambda p: p.dram_bytes(layer))
    if order == "offset_major":
        psums = layer.n_out * layer.cout * layer.acc
        spill = 0.0 if psums <= half["output"] else (layer.offsets_used - 1) * psums
        return Plan(order, 1, layer.cout, 1, 1, 1, spill)
    if order == "tiled":
        tiles = _tiles(layer, layer.cout, half)
        return Plan(order, tiles, layer.cout, 1, 1, 1 if layer.weights <= half["weight"] else tiles, 0.0)
    fit = max(1, int(half["weight"] // (layer.taps * layer.cin * layer.w)))
    chunk = min(layer.cout, fit // align * align if fit >= align else fit)
    chunks = math.ceil(layer.cout / chunk)
    return Plan(order, _tiles(layer, chunk, half), chunk, chunks,
                1 if layer.inputs <= half["input"] else chunks, 1, 0.0)


def _tiles(layer: Layer, channels: int, half: dict[str, float]) -> int:
    """Output tiles whose partial sums of ``channels`` channels fit half the output SRAM."""
    return max(1, math.ceil(layer.n_out * channels * layer.acc / half["output"]))
