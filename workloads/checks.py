"""Validation of workload parameters: each failure is one WorkloadError line naming the field,
the value and what is allowed. Integers may be any integral type (numpy too) but not bool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np

from sim.errors import WorkloadError, field_error, suggest
from sim.numerics import FORMATS


def _fail(field: str, value, allowed: str) -> WorkloadError:
    return field_error(field, value, allowed, WorkloadError)


def integer(field: str, value, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low or (high is not None and value > high):
        raise _fail(field, value, f"an integer >= {low}" + (f" and <= {high}" if high is not None else ""))
    return int(value)


def flag(field: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(field, value, "true or false")
    return bool(value)


def formats(field: str, value, operands: Sequence[str]) -> dict[str, str]:
    """A partial operand -> format-name mapping (None = no overrides)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(field, value, f"a mapping from operands ({', '.join(operands)}) to format names")
    for operand, name in value.items():
        if operand not in operands:
            raise _fail(f"{field}.{operand}", name, f"operands {', '.join(operands)}")
        if not isinstance(name, str) or name not in FORMATS:
            raise _fail(f"{field}.{operand}", name, ", ".join(FORMATS) + suggest(name, FORMATS))
    return dict(value)


def lengths(field: str, value, low: int) -> np.ndarray:
    """A non-empty 1-D sequence of integers >= low, as an int64 array (errors name the bad element)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)) or len(value) == 0:
        raise _fail(field, value, f"a non-empty list of integers >= {low}")
    for i, n in enumerate(value):
        integer(f"{field}[{i}]", n, low)
    return np.array(value, dtype=np.int64)


def names(field: str, value, allowed: Sequence[str]) -> list[str]:
    """A non-empty list of names, each one of ``allowed``."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or len(value) == 0:
        raise _fail(field, value, f"a non-empty list of names among {', '.join(allowed)}")
    for i, name in enumerate(value):
        if name not in allowed:
            raise _fail(f"{field}[{i}]", name, ", ".join(allowed))
    return list(value)


def keys(spec: Mapping, allowed: Sequence[str], context: str) -> None:
    """Every key of ``spec`` is one of ``allowed``."""
    for key in spec:
        if key not in allowed:
            raise _fail(f"workload.{key}", spec[key], f"keys {', '.join(allowed)} ({context})" + suggest(key, allowed))
