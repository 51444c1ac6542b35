"""Hardware configs: loading, presets, dotted-path overrides, one-line errors, shared parts.

A config is a YAML mapping whose ``model`` key selects the hardware family (``sim.models``); each
family defines its own strict schema, built from shared parts such as ``TechConfig`` and
``DramConfig``. Unknown keys, wrong types (no coercion: ``true`` is not 1) and impossible values
fail validation with one message naming the field, the value and what is allowed. Presets live in ``sim/presets/*.yaml``; ``load_config`` accepts a preset name, a YAML
path or a dict, plus overrides such as ``{"array.rows": 64}`` (how sweeps vary a design).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union

import yaml
from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from sim.errors import ConfigError, suggest
from sim.validation import Strict, one_line

if TYPE_CHECKING:
    from sim.tech import TechValue

PRESET_DIR = Path(__file__).parent / "presets"


class TechConfig(Strict):
    """Technology node (nm) and optional overrides of tech-library entries (YAML path or mapping)."""

    node_nm: float = Field(45, ge=7, le=130)
    overrides: str | dict[str, Any] | None = None


class DramConfig(Strict):
    """Off-chip memory. ``kind`` selects a cited preset of ``sim/tech/dram.yaml``: energy per bit,
    bandwidth per channel and the channels of one device (a DIMM, a package or an HBM stack).
    ``channels`` changes the channel count; ``bandwidth_gbs`` (GB/s; .inf never stalls) replaces
    the preset's bandwidth outright. Give at most one of the two."""

    kind: str = "ddr4"
    channels: int | None = Field(None, ge=1, le=4096)
    bandwidth_gbs: float | None = Field(None, gt=0)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        from sim.tech import TechLibrary

        kinds = TechLibrary.load().dram_kinds()
        if kind not in kinds:
            raise ValueError(f"one of {', '.join(kinds)}{suggest(kind, kinds)}")
        return kind

    @model_validator(mode="after")
    def _one_bandwidth(self) -> DramConfig:
        if self.channels is not None and self.bandwidth_gbs is not None:
            raise ValueError("channels or bandwidth_gbs, not both (bandwidth_gbs replaces the preset)")
        return self

    def bandwidth_gbs_value(self, tech) -> TechValue:
        """The interface bandwidth in GB/s: ``bandwidth_gbs`` as given, else the kind's preset."""
        from sim.tech import TechValue

        if self.bandwidth_gbs is not None:
            return TechValue(self.bandwidth_gbs, "GB/s", "config dram.bandwidth_gbs")
        return tech.dram_bandwidth_gbs(self.kind, self.channels)



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
        raise ConfigError(f"config: got {str(source)!r}; allowed: a YAML file or a preset ({', '.join(presets())})"
                          + suggest(source, presets()))
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


def load_config(source: str | Path | dict, overrides: dict[str, Any] | None = None):
    """Validate a config (preset name, YAML path or dict) after applying dotted-path overrides.

    The ``model`` key picks the family (``sim.models``); the config is validated against the
    discriminated union of every registered family's schema.
    """
    from sim import models

    raw = apply_overrides(raw_config(source), overrides)
    where = f"config {_config_name(raw, source)}"
    known = models.families()
    model = raw.get("model")
    if not isinstance(model, str) or model not in known:
        got = "missing (required)" if model is None else f"got {model!r}"
        raise ConfigError(f"{where}: model: {got}; allowed: {', '.join(known)}" + suggest(model, known))
    try:
        return _union(models.version).validate_python(raw)
    except ValidationError as exc:
        schema = known[model].config
        message = one_line(exc, where, schema, skip=1)
        raise ConfigError(message + _other_family(exc, model, known)) from None


def _config_name(raw: dict, source) -> str:
    """How errors name a config: its name, else its file or preset, else its model."""
    if isinstance(raw.get("name"), str):
        return raw["name"]
    if not isinstance(source, dict):
        return str(source)
    return raw["model"] if isinstance(raw.get("model"), str) else "mapping"


@lru_cache(maxsize=4)
def _union(registry_version: int) -> TypeAdapter:
    """The discriminated union of every registered family's schema (rebuilt when the registry changes)."""
    from sim.models import families

    schemas = tuple(f.config for f in families().values())
    return TypeAdapter(Annotated[Union[schemas], Field(discriminator="model")])  # noqa: UP007 (a runtime tuple)


def _other_family(exc: ValidationError, model: str, known: dict) -> str:
    """`` (a field of model 'x')`` when an unknown top-level key belongs to another family."""
    first = exc.errors(include_url=False)[0]
    if first["type"] != "extra_forbidden" or len(first["loc"]) != 2:
        return ""
    key = first["loc"][1]
    owners = [name for name, f in known.items() if name != model and key in f.config.model_fields]
    return f" ({key} is a field of model {', '.join(map(repr, owners))}, not of {model!r})" if owners else ""
