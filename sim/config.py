"""Hardware configs: a YAML-described schema, presets, dotted-path overrides, one-line errors.

A config is a YAML mapping whose ``model`` key selects the hardware family. Unknown keys, wrong
types and impossible values fail validation with one message naming the field, the value and what
is allowed. Presets live in ``sim/presets/*.yaml``; ``load_config`` accepts a preset name, a YAML
path or a dict, plus overrides such as ``{"array.rows": 64}`` (how sweeps vary a design).
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import ConfigError

PRESET_DIR = Path(__file__).parent / "presets"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArrayConfig(_Strict):
    """Processing-element grid and its dataflow (output/weight/input stationary)."""

    rows: int = Field(ge=1, le=4096)
    cols: int = Field(ge=1, le=4096)
    dataflow: Literal["os", "ws", "is"] = "ws"


class MacConfig(_Strict):
    """Datapath of one PE: a generic integer MAC (``operand_bits``, costs from Horowitz tables) or,
    with ``weight_format`` and ``act_format``, a synthesized MAC unit (``sim.models.mac_pe``; the
    formats then fix the operand widths and ``operand_bits`` is not used).
    ``acc_bits``: accumulator width (for block formats, 16 or 32: the FP accumulator of block terms)."""

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


class SramConfig(_Strict):
    """On-chip buffers in KiB (each double-buffered: half is filled while half is used)."""

    ifmap_kb: float = Field(gt=0, le=1 << 20)
    filter_kb: float = Field(gt=0, le=1 << 20)
    ofmap_kb: float = Field(gt=0, le=1 << 20)


class DramConfig(_Strict):
    """Off-chip memory: type (selects pJ/bit in sim.tech) and bandwidth (GB/s; .inf = never stalls)."""

    kind: str = "ddr4"
    bandwidth_gbs: float = Field(gt=0)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        from sim.tech import TechLibrary

        kinds = TechLibrary.load().dram_kinds()
        if kind not in kinds:
            raise ValueError(f"unknown DRAM kind {kind!r}; allowed: {', '.join(kinds)}")
        return kind


class VectorConfig(_Strict):
    """SIMD unit beside the array for softmax/elementwise ops (lanes=0: none, such ops are rejected).

    ``softmax_ops_per_element`` (assumption, default 5): running max, subtract, exp, sum, divide.
    """

    lanes: int = Field(128, ge=0, le=65536)
    softmax_ops_per_element: float = Field(5.0, gt=0, le=100)


class TechConfig(_Strict):
    """Technology node (nm) and optional overrides of tech-library entries (YAML path or mapping)."""

    node_nm: float = Field(45, ge=7, le=130)
    overrides: str | dict[str, Any] | None = None


class SystolicConfig(_Strict):
    """Dense systolic array (see sim.models.systolic for the cost model and its assumptions)."""

    model: Literal["systolic"]
    name: str = "systolic"
    clock_ghz: float = Field(1.0, gt=0, le=10)
    array: ArrayConfig
    mac: MacConfig = MacConfig()
    sram: SramConfig
    dram: DramConfig
    vector: VectorConfig = VectorConfig()
    tech: TechConfig = TechConfig()
    mode: Literal["default", "scalesim"] = "default"
    fold_overlap: bool = True

    @field_validator("clock_ghz")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    @model_validator(mode="after")
    def _scalesim_is_generic(self) -> SystolicConfig:
        if self.mode == "scalesim" and self.mac.weight_format is not None:
            raise ConfigError("mode: got 'scalesim' with mac.weight_format set; allowed: default (SCALE-Sim "
                              "models a generic 1-byte MAC)")
        return self


MODELS = ("systolic",)


def presets() -> list[str]:
    """Names of the built-in hardware presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of config fields; got {type(data).__name__}")
    return data


def raw_config(source: str | Path | dict) -> dict:
    """The unvalidated config mapping of a preset name, a YAML path or a dict (a deep copy)."""
    if isinstance(source, dict):
        return copy.deepcopy(source)
    path = Path(source)
    if not path.suffix and (PRESET_DIR / f"{source}.yaml").is_file():
        path = PRESET_DIR / f"{source}.yaml"
    elif not path.is_file():
        raise ConfigError(f"config: got {str(source)!r}; allowed: a YAML file or a preset ({', '.join(presets())})")
    return copy.deepcopy(_read_yaml(path.resolve()))


def apply_overrides(raw: dict, overrides: dict[str, Any] | None) -> dict:
    """Set dotted paths (``"array.rows": 64``) in a config mapping; intermediate mappings must exist."""
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for i, key in enumerate(parents):
            child = node.get(key) if isinstance(node, dict) else None
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {dotted}: {'.'.join(parents[:i + 1])} is not a mapping")
            node = child
        node[leaf] = value
    return raw


def load_config(source: str | Path | dict, overrides: dict[str, Any] | None = None) -> SystolicConfig:
    """Validate a config (preset name, YAML path or dict) after applying dotted-path overrides."""
    raw = apply_overrides(raw_config(source), overrides)
    model = raw.get("model")
    if model not in MODELS:
        raise ConfigError(f"model: got {model!r}; allowed: {', '.join(MODELS)}")
    try:
        return SystolicConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, raw.get("name", str(source)))) from None


def _one_line(exc: ValidationError, where: str) -> str:
    """Turn pydantic's report into one line: field, value, what is allowed (first error + count)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(first["loc"][:-1])
        msg = f"{field}: unknown key; allowed: {', '.join(allowed)}"
    elif first["type"] == "missing":
        msg = f"{field}: missing (required)"
    else:
        msg = f"{field}: got {first.get('input')!r}; allowed: {_allowed(first)}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"config {where}: {msg}{more}"


def _allowed(error: dict) -> str:
    ctx = error.get("ctx") or {}
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}",
              "less_than_equal": "<= {le}"}
    if error["type"] in bounds:
        return bounds[error["type"]].format(**ctx)
    if error["type"] == "literal_error":
        return str(ctx.get("expected"))
    return error["msg"].removeprefix("Value error, ")


def _allowed_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] = SystolicConfig
    for key in loc:
        annotation = model.model_fields[key].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return list(model.model_fields)
