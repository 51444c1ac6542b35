"""The model zoo: shapes of LLMs and CNNs as data (``workloads/zoo/<family>.yaml``), each entry citing its source.

The YAML is parsed once per process (cached), so building many traces costs no file I/O.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from sim.errors import WorkloadError, field_error, suggest

ZOO = Path(__file__).parent / "zoo"
FAMILIES = ("llm", "cnn")


@lru_cache(maxsize=None)
def family(name: str) -> dict[str, dict]:
    """All zoo entries of one family ('llm' or 'cnn'), keyed by model name. Treat as read-only."""
    return yaml.safe_load((ZOO / f"{name}.yaml").read_text())


def models() -> dict[str, list[str]]:
    """Zoo model names by family."""
    return {f: list(family(f)) for f in FAMILIES}


def lookup(model) -> tuple[str, dict]:
    """(family, shape) of a zoo model; a WorkloadError naming every known model otherwise."""
    if isinstance(model, str):
        for fam in FAMILIES:
            if model in family(fam):
                return fam, family(fam)[model]
    known = [name for names in models().values() for name in names]
    raise field_error("workload.model", model, ", ".join(known) + suggest(model, known), WorkloadError)
