"""The SPADE / SPADE+ family (``model: spade``): config schema, cost model and report section."""

from sim.models import Family, register_family
from sim.pareto import Metric
from sim.models.spade.config import SpadeConfig
from sim.models.spade.model import SpadeAccelerator


def _section(points, out, table):
    """The sparse-vs-ideal-dense section (``sim.models.spade.section``)."""
    from sim.models.spade.section import spade_section

    return spade_section(points, out, table)


FAMILY = register_family(Family(
    name="spade", config=SpadeConfig, model=SpadeAccelerator,
    description="SPADE / SPADE+ vector-sparse systolic array for pillar 3D detection (RGU, GSU, DVP, SD-Conv)",
    sections=(_section,),
    metrics={"speedup_vs_ideal_dense": Metric("speedup_vs_ideal_dense", "max", "speed-up vs the ideal dense array"),
             "energy_saving_vs_ideal_dense": Metric("energy_saving_vs_ideal_dense", "max",
                                                    "energy saving vs the ideal dense array"),
             "mac_cut_vs_dense": Metric("mac_cut_vs_dense", "max", "dense MACs / sparse MACs")}))

__all__ = ["FAMILY", "SpadeAccelerator", "SpadeConfig"]
