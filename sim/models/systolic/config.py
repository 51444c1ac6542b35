"""The systolic family's config schema (``model: systolic``); the model is in ``model.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from sim.config import DramConfig, TechConfig
from sim.validation import Strict


class ArrayConfig(Strict):
    """Processing-element grid and its dataflow (output/weight/input stationary)."""

    rows: int = Field(ge=1, le=4096)
    cols: int = Field(ge=1, le=4096)
    dataflow: Literal["os", "ws", "is"] = "ws"


class MacConfig(Strict):
    """Datapath of one PE: a generic integer MAC with ``operand_bits``-wide ports (costs from
    Horowitz tables) or, with ``weight_format`` and ``act_format``, a synthesized MAC unit of the
    PE registry (``sim.models.pes``; the formats then fix the ports and ``operand_bits`` is unused).
    ``acc_bits``: accumulator width (for block formats, 16 or 32: the FP accumulator of block terms).
    An operand wider than its port is rejected, never silently run on a narrower datapath."""

    operand_bits: int = Field(8, ge=2, le=32)
    weight_format: str | None = None
    act_format: str | None = Field(None, validate_default=True)
    acc_bits: int = Field(32, ge=8, le=64)

    @field_validator("act_format")
    @classmethod
    def _registered_pair(cls, act_format: str | None, info: ValidationInfo) -> str | None:
        weight_format = info.data.get("weight_format")
        if (weight_format is None) != (act_format is None):
            raise ValueError("a format here and in weight_format, or in neither")
        if act_format is not None:
            from sim.models.pes import PES, by_formats

            if by_formats(weight_format, act_format, None) is None:
                pairs = ", ".join(f"{p.weight_format} x {p.act_format}" for p in PES.values())
                raise ValueError(f"with weight_format {weight_format!r}, a registered pair: {pairs}")
        return act_format

    @field_validator("acc_bits")
    @classmethod
    def _fits_the_pe(cls, acc_bits: int, info: ValidationInfo) -> int:
        if info.data.get("act_format") is not None:
            from sim.models.mac_pe import FormatPE

            problem = FormatPE(info.data["weight_format"], info.data["act_format"], acc_bits, None).acc_bits_problem()
            if problem:
                raise ValueError(problem)
        return acc_bits


class SramConfig(Strict):
    """On-chip buffers in KiB (each double-buffered: half is filled while half is used)."""

    ifmap_kb: float = Field(gt=0, le=1 << 20)
    filter_kb: float = Field(gt=0, le=1 << 20)
    ofmap_kb: float = Field(gt=0, le=1 << 20)


class VectorConfig(Strict):
    """SIMD unit beside the array for softmax/elementwise ops (lanes=0: none, such ops are rejected).

    ``softmax_ops_per_element`` (assumption, default 5): running max, subtract, exp, sum, divide.
    """

    lanes: int = Field(128, ge=0, le=65536)
    softmax_ops_per_element: float = Field(5.0, gt=0, le=100)


class ScaleSimBandwidth(Strict):
    """SCALE-Sim's USER-mode DRAM interfaces in words (bytes) per cycle: IFMAP and filter from its
    ``IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth``, OFMAP from ``Bandwidth``."""

    ifmap: int = Field(ge=1, le=1 << 20)
    filter: int = Field(ge=1, le=1 << 20)
    ofmap: int = Field(ge=1, le=1 << 20)


class SystolicConfig(Strict):
    """Dense systolic array (see ``sim.models.systolic.model`` for the cost model and its assumptions)."""

    model: Literal["systolic"]
    name: str = "systolic"
    clock_ghz: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)
    array: ArrayConfig
    mac: MacConfig = MacConfig()
    sram: SramConfig
    dram: DramConfig = Field(default_factory=DramConfig)
    vector: VectorConfig = VectorConfig()
    tech: TechConfig = TechConfig()
    mode: Literal["default", "scalesim"] = "default"
    fold_overlap: bool = True
    scalesim_bandwidth: ScaleSimBandwidth | None = None

    @field_validator("scalesim_bandwidth")
    @classmethod
    def _parity_only(cls, bandwidth: ScaleSimBandwidth | None, info: ValidationInfo) -> ScaleSimBandwidth | None:
        if bandwidth is not None and info.data.get("mode") != "scalesim":
            raise ValueError("only with mode: scalesim (SCALE-Sim's USER bandwidth mode)")
        return bandwidth

    @field_validator("mode")
    @classmethod
    def _scalesim_is_generic(cls, mode: str, info: ValidationInfo) -> str:
        mac = info.data.get("mac")
        if mode == "scalesim" and mac is not None and mac.weight_format is not None:
            raise ValueError("default while mac.weight_format is set (SCALE-Sim models a generic 1-byte MAC)")
        return mode
