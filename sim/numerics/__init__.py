"""Number formats: storage cost per element (golden models of each format live beside this)."""

from sim.numerics.storage import FORMATS, bits_per_element, check_format

__all__ = ["FORMATS", "bits_per_element", "check_format"]
