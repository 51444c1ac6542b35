"""Hardware models. Each implements ``kinds``, ``clock_hz``, ``evaluate(kind, dims, formats)``,
``area()`` and ``basis`` (its per-unit costs, each a cited :class:`sim.tech.TechValue`)."""

from sim.config import SystolicConfig
from sim.models.systolic import SystolicArray


def build_model(config: SystolicConfig):
    """The hardware model a validated config describes."""
    return {"systolic": SystolicArray}[config.model](config)


__all__ = ["SystolicArray", "build_model"]
