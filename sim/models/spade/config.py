"""The SPADE family's config schema (``model: spade``); the cost model and its assumptions are in
``model.py``. Every unit that SPADE's papers leave open (array size, SRAMs, clock, node) or that
the model assumes (mapping, RGU algorithm, GSU banking, DVP rule, SPADE+ units) is a field here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sim.config import DramConfig, TechConfig
from sim.models.systolic.config import MacConfig
from sim.validation import Strict

Dataflow = Literal["ws", "os", "is"]


class LayerDataflows(Strict):
    """The mapping of each layer type's GEMMs on the array (SPADE's "configurable dataflow").
    ``ws``: Cin on rows, Cout on columns, W_δ stationary, gathered vectors streamed (default,
    assumption); ``os``: pairs on rows, Cout on columns, Cin streamed; ``is``: Cin on rows, pairs
    on columns, Cout streamed. ``conv``: dilating and strided sparse convs and SD-Conv; ``subm``:
    submanifold convs (output set = input set); ``deconv``: sparse transposed convs; ``dense``:
    conv2d, deconv2d and gemm (the pillar feature net, a dense head), ``os`` by default: their
    partial sums stay in the PEs, where WS on a small output SRAM spills them to DRAM (the systolic
    family's memory model)."""

    conv: Dataflow = "ws"
    subm: Dataflow = "ws"
    deconv: Dataflow = "ws"
    dense: Dataflow = "os"


class SpadeArrayConfig(Strict):
    """The PE array ([open] in the papers: default of each preset is an assumption).
    ``schedule``: ``fixed`` runs each layer in its type's dataflow; ``adaptive`` picks, per layer,
    the faster of ``ws`` and ``os`` for its measured sparsity (the sparsity-aware dataflow choice).
    ``fold_overlap``: the systolic family's fold pipelining (``sim.models.systolic.model``).
    ``order`` (processing order, ``sim.models.spade.order``): ``tiled`` (output tiles, weights
    reloaded per tile unless they fit), ``channel_tiled`` (Cout chunks whose weights fit, inputs
    reloaded per chunk unless they fit), ``offset_major`` (partial sums spilled to DRAM), or
    ``adaptive``: per layer the one with the least DRAM traffic."""

    rows: int = Field(ge=1, le=4096)
    cols: int = Field(ge=1, le=4096)
    dataflow: LayerDataflows = LayerDataflows()
    schedule: Literal["fixed", "adaptive"] = "fixed"
    order: Literal["adaptive", "tiled", "channel_tiled", "offset_major"] = "adaptive"
    fold_overlap: bool = True


class SpadeSramConfig(Strict):
    """On-chip SRAMs in KiB: input and output feature SRAMs (banked by the GSU), weights, rulebook."""

    input_kb: float = Field(gt=0, le=1 << 20)
    output_kb: float = Field(gt=0, le=1 << 20)
    weight_kb: float = Field(gt=0, le=1 << 20)
    rule_kb: float = Field(64.0, gt=0, le=1 << 20)


class GsuConfig(Strict):
    """Gather-scatter unit. Feature vectors occupy consecutive words of ``word_bits`` interleaved
    over ``banks`` banks; each cycle serves one word per bank and at most ``vectors_per_cycle``
    vectors (``sim.gather``). ``conflict_free``: charge no bank conflicts (PillarAcc's claim).
    ``overlap``: gather and scatter stream concurrently with the array (an offset takes the longest
    of the three), else one after the other."""

    banks: int = Field(16, ge=1, le=4096)
    word_bits: int = Field(64, ge=8, le=4096)
    vectors_per_cycle: int = Field(1, ge=1, le=4096)
    conflict_free: bool = False
    overlap: bool = True


class RguConfig(Strict):
    """Rule generation unit. ``merge``: per kernel offset a merge scan of the sorted input and
    output coordinate streams, ``rate`` coordinates per cycle (linear in active pillars);
    ``hash``: a hash table of the input set (one insert per input) probed once per output and
    offset, ``rate`` probes per cycle. ``overlap``: rule generation runs ahead of the array (the
    longer of the two sets the time), else before it. ``reuse``: a layer whose coordinate sets,
    kernel, stride and padding equal an earlier layer's (or, for a transposed conv, its inverse)
    reuses its rules from the rule SRAM. ``coord_bits`` per axis and ``index_bits`` per row index
    size the comparators and the rule entries."""

    algorithm: Literal["merge", "hash"] = "merge"
    rate: float = Field(1.0, gt=0, le=1024, allow_inf_nan=False)
    overlap: bool = True
    reuse: bool = True
    coord_bits: int = Field(10, ge=1, le=32)
    index_bits: int = Field(18, ge=1, le=32)


class DvpConfig(Strict):
    """Dynamic vector pruning unit: scores every output vector, ``lanes`` channel elements per
    cycle, by ``criterion``: ``magnitude`` (its ``norm`` over the channels) or ``learned`` (a
    Cout-long dot product with a learned vector); then keeps vectors by ``keep``: ``ratio`` (a
    top-k: a histogram pass finds the threshold, a compare pass selects, ``ratio_passes`` passes)
    or ``threshold`` (one compare pass). Which rows are kept comes from the trace (``dvp_kept``)."""

    criterion: Literal["magnitude", "learned"] = "magnitude"
    norm: Literal["l1", "l2", "linf"] = "l2"
    keep: Literal["ratio", "threshold"] = "ratio"
    lanes: int = Field(16, ge=1, le=65536)
    ratio_passes: int = Field(2, ge=1, le=64)


class PlusConfig(Strict):
    """SPADE+ units for SD-Conv layers (ops with a ``selected`` payload): importance scoring of
    every input pillar (``score``: the DVP norm, or ``learned``: a Cin-long dot product), on the
    DVP unit's lanes; top-k selection of the top-t % (``topk_passes`` passes over the scores); the
    RGU emitting dilated output coordinates for selected pillars only; and the merge/dedup of
    the output set at ``merge_rate`` coordinates per cycle. ``enabled: false`` is plain SPADE,
    which rejects SD-Conv layers."""

    enabled: bool = True
    score: Literal["norm", "learned"] = "norm"
    topk_passes: int = Field(2, ge=1, le=64)
    merge_rate: float = Field(1.0, gt=0, le=1024, allow_inf_nan=False)


class IdealDenseConfig(Strict):
    """The ideal dense baseline: the same array running each layer densely over the whole
    pseudo-image with the systolic closed form and no memory stalls; ``dataflow``: ``same`` as the
    dense layer type's, or a fixed one."""

    dataflow: Literal["same", "ws", "os", "is"] = "same"


class SpadeConfig(Strict):
    """SPADE / SPADE+ vector-sparse systolic accelerator (see ``sim.models.spade.model``)."""

    model: Literal["spade"]
    name: str = "spade"
    clock_ghz: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)
    array: SpadeArrayConfig
    mac: MacConfig = MacConfig()
    sram: SpadeSramConfig
    gsu: GsuConfig = GsuConfig()
    rgu: RguConfig = RguConfig()
    dvp: DvpConfig = DvpConfig()
    plus: PlusConfig = PlusConfig()
    ideal_dense: IdealDenseConfig = IdealDenseConfig()
    dram: DramConfig = Field(default_factory=DramConfig)
    tech: TechConfig = TechConfig()

    @field_validator("mac")
    @classmethod
    def _generic_mac(cls, mac: MacConfig) -> MacConfig:
        if mac.weight_format is not None:
            raise ValueError("a generic integer MAC (operand_bits, acc_bits); format-aware PEs are not modelled here")
        return mac
