"""Dense systolic array: R x C PEs, OS/WS/IS dataflows, double-buffered SRAMs, one DRAM interface.

All costs are closed forms over numpy arrays (one entry per op); nothing is simulated per cycle.
The GEMM-lowered kinds, the vector kinds and the DMA kinds are each costed in one call per trace
(``fused_kinds``), with the same per-op values as kind by kind.

Mapping (the SCALE-Sim table): after lowering an op to GEMMs (``sim.lowering``), the spatial
rows Sr, spatial columns Sc and temporal extent T are OS: (M, N, K), WS: (K, N, M), IS: (K, M, N);
the op runs ``repeats * ceil(Sr/R) * ceil(Sc/C)`` folds.

Compute cycles:
- ``mode: scalesim`` reproduces SCALE-Sim v3: serial folds of 2R + C + T - 2 cycles (WS, IS) or
  R + C + T - 2 (OS), total minus one (its 0-indexed last cycle); ``compute_cycles_true`` keeps
  the count without the off-by-one. Conv output size follows its ceil rule with no padding.
- ``mode: default`` with ``fold_overlap: true`` (assumption): the stationary operand of the next
  fold is preloaded into double-buffered PE registers while the current fold streams, and outputs
  drain while the next fold fills, so each fold costs max(T, R) and the pipeline's preload, fill
  and drain (2R + C - 2) is paid once per op. With ``fold_overlap: false`` every fold costs
  2R + C + T - 2 (preload R, fill/drain R + C - 2, stream T), serially, without SCALE-Sim's
  off-by-one.
- Outside reference (``tests/hw/test_array_cycles.py``, OS only: the RTL is output stationary):
  the Amaranth ``PEArray``, whose accumulators are read in parallel, takes exactly R cycles fewer
  than this model per serial fold (R + C + T - 2) and per layer of back-to-back folds when T >= R
  (R + C - 2 + folds x T); with T < R it finishes a fold every T cycles where this model charges
  R to drain the outputs.

Memory (assumptions, stated): every op reads its operands from DRAM and writes its outputs back
(no inter-op reuse). An operand that fits in half of its buffer (the other half is being filled)
is fetched once; otherwise it is re-fetched for every fold of the loop that re-visits it
(WS: the activations once per column fold; OS: the weights once per row fold and an activation
row-slice once per column fold; IS: the weights once per column fold). WS/IS partial sums
(``acc_bits`` wide) stay in the output buffer if one column fold of them fits in half of it,
else they spill to DRAM and are read back once per extra row fold. Operand widths come from the
trace formats (``sim.numerics.storage``); SCALE-Sim mode uses its 1-byte words.

Stalls (``mode: default``): DRAM transfers are spread evenly over the op's n folds and
double-buffered, a two-stage pipeline whose length is exactly max(C, D) + min(C, D) / n for
compute C and transfer D cycles: the bandwidth-bound time of the traffic above, whatever the
buffers' fill order. ``mode: scalesim`` instead reproduces SCALE-Sim 3.0.0's own memory model
(``scalesim_memory``): operands fetched in its prefetch order into set-granular windows, re-fetched
whenever a fold re-reads data that has left the window, its 2x charging of a prefetch wait, the
initial fill before cycle 0 (excluded from Total Cycles, counted in ``cycles_incl_prefetch``) and
the OFMAP drain; with no USER bandwidth (CALC) it has no stalls. The two differ most for operands
that fit their buffer (no stalls in SCALE-Sim, bandwidth-bound here) and for small buffers that
SCALE-Sim re-fetches.

Format-aware PEs (``mac.weight_format`` and ``mac.act_format``): the PE is a synthesized MAC unit
and its costs come from ``sim.models.mac_pe``. A block unit (MXFP4, AMXFP4) takes one 32-element
block of K per cycle, so the mapping's K extent is ceil(K / 32) (a partial last block idles its
lanes) and utilization counts MACs against R x C x 32 per cycle. Each op's weight-side (W or KV)
and activation formats must fit the PE's ports (``sim.models.pes``); unset formats default to the
PE's own, for traffic as well.

Generic PE (``mac.operand_bits``): an integer MAC whose ports are ``operand_bits`` wide. An op whose
W/KV or A elements are wider than the ports is rejected (an UnsupportedOpError naming the op);
narrower ones are sign-extended. Unset formats take the port width.

Energy (generic PE): MAC = multiplier + accumulator adder + PE pipeline registers (2 operands + 1 partial sum)
per MAC, idle PEs clock-gated; SRAM per bit accessed, by buffer size; DRAM per bit by memory
kind; logic leakage of every PE for the op's whole duration (SRAM leakage is not modelled);
softmax and elementwise ops run on a SIMD vector unit at one FMA-equivalent (fp16 add + fp16
mult) per element operation; utilization (computed by the engine from ``peak_macs_per_cycle``) is
always the PE array's (0 for vector and DMA ops), ``vector_utilization`` the lanes'. DRAM
bandwidth is the ``dram.kind`` preset's (per-channel bandwidth x channels) unless
``dram.bandwidth_gbs`` is given. Every per-unit cost comes from ``sim.tech`` with its citation
(``basis``).
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from types import MappingProxyType

import numpy as np

from sim.errors import UnsupportedOpError
from sim.lowering import GEMM_KINDS, Gemms, lower_batches
from sim.models import MemoryLevel, OpBatch
from sim.models.mac_pe import FormatPE
from sim.config import DramConfig
from sim.models.systolic.config import MacConfig, SramConfig, SystolicConfig
from sim.numerics.storage import FORMATS, bits_per_element
from sim.trace import OPERANDS
from sim.tech import TechLibrary, TechValue

VECTOR_KINDS = ("softmax", "elementwise")
DMA_KINDS = ("kv_append", "kv_read")
BUFFERS = ("ifmap", "filter", "ofmap")
SRAM_TRAFFIC = tuple(f"sram_{b}_{rw}" for b in BUFFERS for rw in ("read", "write"))  # reads at even positions
TRAFFIC = ("dram_read", "dram_write", *SRAM_TRAFFIC)  # the rows of a traffic matrix
ELEMENT_BITS = {name: bits_per_element(name) for name in FORMATS}  # storage bits, scale shares included


def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return -(-a // b)


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-batch arrays one after another (the array itself for one batch)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


@lru_cache(maxsize=64)
def _cost_basis(tech: TechLibrary, mac: MacConfig, dram: DramConfig, sram: SramConfig,
                values: tuple) -> MappingProxyType[str, TechValue]:
    """Every per-unit energy/power/area the model uses, each a cited tech-library value; kept per
    library and config parts (``values``: every field of the three parts with its type)."""
    t = tech
    op, acc = mac.operand_bits, mac.acc_bits
    if mac.weight_format is None:
        reg_bits = 2 * op + acc
        pe = {"mac_pj": t.int_mult_pj(op, op) + t.int_add_pj(acc) + t.register_pj_per_bit() * reg_bits,
              "pe_leakage_uw": t.leakage_uw("multiplier", op) + t.leakage_uw("adder", acc),
              "pe_area_um2": t.int_mult_area_um2(op, op) + t.int_add_area_um2(acc)
              + t.register_area_um2_per_bit() * reg_bits}
    else:
        unit = FormatPE(mac.weight_format, mac.act_format, acc, tech)
        pe = {"mac_pj": unit.mac_pj(), "pe_leakage_uw": unit.leakage_uw(), "pe_area_um2": unit.area_um2()}
    basis = {
        **pe,
        "vector_op_pj": t.fp_add_pj(16) + t.fp_mult_pj(16),
        "dram_pj_per_bit": t.dram_pj_per_bit(dram.kind),
        "dram_bandwidth_gbs": dram.bandwidth_gbs_value(t),
        "vector_lane_area_um2": t.fp_add_area_um2(16) + t.fp_mult_area_um2(16),
    }
    for b in BUFFERS:
        size = int(getattr(sram, f"{b}_kb") * 1024)
        for rw in ("read", "write"):
            access = t.sram_access_pj(size, bits=64, write=rw == "write")
            basis[f"sram_{b}_{rw}_pj_per_bit"] = TechValue(access.value / 64, "pJ/bit", f"{access.source} / 64 bits")
        basis[f"sram_{b}_area_mm2"] = t.sram_area_mm2(size)
    return MappingProxyType(basis)


class SystolicArray:
    """Cost model of one dense systolic array configured by a :class:`SystolicConfig`."""

    def __init__(self, config: SystolicConfig):
        self.config = config
        self.name = config.name
        self.clock_hz = config.clock_ghz * 1e9
        self.tech = TechLibrary.load(config.tech.node_nm, config.tech.overrides)
        self.kinds = GEMM_KINDS + DMA_KINDS + (VECTOR_KINDS if config.vector.lanes else ())
        self.fused_kinds = (GEMM_KINDS, DMA_KINDS) + ((VECTOR_KINDS,) if config.vector.lanes else ())
        mac = config.mac
        self.pe = None if mac.weight_format is None else FormatPE(mac.weight_format, mac.act_format, mac.acc_bits,
                                                                   self.tech)
        self.macs_per_pe = 1 if self.pe is None else self.pe.macs_per_pe
        self.peak_macs_per_cycle = config.array.rows * config.array.cols * self.macs_per_pe
        parts = (mac, config.dram, config.sram)
        self.basis = dict(_cost_basis(self.tech, *parts, tuple((k, type(v), v) for part in parts for k, v in part)))
        self._unit = {k: v.value for k, v in self.basis.items()}
        self._dram_bytes_per_cycle = self._unit["dram_bandwidth_gbs"] * 1e9 / self.clock_hz
        self.memory_levels = (MemoryLevel("sram"), MemoryLevel("dram", self._dram_bytes_per_cycle))
        self.formulas = self._formulas()
        self._half_buffer = {b: getattr(config.sram, f"{b}_kb") * 1024 / 2 for b in BUFFERS}
        # per-model constants of the per-op formulas (x 8 bits per byte is exact: a power of two)
        self._pj_per_byte = {k: 8 * self._unit[f"{k}_pj_per_bit"] for k in SRAM_TRAFFIC}
        self._pj_per_byte["dram"] = 8 * self._unit["dram_pj_per_bit"]
        self._sram_pj_per_byte = np.array([self._pj_per_byte[k] for k in SRAM_TRAFFIC])
        self._leakage_w = config.array.rows * config.array.cols * self._unit["pe_leakage_uw"] * 1e-6
        self._unset_bits = {operand: self._default_bits(operand) for operand in OPERANDS}

    # -- per-unit costs with provenance ------------------------------------------------------------

    def _formulas(self) -> dict[str, str]:
        c = self.config
        if self.pe is None:
            mac = ("int_mult(operand_bits x operand_bits) + int_add(acc_bits) + (2 x operand_bits + acc_bits) "
                   "x register_pj_per_bit")
        else:
            mac = (f"{self.pe.unit} unit (sim/tech/rtl_macs.yaml) + accumulator width change + operand registers"
                   + (" + block-term FP adds" if self.pe.pe.is_block else ""))
        cycles = {"scalesim": "folds x (2R or R + C + T - 2) - 1 (SCALE-Sim v3)",
                  "default": "2R + C - 2 + folds x max(T, R)" if c.fold_overlap else "folds x (2R + C + T - 2)"}
        return {
            "cycles": f"per op: compute = {cycles[c.mode]}; " + (
                "cycles = compute + stalls of SCALE-Sim's double-buffered memory (scalesim_memory)"
                if c.mode == "scalesim" else
                "with D = DRAM bytes / (dram_bandwidth_gbs / clock), cycles = max(compute, D) + min(compute, D) / folds"),
            "energy": "MACs x mac_pj + vector ops x vector_op_pj + SRAM bits x pJ/bit (per buffer, read/write) "
                      "+ DRAM bits x dram_pj_per_bit + PEs x pe_leakage_uw x time",
            "mac_pj": mac,
            "area": "PEs x pe_area_um2 + SRAM buffers (sram_*_area_mm2) + vector lanes x vector_lane_area_um2",
        }

    def area(self) -> dict[str, TechValue]:
        """Area by component in mm^2: PE array, each SRAM buffer, vector unit."""
        return dict(self._area)

    @cached_property
    def _area(self) -> dict[str, TechValue]:
        c = self.config
        um2_to_mm2 = 1e-6
        parts = {"array": self.basis["pe_area_um2"] * (c.array.rows * c.array.cols * um2_to_mm2)}
        parts.update({f"sram_{b}": self.basis[f"sram_{b}_area_mm2"] for b in BUFFERS})
        if c.vector.lanes:
            parts["vector"] = self.basis["vector_lane_area_um2"] * (c.vector.lanes * um2_to_mm2)
        return {k: TechValue(v.value, "mm2", v.source) for k, v in parts.items()}

    # -- evaluation ----------------------------------------------------------------------------------

    def evaluate(self, batch: OpBatch) -> dict[str, np.ndarray]:
        """Costs of all ops of one kind: a dict of equally long arrays (the ``sim.models`` protocol)."""
        return self.evaluate_fused((batch,))

    def evaluate_fused(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        """Costs of the ops of several kinds of one ``fused_kinds`` group, batch after batch."""
        kind = batches[0].kind
        if kind in GEMM_KINDS:
            return self._gemm(batches)
        if kind in VECTOR_KINDS and self.config.vector.lanes:
            return self._vector(batches)
        if kind in DMA_KINDS:
            return self._dma(batches)
        raise UnsupportedOpError(f"model {self.name!r} (systolic) cannot run op kind {kind!r}; it runs: {', '.join(self.kinds)}")

    def _check_ports(self, batch: OpBatch, w_operand: str) -> None:
        """Reject ops whose operands do not fit the PE's ports (format PE) or are wider than them (generic MAC)."""
        w_fmts, a_fmts = batch.formats[w_operand], batch.formats["A"]
        for w, a in batch.distinct(w_operand, "A"):
            problem = self._misfit(w, a)
            if problem:
                i = int(np.flatnonzero((w_fmts == w) & (a_fmts == a))[0])
                raise UnsupportedOpError(f"model {self.name!r}, op {batch.ids[i]} ({batch.names[i]!r}): {problem}")

    def _misfit(self, weight_side: str, act_side: str) -> str | None:
        """Why operands in these formats ('' = unset) cannot run on the PE, or None."""
        if self.pe is not None:
            return self.pe.misfit(weight_side, act_side)
        if self.config.mode == "scalesim":
            return None
        port = self.config.mac.operand_bits
        for side, fmt in (("weight", weight_side), ("activation", act_side)):
            if fmt and FORMATS[fmt][0] > port:
                return (f"{side} operand in {fmt!r} ({FORMATS[fmt][0]}-bit elements) is wider than the MAC's "
                        f"{port}-bit ports (mac.operand_bits); allowed: elements of at most {port} bits "
                        f"(quantize the workload with workload.formats, or widen mac.operand_bits)")
        return None

    def _default_bits(self, operand: str) -> float:
        """Bits per element of an operand whose format is unset: the PE's format of that side or the
        generic MAC's width."""
        if self.pe is None:
            return float(self.config.mac.operand_bits)
        return bits_per_element(self.pe.weight_format if operand in ("W", "KV") else self.pe.act_format)

    def _bits(self, batches: tuple[OpBatch, ...], operands: list[str]) -> float | np.ndarray:
        """Bits per element of operand ``operands[i]`` of each op of ``batches[i]``, batch after batch
        (1-byte words in SCALE-Sim mode; if unset, ``_default_bits``): one number when all ops agree,
        the usual case, else one per op."""
        if self.config.mode == "scalesim":
            return 8.0
        per_batch = []
        for batch, operand in zip(batches, operands):
            used, unset = batch.distinct(operand), self._unset_bits[operand]
            if len(used) == 1:  # the usual case
                ((fmt,),) = used
                per_batch.append(float(ELEMENT_BITS[fmt] if fmt else unset))
            else:
                per_batch.append(np.array([ELEMENT_BITS[f] if f else unset for f in batch.formats[operand]], float))
        first = per_batch[0]
        if all(type(b) is float and b == first for b in per_batch):
            return first
        return _joined([np.full(len(batch), b) if type(b) is float else b for batch, b in zip(batches, per_batch)])

    def _gemm(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        c = self.config
        R, C, df = c.array.rows, c.array.cols, c.array.dataflow
        parity = c.mode == "scalesim"
        parts, g = lower_batches(batches, output_size="scalesim" if parity else "standard")
        for b, part in zip(batches, parts):
            self._check_ports(b, part.w_operand)
        # a block PE takes `macs_per_pe` elements of K per cycle
        K = g.K if self.macs_per_pe == 1 else _ceil_div(g.K, self.macs_per_pe)
        Sr, Sc, T = {"os": (g.M, g.N, K), "ws": (K, g.N, g.M), "is": (K, g.M, g.N)}[df]
        rf, cf = _ceil_div(Sr, R), _ceil_div(Sc, C)
        folds = g.repeats * rf * cf

        if parity:
            fold_cycles = (R if df == "os" else 2 * R) + C + T - 2
            true = folds * fold_cycles
            compute = true - 1
            # SCALE-Sim's compute util: mean over folds of used MACs * T / (R * C * L), where its
            # per-fold demand matrix spans L = R + C + T - 2 (OS) or 2R + 2C + T - 3 (WS, IS) cycles.
            demand_span = R + C + T - 2 if df == "os" else 2 * R + 2 * C + T - 3
            compute_util = Sr * Sc * T / (rf * cf * R * C * demand_span)
        elif c.fold_overlap:
            true = compute = 2 * R + C - 2 + folds * np.maximum(T, R)
        else:
            true = compute = folds * (2 * R + C + T - 2)
        if not parity:
            compute_util = g.macs / (compute * self.peak_macs_per_cycle)  # int64: exact

        bits = {side: self._bits(batches, [part.w_operand if side == "W" else side for part in parts])
                for side in ("A", "W", "O")}
        traffic = self._traffic(g, bits, df, rf, cf, Sc, T)
        dram_cycles = (traffic[0] + traffic[1]) / self._dram_bytes_per_cycle
        if parity:
            stalls, incl_prefetch = (_joined(list(a)) for a in zip(*(self._scalesim_memory(part, b, df)
                                                                     for b, part in zip(batches, parts))))
            cycles = (compute + stalls).astype(np.int64)
        else:
            cycles = np.maximum(compute, dram_cycles) + np.minimum(compute, dram_cycles) / folds
            cycles = np.ceil(cycles).astype(np.int64)

        macs = g.macs
        out = {
            "cycles": cycles,
            "compute_cycles": compute.astype(np.int64),
            "compute_cycles_true": true.astype(np.int64),
            "stall_cycles": cycles - compute,
            "memory_cycles": dram_cycles,
            "macs": macs,
            "folds": folds,
            "mapping_efficiency": macs / (folds * self.peak_macs_per_cycle * T),
            "compute_utilization": compute_util,
            "energy_mac_pj": macs * self._unit["mac_pj"],
        }
        if parity:
            out["cycles_incl_prefetch"] = incl_prefetch
        out.update(self._memory_energy(traffic))
        out["energy_leakage_pj"] = self._leakage_pj(cycles)
        return out

    def _scalesim_memory(self, g: Gemms, batch: OpBatch, df: str) -> tuple[np.ndarray, np.ndarray]:
        """SCALE-Sim parity: stall cycles and total cycles incl. prefetch of each op from its
        double-buffered memory model (``scalesim_memory``). Bandwidths (words/cycle): the cfg's
        USER-mode ones, else the DRAM's bytes per cycle for all three interfaces when finite, else
        none (CALC mode: no stalls)."""
        from sim.models.systolic.scalesim_memory import Layer, calc_incl_prefetch, layer_cycles  # numba: parity only

        c = self.config
        sizes = tuple(int(getattr(c.sram, f"{b}_kb") * 1024) for b in BUFFERS)
        if c.scalesim_bandwidth is not None:
            bandwidth = (c.scalesim_bandwidth.ifmap, c.scalesim_bandwidth.filter, c.scalesim_bandwidth.ofmap)
        elif np.isfinite(self._dram_bytes_per_cycle):
            bandwidth = (max(int(self._dram_bytes_per_cycle), 1),) * 3
        else:
            bandwidth = None
        if bandwidth is None:
            incl = calc_incl_prefetch(df, c.array.rows, c.array.cols, g.M, g.N, g.K, g.a_elems, g.w_elems, sizes)
            return np.zeros(len(incl), dtype=np.int64), incl * g.repeats
        d = batch.dims
        convs = (zip(*(d[k] for k in ("H", "W", "R", "S", "C", "stride"))) if batch.kind == "conv2d"
                 else [()] * len(g.M))
        layers = [Layer(df, c.array.rows, c.array.cols, int(m), int(n), int(k), int(a), int(w),
                        tuple(map(int, conv)) if conv and d["N"][i] == 1 else ())  # im2col edges: one image
                  for i, (m, n, k, a, w, conv) in enumerate(zip(g.M, g.N, g.K, g.a_elems, g.w_elems, convs))]
        stalls, incl = np.array([layer_cycles(layer, sizes, bandwidth) for layer in layers],
                                dtype=np.int64).reshape(-1, 2).T
        return stalls * g.repeats, incl * g.repeats

    def _traffic(self, g: Gemms, bits: dict[str, np.ndarray], df, rf, cf, Sc, T) -> np.ndarray:
        """Bytes moved per op (see module doc), one row per ``TRAFFIC`` entry; ``bits`` per element
        of the A, W side and O operands (numbers or one per op)."""
        a_B, w_B, o_B = bits["A"] / 8, bits["W"] / 8, bits["O"] / 8
        acc_B = o_B if self.config.mode == "scalesim" else self.config.mac.acc_bits / 8
        half = self._half_buffer
        IF, FL, OF = g.a_elems * a_B, g.w_elems * w_B, g.o_elems * o_B
        MK, KN, MN = g.MK, g.KN, g.MN

        if df == "os":
            if_dram = IF * np.where(IF / rf <= half["ifmap"], 1, cf)
            fl_dram = FL * np.where(FL <= half["filter"], 1, rf)
            spill = psum = np.zeros(len(IF))
            if_sram, fl_sram = MK * cf * a_B, KN * rf * w_B
        else:
            if df == "ws":
                if_dram = IF * np.where(IF <= half["ifmap"], 1, cf)
                fl_dram = FL
                if_sram, fl_sram = MK * cf * a_B, KN * w_B
            else:
                if_dram = IF
                fl_dram = FL * np.where(FL <= half["filter"], 1, cf)
                if_sram, fl_sram = MK * a_B, KN * cf * w_B
            tile = np.minimum(self.config.array.cols, Sc) * T * acc_B
            psum = (rf - 1) * MN * acc_B  # partial sums written to the output buffer and read back
            spill = np.where(tile > half["ofmap"], psum, 0)
        per_repeat = np.array([if_dram + fl_dram + spill, OF + spill, if_sram, if_dram, fl_sram, fl_dram,
                               psum + OF + spill, psum + MN * o_B + spill], dtype=float)
        return per_repeat * g.repeats

    def _memory_energy(self, traffic: np.ndarray) -> dict[str, np.ndarray]:
        """SRAM and DRAM energy plus byte counters from the traffic matrix (one row per ``TRAFFIC``
        entry, one column per op)."""
        sram = traffic[2:]
        return {
            "energy_sram_pj": (self._sram_pj_per_byte[:, None] * sram).sum(axis=0),  # row by row: per op as alone
            "energy_dram_pj": (traffic[0] + traffic[1]) * self._pj_per_byte["dram"],
            "bytes_dram_read": traffic[0],
            "bytes_dram_write": traffic[1],
            "bytes_sram_read": sram[0::2].sum(axis=0),
            "bytes_sram_write": sram[1::2].sum(axis=0),
        }

    def _leakage_pj(self, cycles: np.ndarray) -> np.ndarray:
        return cycles * (self._leakage_w / self.clock_hz * 1e12)

    def _vector(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        elements, ops = [], []
        for batch in batches:
            d = batch.dims
            if batch.kind == "softmax":
                elements.append(d["B"] * d["H"] * d["Q"] * d["T"])
                ops.append(elements[-1] * self.config.vector.softmax_ops_per_element)
            else:
                elements.append(d["E"])
                ops.append(d["E"] * d["F"])
        elements, ops = _joined(elements), _joined(ops)
        cycles = np.ceil(ops / self.config.vector.lanes).astype(np.int64)
        nbytes = elements * self._bits(batches, ["A"] * len(batches)) / 8
        out = {"cycles": cycles, "compute_cycles": cycles, "stall_cycles": np.zeros_like(cycles),
               "memory_cycles": np.zeros(len(cycles)), "macs": np.zeros_like(cycles),
               "vector_utilization": ops / (cycles * self.config.vector.lanes),
               "energy_vector_pj": ops * self._unit["vector_op_pj"]}
        traffic = np.zeros((len(TRAFFIC), len(cycles)))
        traffic[[TRAFFIC.index("sram_ofmap_read"), TRAFFIC.index("sram_ofmap_write")]] = nbytes
        out.update(self._memory_energy(traffic))
        out["energy_leakage_pj"] = self._leakage_pj(cycles)
        return out

    def _dma(self, batches: tuple[OpBatch, ...]) -> dict[str, np.ndarray]:
        """KV-cache append/read: K and V moved between DRAM and the buffers, no compute."""
        sizes, appends = [], []
        for batch in batches:
            d, append = batch.dims, batch.kind == "kv_append"
            tokens = d["Q"] if append else d["T"]
            sizes.append(2 * d["B"] * d["G"] * tokens * d["D"] * self._bits((batch,), ["KV"]) / 8)
            appends.append(np.full(len(batch), append))
        nbytes, append = _joined(sizes), _joined(appends)
        traffic = np.zeros((len(TRAFFIC), len(nbytes)))
        traffic[[TRAFFIC.index("dram_write"), TRAFFIC.index("sram_ofmap_read")]] = np.where(append, nbytes, 0.0)
        traffic[[TRAFFIC.index("dram_read"), TRAFFIC.index("sram_ifmap_write")]] = np.where(append, 0.0, nbytes)
        memory = nbytes / self._dram_bytes_per_cycle
        cycles = np.ceil(memory).astype(np.int64)
        out = {"cycles": cycles, "compute_cycles": np.zeros_like(cycles), "stall_cycles": cycles,
               "memory_cycles": memory, "macs": np.zeros_like(cycles)}
        out.update(self._memory_energy(traffic))
        out["energy_leakage_pj"] = self._leakage_pj(cycles)
        return out
