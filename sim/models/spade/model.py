"""SPADE (HPCA 2024) and SPADE+ (SD-Conv, CVPR 2024 workshop): a 2D systolic array turned into a
vector-sparse convolution engine by a rule generation unit (RGU), a gather-scatter unit (GSU) and
a dynamic vector pruning (DVP) unit; SPADE+ adds importance scoring, top-k selection, dilated-rule
emission and an output merge for SD-Conv layers.

Ops: ``sparse_conv2d`` and ``sparse_deconv2d`` with the payloads of ``sim.sparse`` rules
(``coords``, ``out_coords``, ``pair_count``, ``pairs``; optional ``selected``, ``dvp_kept``), and
the dense ``conv2d``, ``deconv2d`` and ``gemm`` (the pillar feature net), which run exactly as on
a systolic array of the same config (``sim.models.systolic``: its closed forms, memory model and
energy) in the ``dense`` dataflow. All costs are closed forms or exact counts; nothing is simulated
per cycle.

A sparse layer, per kernel offset δ with n_δ pairs:

- array: the GEMM [n_δ x Cin]·[Cin x Cout], costed by the systolic family's closed form in the
  layer type's dataflow (``array.dataflow``; ``ws``: Cin on rows, Cout on columns, W_δ
  stationary, gathered vectors streamed). Offsets run back to back, each GEMM paying its own
  pipeline fill and drain; empty offsets are skipped. The processing order (``array.order``,
  ``sim.models.spade.order``) splits a layer into t output tiles x c output-channel chunks when its
  partial sums do not fit half the output SRAM: each offset then runs t x c GEMMs of
  ceil(n_δ / t) rows (pairs assumed spread evenly over the tiles).
- gather: the n_δ input rows in rule order through ``sim.gather.issue_cycles`` on the input SRAM's
  banks, once per column fold of each chunk (ws, os: the vectors are re-streamed); scatter: the
  partial sums (``mac.acc_bits`` per channel) of the n_δ output rows read-modify-written in the
  output SRAM once per Cin row fold (ws, is) and chunk (assumption: a bank reads and writes a word
  per cycle). Bank conflicts are counted unless ``gsu.conflict_free``; ``gsu_conflict_cycles`` is
  the gather/scatter time above the conflict-free count. ``gsu.overlap``: an offset takes
  max(array, gather, scatter), else their sum.
- RGU, per layer (``rgu_cycles``): ``merge`` scans the sorted input and output streams once per
  offset, ceil((n_in + n_out + 1 - P_δ) / rate) cycles each (the cycle count of the RTL unit
  ``hw.rgu`` at rate 1: one comparison per cycle, a match advancing both streams, one cycle for the
  frame's end beat; none for a layer without active inputs), plus ceil(P / rate) to build the output set of a
  dilating, strided or transposed layer from its P candidate (input, offset) sites; ``hash`` takes
  ceil((n_in + offsets x n_out + P_build) / rate): inserts, probes and output inserts. A SubM layer
  builds no output set; a layer whose rulebook equals an earlier one's (``rgu.reuse``) costs
  nothing. ``rgu.overlap``: the layer takes max(offset time, RGU), else their sum.
- SPADE+ (SD-Conv layers, ``plus_cycles``, before the RGU; ``sim.models.spade.plus``): scoring
  ceil(n_in x Cin / lanes), top-k ``topk_passes`` x ceil(n_in / lanes), merge/dedup of the n_in
  own sites and the dilated candidates of the selected pillars at ``merge_rate`` (this replaces the
  RGU's output-set step).
- DVP (layers with ``dvp_kept``, ``dvp_cycles``, after the layer; ``sim.models.spade.pruning``):
  ceil(n_out x Cout / lanes) for the scores, then one (threshold) or ``ratio_passes`` (ratio)
  passes of ceil(n_out / lanes) compares.
- DRAM (as the systolic family: no reuse between layers): input features and coordinates, the R·S
  weight matrices and the partial-sum spills, as often as the layer's order fetches them; the kept
  output features and coordinates written once; rules kept for a later layer's reuse go through
  DRAM when they overflow the rule SRAM. Transfers are double-buffered against the
  layer's work as in the systolic family: cycles = max(compute, D) + min(compute, D) / folds.

Ideal dense (``ideal_dense_cycles``, ``ideal_dense_energy_pj``, ``dense_macs``): the same array
running each layer as the dense ``conv2d`` / ``deconv2d`` over the whole pseudo-image (H x W from the
op's dims), dense ops as they are, with the systolic closed form (fold edges, fill and drain
included), infinite DRAM bandwidth (no stalls) and the same DRAM energy per bit; its energy is the
systolic family's (MACs, SRAM, DRAM, leakage over those cycles), in the ``ideal_dense.dataflow``.

Energy: MACs as the systolic family (``mac_pj``); SRAM per bit by macro (the feature SRAMs are
``gsu.banks`` macros of ``gsu.word_bits``-wide words): gather reads, scatter reads and writes,
fills from DRAM, the output drain, weight reads per stationary load, rule writes when generated and
one read per pair; DRAM per bit; RGU per coordinate step, GSU per word address, DVP and SPADE+ per
element, compare and merged coordinate (``sim.models.spade.basis``); PE leakage over the op's time.

Parameters for every [assumption] and [open] item of SPADE, with their defaults: array rows x cols
[open; the presets' 16x16 and 32x32 are assumptions]; dataflow per layer type (``array.dataflow``:
conv, subm, deconv ``ws``; dense ``os``); ``array.schedule`` [fixed; adaptive: ws or os per layer,
the faster]; ``array.order`` [adaptive: per layer the order with the least DRAM traffic]; SRAM
sizes [open; presets]; ``gsu.banks`` [16], ``word_bits`` [64], ``vectors_per_cycle`` [1],
``conflict_free`` [false], ``overlap`` [true]; ``rgu.algorithm`` [merge], ``rate`` [1 coordinate
per cycle], ``overlap`` [true], ``reuse`` [true], ``coord_bits`` [10], ``index_bits`` [18];
``dvp.criterion`` [magnitude], ``norm`` [l2], ``keep`` [ratio], ``lanes`` [16], ``ratio_passes``
[2]; ``plus.enabled`` [true], ``score`` [norm, as the DVP], ``topk_passes`` [2], ``merge_rate``
[1]; ``ideal_dense.dataflow`` [same as dense]; clock [1 GHz; open]; node [45 nm; open]; DRAM
[ddr4]. Not modelled: SPADE+'s score storage (scores assumed to stream through the top-k unit),
the GSU crossbars' energy (their area is counted), rule storage beyond the rule SRAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.errors import UnsupportedOpError
from sim.lowering import conv_output_size
from sim.models import MemoryLevel, OpBatch
from sim.models.spade import plus, pruning
from sim.models.spade.basis import SRAMS, spade_basis
from sim.models.spade.config import SpadeConfig
from sim.models.spade.layers import SPARSE_KINDS, SparseLayer, sparse_layers
from sim.models.spade.order import Layer, Plan, plan
from sim.models.systolic.config import ArrayConfig, SramConfig, SystolicConfig, VectorConfig
from sim.models.systolic.model import SystolicArray
from sim.numerics.storage import bits_per_element
from sim.tech import TechLibrary, TechValue

DENSE_KINDS = ("gemm", "conv2d", "deconv2d")
DENSE_OF = {"sparse_conv2d": "conv2d", "sparse_deconv2d": "deconv2d"}
SUMMED = ("dense_macs", "ideal_dense_cycles", "ideal_dense_energy_pj", "array_cycles", "rgu_cycles", "gsu_cycles",
          "gsu_conflict_cycles", "dvp_cycles", "plus_cycles", "pairs", "active_in", "active_out")
SERIES = ("dense_macs", "ideal_dense_cycles", "ideal_dense_energy_pj", "rgu_cycles", "gsu_conflict_cycles", "pairs",
          "active_in", "active_out", "density_in", "density_out")
# whole-trace ratios against the ideal dense baseline (sweep columns; objectives of the family)
RATIOS = {"speedup_vs_ideal_dense": ("ideal_dense_cycles", "cycles"),
          "energy_saving_vs_ideal_dense": ("ideal_dense_energy_pj", "energy_pj"),
          "mac_cut_vs_dense": ("dense_macs", "macs")}


@dataclass
class _Offsets:
    """Per-offset work of some layers: owner layer index, pair count, array cycles, folds."""

    layer: np.ndarray
    pairs: np.ndarray
    cycles: np.ndarray
    folds: np.ndarray


class SpadeAccelerator:
    """Cost model of a SPADE / SPADE+ design configured by a :class:`SpadeConfig` (module docstring)."""

    kinds = SPARSE_KINDS + DENSE_KINDS
    fused_kinds = (SPARSE_KINDS, DENSE_KINDS)
    summed_columns = SUMMED
    ratio_columns = RATIOS
    op_series = SERIES

    def __init__(self, config: SpadeConfig):
        self.config = config
        self.name = config.name
        self.clock_hz = config.clock_ghz * 1e9
        self.tech = TechLibrary.load(config.tech.node_nm, config.tech.overrides)
        c = config.array
        self.peak_macs_per_cycle = c.rows * c.cols
        self._arrays: dict[tuple[str, bool], SystolicArray] = {}
        dense = self._array(c.dataflow.dense)
        self.basis = {k: dense.basis[k] for k in ("mac_pj", "pe_leakage_uw", "pe_area_um2", "dram_pj_per_bit",
                                                  "dram_bandwidth_gbs")}
        self.basis.update(spade_basis(self.tech, config))
        self._unit = {k: v.value for k, v in self.basis.items()}
        self._dram_bytes_per_cycle = self._unit["dram_bandwidth_gbs"] * 1e9 / self.clock_hz
        self.memory_levels = (MemoryLevel("sram"), MemoryLevel("dram", self._dram_bytes_per_cycle))
        self._leakage_pj_per_cycle = c.rows * c.cols * self._unit["pe_leakage_uw"] * 1e-6 / self.clock_hz * 1e12
        self.formulas = self._formulas()

    def _array(self, dataflow: str, ideal: bool = False) -> SystolicArray:
        """The systolic model of this array in ``dataflow`` (``ideal``: no memory stalls)."""
        key = (dataflow, ideal)
        if key not in self._arrays:
            c = self.config
            dram = c.dram.model_copy(update={"bandwidth_gbs": float("inf"), "channels": None}) if ideal else c.dram
            self._arrays[key] = SystolicArray(SystolicConfig(
                model="systolic", name=f"{c.name} array", clock_ghz=c.clock_ghz,
                array=ArrayConfig(rows=c.array.rows, cols=c.array.cols, dataflow=dataflow), mac=c.mac,
                sram=SramConfig(ifmap_kb=c.sram.input_kb, filter_kb=c.sram.weight_kb, ofmap_kb=c.sram.output_kb),
                dram=dram, vector=VectorConfig(lanes=0), tech=c.tech, fold_overlap=c.array.fold_overlap))
        return self._arrays[key]

    def _formulas(self) -> dict[str, str]:
        return {
            "cycles": "sparse op: plus + max(sum over offsets of max(array GEMM, gather, scatter), rgu) + dvp "
                      "(sums where overlap is off); array GEMM [n_δ x Cin]·[Cin x Cout] by the systolic closed form; "
                      "then max(compute, D) + min(compute, D) / folds with D = DRAM bytes / bandwidth per cycle. "
                      "Dense ops: the systolic family's",
            "ideal_dense": "the dense conv over the whole H x W on the same array: systolic closed form, no stalls",
            "energy": "MACs x mac_pj + SRAM bits x pJ/bit (per SRAM, read/write) + DRAM bits x dram_pj_per_bit "
                      "+ RGU steps x rgu_step_pj + GSU addresses x gsu_address_pj + DVP/SPADE+ elements, compares "
                      "and merged coordinates x their pJ + PEs x pe_leakage_uw x time",
            "area": "PEs x pe_area_um2 + SRAMs + RGU lanes x rgu_area_um2 + banks x gsu_address_area_um2 "
                    "+ crossbars + DVP lanes + SPADE+ units",
        }

    def area(self) -> dict[str, TechValue]:
        """Area by unit in mm^2."""
        return dict(self._area)

    @cached_property
    def _area(self) -> dict[str, TechValue]:
        c, b = self.config, self.basis
        um2 = {"array": b["pe_area_um2"] * (c.array.rows * c.array.cols),
               "rgu": b["rgu_area_um2"] * int(np.ceil(c.rgu.rate)),
               "gsu": b["gsu_address_area_um2"] * c.gsu.banks + b["gsu_crossbar_area_um2"],
               "dvp": b["dvp_area_um2"]}
        if c.plus.enabled:
            um2["plus"] = b["plus_area_um2"]
        parts = {k: TechValue(v.value * 1e-6, "mm2", f"({v.source}) x 1e-6 mm2/um2") for k, v in um2.items()}
        parts.update({f"sram_{s}": b[f"sram_{s}_area_mm2"] for s in SRAMS})
        return parts

    # -- evaluation --------------------------------------------------------------------------------

    def evaluate(self, batch: OpBatch) -> dict[str, np.ndarray]:
        """Costs of all ops of one kind (the ``sim.models`` protocol)."""
        return self.evaluate_fused((batch,))

    def evaluate_fused(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        """Costs of the ops of one ``fused_kinds`` group, batch after batch."""
        kind = batches[0].kind
        if kind in DENSE_KINDS:
            return self._dense(batches)
        if kind in SPARSE_KINDS:
            return self._sparse(batches)
        raise UnsupportedOpError(f"model {self.name!r} (spade) cannot run op kind {kind!r}; it runs: "
                                 f"{', '.join(self.kinds)}")

    def _ideal(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        """Cycles, energy and MACs of the ideal dense baseline of each op (module docstring)."""
        c = self.config
        dataflow = c.array.dataflow.dense if c.ideal_dense.dataflow == "same" else c.ideal_dense.dataflow
        dense = tuple(OpBatch(DENSE_OF.get(b.kind, b.kind), b.ids, b.names, b.dims, b.formats) for b in batches)
        out = self._array(dataflow, ideal=True).evaluate_fused(dense)
        energy = sum(v for k, v in out.items() if k.startswith("energy_"))
        return {"dense_macs": out["macs"], "ideal_dense_cycles": out["cycles"], "ideal_dense_energy_pj": energy}

    def _dense(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        out = self._array(self.config.array.dataflow.dense).evaluate_fused(batches)
        keep = ("cycles", "compute_cycles", "stall_cycles", "memory_cycles", "macs", "folds")
        cols = {k: v for k, v in out.items() if k in keep or k.startswith(("energy_", "bytes_"))}
        zero = np.zeros(len(cols["cycles"]))
        cols.update({k: zero for k in ("rgu_cycles", "gsu_cycles", "gsu_conflict_cycles", "dvp_cycles", "plus_cycles")})
        cols["array_cycles"] = out["compute_cycles"].astype(float)
        cols["dataflow"] = np.full(len(zero), self.config.array.dataflow.dense, object)
        return {**cols, **self._ideal(batches)}

    def _sparse(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        layers = [layer for b in batches for layer in sparse_layers(b, self.name)]
        formats = {o: np.concatenate([b.formats[o] for b in batches]) for o in ("W", "A", "O")}
        dims = {d: np.concatenate([b.dims[d] for b in batches]) for d in ("H", "W")}
        if not self.config.plus.enabled:
            sd = next((la for la in layers if la.selected is not None), None)
            if sd is not None:
                raise UnsupportedOpError(f"model {self.name!r}, op {sd.op_id} ({sd.name!r}): an SD-Conv layer "
                                         "(payload 'selected') needs SPADE+; allowed: plus.enabled: true")
        reuse = self._reused(layers)
        types = [la.layer_type for la in layers]
        flows = self.config.array.dataflow
        if self.config.array.schedule == "adaptive":
            ws, os_ = (self._costs(layers, reuse, formats, [df] * len(layers)) for df in ("ws", "os"))
            pick = os_["cycles"] < ws["cycles"]
            out = {k: np.where(pick, os_[k], ws[k]) for k in ws}
        else:
            out = self._costs(layers, reuse, formats, [getattr(flows, t) for t in types])
        h_out, w_out = self._out_grid(batches)
        out["density_in"] = out["active_in"] / (dims["H"] * dims["W"])
        out["density_out"] = out["active_out"] / (h_out * w_out)
        return {**out, **self._ideal(batches)}

    @staticmethod
    def _out_grid(batches: tuple[OpBatch, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Output grid extent of each sparse op (spconv's rule; a transposed conv's inverse of it)."""
        ext = []
        for b in batches:
            d = b.dims
            if b.kind == "sparse_deconv2d":
                ext.append(((d["H"] - 1) * d["stride"] - 2 * d["pad"] + d["R"],
                            (d["W"] - 1) * d["stride"] - 2 * d["pad"] + d["S"]))
            else:
                ext.append((conv_output_size(d["H"], d["R"], d["stride"], d["pad"]),
                            conv_output_size(d["W"], d["S"], d["stride"], d["pad"])))
        return tuple(np.concatenate(e) for e in zip(*ext))

    def _reused(self, layers: list[SparseLayer]) -> tuple[np.ndarray, np.ndarray]:
        """Per layer (in trace order): whether it reuses the rules of an earlier layer, and whether a
        later layer reuses its rules (which must then be kept)."""
        first: dict[str, int] = {}
        reused, kept = np.zeros(len(layers), bool), np.zeros(len(layers), bool)
        if not self.config.rgu.reuse:
            return reused, kept
        for i in sorted(range(len(layers)), key=lambda i: layers[i].op_id):
            key = layers[i].rule_key
            if key in first:
                reused[i] = kept[first[key]] = True
            else:
                first[key] = i
        return reused, kept

    def _offsets(self, layers: list[SparseLayer], formats: dict, dataflows: list[str], plans: list[Plan]) -> _Offsets:
        """The non-empty offsets' GEMMs of all layers, costed by the systolic model of each dataflow: a
        layer planned in t output tiles and c chunks of output channels runs each offset as t x c GEMMs
        [ceil(n_δ / t) x Cin]·[Cin x chunk] (the last chunk costed as a full one)."""
        owner = np.concatenate([np.full(int((la.pair_count > 0).sum()), i) for i, la in enumerate(layers)])
        pairs = np.concatenate([la.pair_count[la.pair_count > 0] for la in layers])
        n = len(owner)
        cycles, folds = np.zeros(n, np.int64), np.zeros(n, np.int64)
        flow = np.array(dataflows)[owner] if n else np.zeros(0, str)
        tiles = np.array([p.tiles for p in plans], np.int64)
        chunk = np.array([p.chunk for p in plans], np.int64)
        repeats = tiles * np.array([p.chunks for p in plans], np.int64)
        for df in dict.fromkeys(dataflows):
            sel = np.flatnonzero(flow == df)
            if not sel.size:
                continue
            lay = owner[sel]
            cin = np.array([layers[i].cin for i in lay], np.int64)
            batch = OpBatch("gemm", sel, np.full(len(sel), "offset", object),
                            {"M": -(-pairs[sel] // tiles[lay]), "N": chunk[lay], "K": cin},
                            {o: (formats[o][lay] if o in formats else np.full(len(sel), "", object))
                             for o in ("W", "A", "O", "KV")})
            res = self._array(df).evaluate(batch)
            cycles[sel], folds[sel] = res["compute_cycles"] * repeats[lay], res["folds"] * repeats[lay]
        return _Offsets(owner, pairs, cycles, folds)

    def _bits(self, fmt: str) -> float:
        return float(bits_per_element(fmt)) if fmt else float(self.config.mac.operand_bits)

    def _costs(self, layers: list[SparseLayer], reuse: tuple[np.ndarray, np.ndarray], formats: dict,
               dataflows: list[str]) -> dict[str, np.ndarray]:
        """Every column of each sparse layer run in its dataflow (module docstring)."""
        from sim.gather import issue_cycles, vector_words

        c, u, g = self.config, self._unit, self.config.gsu
        reused, kept = reuse
        rule_capacity = c.sram.rule_kb * 1024
        R, C = c.array.rows, c.array.cols
        n = len(layers)
        half = {s: getattr(c.sram, f"{s}_kb") * 1024 / 2 for s in ("input", "output", "weight")}
        bits = [{o: self._bits(formats[o][i]) for o in ("A", "W", "O")} for i in range(n)]
        # outputs that accumulate pairs of several offsets stay resident; a layer whose outputs each
        # take one pair (a transposed conv with kernel = stride) streams them out
        plans = [plan(c.array.order, Layer(la.n_out if la.pairs > la.n_out else 0, int((la.pair_count > 0).sum()),
                                           la.cin, la.cout, la.offsets,
                                           c.mac.acc_bits / 8, b["W"] / 8, la.n_in * la.cin * b["A"] / 8), half, C)
                 for la, b in zip(layers, bits)]
        offs = self._offsets(layers, formats, dataflows, plans)
        cols = {k: np.zeros(n) for k in ("array_cycles", "gsu_cycles", "gsu_conflict_cycles", "rgu_cycles",
                                          "plus_cycles", "dvp_cycles", "folds", "energy_plus_pj", "energy_dvp_pj")}
        traffic = {f"{s}_{rw}": np.zeros(n) for s in SRAMS for rw in ("read", "write")}
        dram_read, dram_write = np.zeros(n), np.zeros(n)
        rgu_steps, addresses, offset_time = np.zeros(n), np.zeros(n), np.zeros(n)
        first = np.searchsorted(offs.layer, np.arange(n))
        coord_bytes = 2 * c.rgu.coord_bits / 8
        for i, (la, b, p) in enumerate(zip(layers, bits, plans)):
            df = dataflows[i]
            w_in = vector_words(la.cin, int(np.ceil(b["A"])), g.word_bits)
            w_out = vector_words(p.chunk, c.mac.acc_bits, g.word_bits)
            # vectors re-streamed per column fold of each chunk (ws, os); partial sums per row fold (ws, is)
            gather_passes = p.chunks * (-(-p.chunk // C) if df in ("ws", "os") else 1)
            scatter_passes = p.chunks * (-(-la.cin // R) if df in ("ws", "is") else 1)
            nonempty = np.flatnonzero(la.pair_count)
            for j, d in enumerate(nonempty):
                streams = ((la.in_rows[d], w_in, gather_passes), (la.out_rows[d], w_out, scatter_passes))
                timed = [k * issue_cycles(rows, w, g.banks, g.vectors_per_cycle, conflict_free=g.conflict_free)
                         for rows, w, k in streams]
                free = [k * issue_cycles(rows, w, g.banks, g.vectors_per_cycle, conflict_free=True)
                        for rows, w, k in streams]
                cols["gsu_cycles"][i] += sum(timed)
                cols["gsu_conflict_cycles"][i] += sum(timed) - sum(free)
                array = offs.cycles[first[i] + j]
                offset_time[i] += max(array, *timed) if g.overlap else array + sum(timed)
                rows = -(-int(la.pair_count[d]) // p.tiles)  # pairs of each tile's GEMM
                loads = {"ws": 1, "os": -(-rows // R), "is": -(-rows // C)}[df]  # stationary loads per tile
                traffic["weight_read"][i] += p.tiles * loads * la.cin * la.cout * b["W"] / 8
            sel = slice(first[i], first[i] + len(nonempty))
            cols["array_cycles"][i] = offs.cycles[sel].sum()
            cols["folds"][i] = offs.folds[sel].sum()
            gather_words = gather_passes * la.pairs * w_in
            scatter_words = scatter_passes * la.pairs * w_out
            addresses[i] = gather_words + scatter_words
            in_bytes, out_bytes = la.n_in * la.cin * b["A"] / 8, la.n_out * la.cout * b["O"] / 8
            weights = la.offsets * la.cin * la.cout * b["W"] / 8
            rule_bytes = la.pairs * 2 * c.rgu.index_bits / 8
            cols["plus_cycles"][i], cols["energy_plus_pj"][i], plus_reads = plus.costs(la, c, u)
            cols["dvp_cycles"][i], cols["energy_dvp_pj"][i] = pruning.costs(la, c, u)
            rgu_steps[i], cols["rgu_cycles"][i] = (0, 0) if reused[i] else self._rgu(la)
            word_bytes = g.word_bits / 8
            traffic["input_read"][i] = gather_words * word_bytes + plus_reads * b["A"] / 8
            traffic["input_write"][i] = in_bytes * p.input_fetches
            traffic["output_read"][i] = scatter_words * word_bytes + out_bytes + p.spill
            traffic["output_write"][i] = scatter_words * word_bytes + p.spill
            traffic["weight_write"][i] = weights * p.weight_fetches
            traffic["rule_write"][i] = 0 if reused[i] else rule_bytes
            traffic["rule_read"][i] = rule_bytes
            # kept rules that overflow the rule SRAM go to DRAM and come back for each reuse
            rules_out = rule_bytes if kept[i] and rule_bytes > rule_capacity else 0.0
            rules_in = rule_bytes if reused[i] and rule_bytes > rule_capacity else 0.0
            dram_read[i] = (in_bytes * p.input_fetches + la.n_in * coord_bytes + weights * p.weight_fetches + p.spill
                            + rules_in)
            dram_write[i] = la.n_written * (la.cout * b["O"] / 8 + coord_bytes) + p.spill + rules_out
        core = np.maximum(offset_time, cols["rgu_cycles"]) if c.rgu.overlap else offset_time + cols["rgu_cycles"]
        compute = np.ceil(cols["plus_cycles"] + core + cols["dvp_cycles"])
        memory = (dram_read + dram_write) / self._dram_bytes_per_cycle
        cycles = np.ceil(np.maximum(compute, memory) + np.minimum(compute, memory) / np.maximum(cols["folds"], 1))
        macs = np.array([la.pairs * la.cin * la.cout for la in layers], np.int64)
        return {
            "cycles": cycles.astype(np.int64), "compute_cycles": compute.astype(np.int64),
            "stall_cycles": (cycles - compute).astype(np.int64), "memory_cycles": memory, "macs": macs,
            "energy_mac_pj": macs * u["mac_pj"],
            **cols,
            "energy_sram_pj": sum(traffic[k] * 8 * u[f"sram_{k}_pj_per_bit"] for k in traffic),
            "energy_dram_pj": (dram_read + dram_write) * 8 * u["dram_pj_per_bit"],
            "energy_rgu_pj": rgu_steps * u["rgu_step_pj"],
            "energy_gsu_pj": addresses * u["gsu_address_pj"],
            "energy_leakage_pj": cycles * self._leakage_pj_per_cycle,
            "bytes_sram_read": sum(traffic[f"{s}_read"] for s in SRAMS),
            "bytes_sram_write": sum(traffic[f"{s}_write"] for s in SRAMS),
            "bytes_dram_read": dram_read, "bytes_dram_write": dram_write,
            "pairs": np.array([la.pairs for la in layers], float),
            "active_in": np.array([la.n_in for la in layers], float),
            "active_out": np.array([la.n_out for la in layers], float),
            "tiles": np.array([p.tiles * p.chunks for p in plans], float),
            "rules_reused": reused.astype(float),
            "dataflow": np.array(dataflows, object),
            "order": np.array([p.order for p in plans], object),
        }

    def _rgu(self, la: SparseLayer) -> tuple[int, int]:
        """(coordinate steps, cycles) of the RGU for one layer whose rules are generated (docstring)."""
        rgu = self.config.rgu
        build = 0 if la.layer_type == "subm" or la.selected is not None else la.pairs  # SD-Conv: SPADE+ merges
        if la.n_in == 0:  # no active input: no frame is sent
            return 0, 0
        if rgu.algorithm == "merge":  # hw.rgu: a match advances both streams, the end beat takes one cycle
            per_offset = la.n_in + la.n_out + 1 - la.pair_count
            steps = int(per_offset.sum()) + build
            return steps, int(np.ceil(per_offset / rgu.rate).sum()) + int(np.ceil(build / rgu.rate))
        steps = la.n_in + la.offsets * la.n_out + build
        return steps, int(np.ceil(steps / rgu.rate))
