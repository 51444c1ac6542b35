"""User-facing errors: the CLI prints these as one line and exits non-zero, without a traceback."""


class DSEError(Exception):
    """Base class of every error caused by the user's input rather than by a bug."""


class ConfigError(DSEError):
    """A hardware config, sweep spec or tech override names a field or value that is not allowed."""


class TraceFormatError(DSEError):
    """A trace file is missing, truncated, foreign, or does not follow the op schema."""


class UnsupportedOpError(DSEError):
    """A hardware model was asked to run an op kind it does not implement."""


class WorkloadError(DSEError):
    """A workload name or parameter is unknown or out of range."""


def field_error(field: str, value, allowed: str, cls=ConfigError) -> DSEError:
    """Build the one-line message every validation uses: field, offending value, what is allowed."""
    return cls(f"{field}: got {value!r}; allowed: {allowed}")


class NumericsError(DSEError):
    """A number format, block size, bit width or rounding option is unknown or out of range."""


class ModelError(DSEError):
    """A hardware model broke the protocol of ``sim.models`` (a missing or invalid cost column)."""
