"""Storage cost of each number format in bits per element, shared scales included.

Block formats store one shared scale per block: bits = element bits + scale bits / block size.
OCP MX (v1.0): 8-bit E8M0 scale per 32 elements. NVFP4: 8-bit E4M3 scale per 16 elements.
AMXFP4 (asymmetric microscaling): two 8-bit scales per 32-element block (one per sign side).
INT and dINT4 are counted with per-tensor or per-output-channel scales, as the integer PEs assume
(the accumulator is scaled once after the dot product): a negligible share, not counted. Per-group
scales (e.g. dINT4 in groups of 128 with FP16 scales) would add 16/128 bits and a per-group
rescale of the partial sums that the integer PEs do not model.
The trace uses these names for operand formats; memory traffic is counted with these bits.
"""

from sim.errors import TraceFormatError, suggest

# name -> (element bits, scale bits per block, block size)
FORMATS: dict[str, tuple[int, int, int]] = {
    "fp32": (32, 0, 1),
    "bf16": (16, 0, 1),
    "fp16": (16, 0, 1),
    "int32": (32, 0, 1),
    "int16": (16, 0, 1),
    "int8": (8, 0, 1),
    "int4": (4, 0, 1),
    "dint4": (4, 0, 1),
    "fp8_e4m3": (8, 0, 1),
    "fp8_e5m2": (8, 0, 1),
    "mxfp8_e4m3": (8, 8, 32),
    "mxfp8_e5m2": (8, 8, 32),
    "mxfp6_e3m2": (6, 8, 32),
    "mxfp6_e2m3": (6, 8, 32),
    "mxfp4": (4, 8, 32),
    "mxint8": (8, 8, 32),
    "nvfp4": (4, 8, 16),
    "amxfp4": (4, 16, 32),
}


def check_format(name: str, field: str = "format") -> str:
    """Return ``name`` if it is a known format, else raise one clear error listing the known ones."""
    if name not in FORMATS:
        raise TraceFormatError(f"{field}: unknown format {name!r}; allowed: {', '.join(sorted(FORMATS))}"
                               + suggest(name, FORMATS))
    return name


def bits_per_element(name: str) -> float:
    """Average storage bits per element of ``name``, including its share of block scales."""
    elem, scale, block = FORMATS[check_format(name)]
    return elem + scale / block
