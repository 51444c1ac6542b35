"""The SPADE / SPADE+ family (``model: spade``): config schema, cost model and report section."""

from sim.models import Family, register_family
from sim.models.spade.config import SpadeConfig
from sim.models.spade.model import SpadeAccelerator


def _section(points, out, table):
    """The sparse-vs-ideal-dense section (``sim.models.spade.section``)."""
    from sim.models.spade.section import spade_section

    return spade_section(points, out, table)


FAMILY = register_family(Family(
    name="spade", config=SpadeConfig, model=SpadeAccelerator,
    description="SPADE / SPADE+ vector-sparse systolic array for pillar 3D detection (RGU, GSU, DVP, SD-Conv)",
    sections=(_section,)))

__all__ = ["FAMILY", "SpadeAccelerator", "SpadeConfig"]
