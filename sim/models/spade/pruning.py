"""Dynamic vector pruning (DVP) unit: cost of scoring every output vector of a layer and selecting
those kept (which rows are kept comes from the trace's ``dvp_kept`` payload). The unit scores the
vectors as they drain from the output SRAM (a read the layer already counts), so it adds no SRAM
traffic of its own [assumption]."""

from __future__ import annotations

import math

from sim.models.spade.config import SpadeConfig
from sim.models.spade.layers import SparseLayer


def scoring(vectors: int, channels: int, lanes: int, passes: int) -> tuple[int, int, int]:
    """(cycles, channel elements, compares) to score ``vectors`` vectors of ``channels`` on ``lanes``
    element units and make ``passes`` compare passes over the scores, ``lanes`` per cycle."""
    return (math.ceil(vectors * channels / lanes) + passes * math.ceil(vectors / lanes), vectors * channels,
            passes * vectors)


def costs(layer: SparseLayer, c: SpadeConfig, unit: dict[str, float]) -> tuple[int, float]:
    """(cycles, energy in pJ) of the DVP unit on ``layer``: 0 unless the layer has ``dvp_kept``.
    A keep ratio takes ``ratio_passes`` passes (a histogram pass finds the threshold, then a compare
    pass), a threshold one compare pass."""
    if layer.kept is None:
        return 0, 0.0
    passes = c.dvp.ratio_passes if c.dvp.keep == "ratio" else 1
    cycles, elements, compares = scoring(layer.n_out, layer.cout, c.dvp.lanes, passes)
    return cycles, elements * unit["dvp_element_pj"] + compares * unit["score_compare_pj"]
