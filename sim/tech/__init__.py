"""Technology library: cited energy and area per operation, node scaling, SRAM and DRAM costs."""

from sim.tech.library import TechLibrary, TechValue, area_factor, energy_factor

__all__ = ["TechLibrary", "TechValue", "area_factor", "energy_factor"]
