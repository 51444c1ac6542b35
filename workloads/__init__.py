"""Workloads: the model zoo and the one entry point that turns a workload spec into a trace.

A spec is a plain mapping, the same in the CLI (``-w MODEL -p key=value``), sweeps and notebooks:

- LLMs: ``{"model": "llama-2-7b", "phase": "decode", "context": 4096}`` or
  ``{"model": "llama-3-8b", "phase": "prefill", "prompt": 512}``; optional ``batch`` (1),
  ``num_layers`` (all), ``lm_head`` (true), ``formats`` ({W, A, O, KV}: int8 each),
  ``kv_lengths`` (decode: per-request KV lengths of a ragged batch, instead of batch/context).
- CNNs: ``{"model": "resnet-50"}`` or ``{"model": "pointpillars-kitti", "layers": ["block1.conv0"]}``;
  optional ``batch`` (1), ``layers`` (all), ``formats``.
"""

from __future__ import annotations

import numpy as np

from sim.errors import WorkloadError, field_error
from sim.numerics import FORMATS
from sim.trace import OPERANDS, Trace
from workloads.cnn import cnn_layers, cnn_trace
from workloads.llm import KVCacheState, llm_trace
from workloads.zoo import family, models

LLM_KEYS = {"model", "phase", "batch", "prompt", "context", "num_layers", "lm_head", "formats", "kv_lengths"}
CNN_KEYS = {"model", "batch", "layers", "formats"}
PHASES = ("prefill", "decode")


def _int(spec: dict, key: str, default=None, low: int = 1, high: int | None = None) -> int | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
        raise field_error(f"workload.{key}", value, allowed, WorkloadError)
    return value


def _formats(spec: dict) -> dict | None:
    formats = spec.get("formats")
    if formats is None:
        return None
    if not isinstance(formats, dict) or set(formats) - set(OPERANDS):
        raise field_error("workload.formats", formats, f"a mapping with keys among {', '.join(OPERANDS)}", WorkloadError)
    for operand, name in formats.items():
        if name not in FORMATS:
            raise field_error(f"workload.formats.{operand}", name, ", ".join(FORMATS), WorkloadError)
    return formats


def _check_keys(spec: dict, allowed: set[str]) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise field_error(f"workload.{unknown[0]}", spec[unknown[0]], f"keys {', '.join(sorted(allowed))}", WorkloadError)


def build(spec: dict) -> Trace:
    """The trace a workload spec describes (see the module docstring for the keys)."""
    if not isinstance(spec, dict):
        raise field_error("workload", spec, "a mapping with at least a 'model' key", WorkloadError)
    name = spec.get("model")
    if name in family("llm"):
        return _llm(name, spec)
    if name in family("cnn"):
        return _cnn(name, spec)
    allowed = ", ".join(m for names in models().values() for m in names)
    raise field_error("workload.model", name, allowed, WorkloadError)


def _llm(name: str, spec: dict) -> Trace:
    _check_keys(spec, LLM_KEYS)
    shape = family("llm")[name]
    phase = spec.get("phase")
    if phase not in PHASES:
        raise field_error("workload.phase", phase, ", ".join(PHASES), WorkloadError)
    num_layers = _int(spec, "num_layers", None, 1, shape["layers"])
    lm_head = spec.get("lm_head", True)
    if not isinstance(lm_head, bool):
        raise field_error("workload.lm_head", lm_head, "true or false", WorkloadError)
    common = {"num_layers": num_layers, "lm_head": lm_head, "formats": _formats(spec)}
    if phase == "prefill":
        for key in ("context", "kv_lengths"):
            if key in spec:
                raise field_error(f"workload.{key}", spec[key], "only in phase decode (prefill takes prompt)", WorkloadError)
        prompt = _int(spec, "prompt")
        if prompt is None:
            raise field_error("workload.prompt", None, "an integer >= 1 (required in phase prefill)", WorkloadError)
        return llm_trace(shape, name, phase, batch=_int(spec, "batch", 1), prompt=prompt, **common)
    if "prompt" in spec:
        raise field_error("workload.prompt", spec["prompt"], "only in phase prefill (decode takes context)", WorkloadError)
    lengths = spec.get("kv_lengths")
    if lengths is not None:
        if "batch" in spec or "context" in spec:
            raise field_error("workload.kv_lengths", lengths, "either kv_lengths or batch/context, not both", WorkloadError)
        if (not isinstance(lengths, list) or not lengths
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in lengths)):
            raise field_error("workload.kv_lengths", lengths, "a non-empty list of integers >= 1", WorkloadError)
        kv = KVCacheState(np.array(lengths, dtype=np.int64))
    else:
        context = _int(spec, "context")
        if context is None:
            raise field_error("workload.context", None, "an integer >= 1 (required in phase decode)", WorkloadError)
        kv = KVCacheState.uniform(_int(spec, "batch", 1), context)
    return llm_trace(shape, name, phase, kv=kv, **common)


def _cnn(name: str, spec: dict) -> Trace:
    _check_keys(spec, CNN_KEYS)
    net = family("cnn")[name]
    batch = _int(spec, "batch", 1)
    layers = spec.get("layers")
    if layers is not None:
        known = [opname for _, opname, _ in cnn_layers(name, net, batch)]
        if not isinstance(layers, list) or not layers:
            raise field_error("workload.layers", layers, f"a non-empty list of layer names ({', '.join(known)})", WorkloadError)
        for layer in layers:
            if layer not in known:
                raise field_error("workload.layers", layer, ", ".join(known), WorkloadError)
    return cnn_trace(name, net, batch=batch, layers=layers, formats=_formats(spec))


__all__ = ["build", "models", "KVCacheState", "llm_trace", "cnn_trace"]
