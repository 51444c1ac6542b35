"""SPADE+ units for SD-Conv layers (ops with a ``selected`` payload): importance scoring of every
input pillar on the DVP lanes, top-k selection of the top-t %, and the merge/dedup of the output
set from the pillars' own sites and the dilated candidates of the selected ones (the RGU emits
those candidates; the per-offset rule matching is the RGU's as for any layer)."""

from __future__ import annotations

import math

import numpy as np

from sim.models.spade.config import SpadeConfig
from sim.models.spade.layers import SparseLayer
from sim.models.spade.pruning import scoring


def costs(layer: SparseLayer, c: SpadeConfig, unit: dict[str, float]) -> tuple[int, float, int]:
    """(cycles, energy in pJ, input-feature elements read for scoring) of SPADE+ on ``layer``; zeros
    unless it is an SD-Conv layer."""
    if layer.selected is None:
        return 0, 0.0, 0
    score_cycles, elements, compares = scoring(layer.n_in, layer.cin, c.dvp.lanes, c.plus.topk_passes)
    chosen = np.zeros(layer.n_in, bool)
    chosen[layer.selected] = True
    dilated = sum(int(chosen[rows].sum()) for rows in layer.in_rows)  # candidates of selected pillars
    merged = layer.n_in + dilated
    cycles = score_cycles + math.ceil(merged / c.plus.merge_rate)
    energy = (elements * unit["plus_element_pj"] + compares * unit["score_compare_pj"]
              + merged * unit["plus_merge_pj"])
    return cycles, energy, elements
