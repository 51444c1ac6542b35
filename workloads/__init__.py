"""Workloads: the model zoo and ``build(spec)``, the one entry point from a workload spec to a trace.

A spec is a plain mapping, the same in the CLI (``-w MODEL -p key=value``), sweeps and notebooks.
Keys (defaults in brackets):

- every model: ``model`` (a zoo name, see ``models()``), ``batch`` [1], ``formats`` [int8 for every
  operand; a partial mapping overrides some];
- LLMs: ``phase`` (``prefill`` or ``decode``, required), ``num_layers`` [all], ``lm_head`` [true];
  prefill: ``prompt`` (required); decode: ``context`` (required) or ``kv_lengths`` (a ragged batch:
  one KV length per request, instead of ``batch`` and ``context``); formats over W, A, O, KV;
- CNNs: ``layers`` [all; a list of layer names], formats over W, A, O.
- pillar detectors (pointpillars-kitti, pointpillars-nuscenes, centerpoint-pillar, pillarnet): the
  keys above give the dense network from the pseudo-image on (no scene). Any of these keys instead
  builds one frame from a synthetic LiDAR scene (``workloads.pillars``; not with ``batch`` or
  ``layers``): ``variant`` [dense] one of dense, spconv, subm, spconv-p, sd-conv; ``seed`` [0] of
  the scene; ``t`` [2] sd-conv's top-t % of pillars dilated, in (0, 100]; ``keep`` [0.8] spconv-p's
  DVP keep ratio, in (0, 1], or ``dvp_threshold``: keep the vectors scoring >= that multiple of
  their layer's mean; ``rules`` [spconv] regular convs dilate (spconv) or not (minkowski);
  ``importance`` [pfn] the pillar importance proxy (pfn or points);
  ``head`` [dense] the detection head of a sparse variant (dense, or sparse: SubM on the active
  set); ``max_points``, ``max_pillars`` [the grid's] voxelization limits.

Bounds and meanings of the parameters, as data: ``parameters(model)``.

Examples: ``{"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 4096}``,
``{"model": "pointpillars-kitti", "layers": ["block1.conv0"]}``, ``{"model": "resnet-50"}``,
``{"model": "pointpillars-kitti", "variant": "sd-conv", "t": 2, "seed": 0}``.
Anything else raises a one-line WorkloadError naming the field, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.errors import WorkloadError, field_error
from sim.trace import Trace
from workloads import checks, cnn, llm, pillars
from workloads.llm import KVCacheState, decode, prefill
from workloads.zoo import lookup, models

LLM_KEYS = {"prefill": ("model", "phase", "prompt", "batch", "num_layers", "lm_head", "formats"),
            "decode": ("model", "phase", "context", "batch", "kv_lengths", "num_layers", "lm_head", "formats")}
CNN_KEYS = ("model", "batch", "layers", "formats")


def build(spec: Mapping) -> Trace:
    """The trace a workload spec describes (keys in the module docstring)."""
    if not isinstance(spec, Mapping):
        raise field_error("workload", spec, "a mapping with at least a 'model' key", WorkloadError)
    family, _ = lookup(spec.get("model"))
    args = {k: v for k, v in spec.items() if k not in ("model", "phase")}
    if family == "cnn" and any(key in pillars.PARAMETERS for key in spec):
        return pillars.trace(spec)
    if family == "cnn":
        checks.keys(spec, CNN_KEYS, "CNN models")
        return cnn.trace(spec["model"], **args)
    phase = spec.get("phase")
    if phase not in LLM_KEYS:
        raise field_error("workload.phase", phase, ", ".join(LLM_KEYS) + " (required for LLMs)", WorkloadError)
    checks.keys(spec, LLM_KEYS[phase], f"LLM phase {phase}")
    if phase == "prefill" and "prompt" not in spec:
        raise field_error("workload.prompt", None, "an integer >= 1 (required in phase prefill)", WorkloadError)
    return (prefill if phase == "prefill" else decode)(spec["model"], **args)


def parameters(model: str) -> dict[str, checks.Param]:
    """The ``-p`` parameters of a zoo model, as data: name -> ``Param(type, low, high, doc)``
    (bounds of an integer, or of each integer of a list; None: no bound). ``num_layers`` of an LLM
    is bounded by the model's layer count."""
    family, shape = lookup(model)
    if family == "cnn":
        return {**cnn.PARAMETERS, **(pillars.PARAMETERS if shape["arch"] in pillars.ARCHS else {})}
    params = dict(llm.PARAMETERS)
    params["num_layers"] = params["num_layers"]._replace(high=shape["layers"])
    return params


__all__ = ["build", "models", "parameters", "prefill", "decode", "KVCacheState"]
