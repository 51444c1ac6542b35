"""The systolic family's config schema (``model: systolic``); the model is in ``model.py``."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.config import DramConfig, TechConfig
from sim.errors import ConfigError
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
    acc_bits: int = Field(32, ge=8, le=64)
    weight_format: str | None = None
    act_format: str | None = None

    @model_validator(mode="after")
    def _format_pair(self) -> MacConfig:
        if (self.weight_format is None) != (self.act_format is None):
            missing, given = ("act_format", "weight_format") if self.act_format is None else ("weight_format", "act_format")
            raise ConfigError(f"mac.{missing}: missing; allowed: set both weight_format and act_format, or neither "
                              f"(mac.{given} is {getattr(self, given)!r})")
        if self.weight_format is not None:
            from sim.models.mac_pe import FormatPE

            FormatPE(self.weight_format, self.act_format, self.acc_bits, None).check_acc_bits()
        return self


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


class SystolicConfig(Strict):
    """Dense systolic array (see ``sim.models.systolic.model`` for the cost model and its assumptions)."""

    model: Literal["systolic"]
    name: str = "systolic"
    clock_ghz: float = Field(1.0, gt=0, le=10)
    array: ArrayConfig
    mac: MacConfig = MacConfig()
    sram: SramConfig
    dram: DramConfig = Field(default_factory=DramConfig)
    vector: VectorConfig = VectorConfig()
    tech: TechConfig = TechConfig()
    mode: Literal["default", "scalesim"] = "default"
    fold_overlap: bool = True

    @field_validator("clock_ghz")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a finite number")
        return value

    @model_validator(mode="after")
    def _scalesim_is_generic(self) -> SystolicConfig:
        if self.mode == "scalesim" and self.mac.weight_format is not None:
            raise ConfigError("mode: got 'scalesim' with mac.weight_format set; allowed: default (SCALE-Sim "
                              "models a generic 1-byte MAC)")
        return self
