"""The dense systolic-array family (``model: systolic``): config schema, cost model, and the
number-format report section for sweeps of format-aware PEs."""

from sim.models import Family, register_family
from sim.models.systolic.config import SystolicConfig
from sim.models.systolic.model import SystolicArray


def _formats_section(points, out, table):
    """The number-format section, for sweeps whose points name PE formats."""
    from sim.models.systolic.formats_section import formats_section, has_formats

    return formats_section(points, out, table) if has_formats(points) else None


FAMILY = register_family(Family(
    name="systolic", config=SystolicConfig, model=SystolicArray,
    description="dense systolic array (OS/WS/IS, generic or format-aware PEs, SCALE-Sim parity mode)",
    sections=(_formats_section,)))

__all__ = ["FAMILY", "SystolicArray", "SystolicConfig"]
