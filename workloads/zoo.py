"""The model zoo: shapes of LLMs and CNNs, read from the YAML files in ``workloads/zoo``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

ZOO = Path(__file__).parent / "zoo"
FAMILIES = ("llm", "cnn")


@lru_cache(maxsize=None)
def family(name: str) -> dict[str, dict]:
    """All zoo entries of one family ('llm' or 'cnn'), keyed by model name."""
    return yaml.safe_load((ZOO / f"{name}.yaml").read_text())


def models() -> dict[str, list[str]]:
    """Zoo model names by family."""
    return {f: list(family(f)) for f in FAMILIES}
