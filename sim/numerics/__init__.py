"""Number formats: golden quantize-dequantize models, code tables, and storage cost per element.

``from sim.numerics import fake_quantize; y = fake_quantize(x, "mxfp4")`` is the one public call;
see ``sim.numerics.quantize`` for the formats, their options and their rounding and scale rules.
"""

from sim.numerics.minifloat import FLOAT_FORMATS, FloatFormat
from sim.numerics.quantize import FAKE_QUANTIZE_FORMATS, fake_quantize
from sim.numerics.storage import FORMATS, bits_per_element, check_format

__all__ = ["FAKE_QUANTIZE_FORMATS", "FLOAT_FORMATS", "FORMATS", "FloatFormat", "bits_per_element", "check_format",
           "fake_quantize"]
