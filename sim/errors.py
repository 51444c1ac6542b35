"""User-facing errors: the CLI prints these as one line and exits non-zero, without a traceback."""

import difflib


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


def field_message(field: str, value, allowed: str) -> str:
    """The one-line form of every validation failure: field, offending value, what is allowed."""
    return f"{field}: got {value!r}; allowed: {allowed}"


def suggest(value, choices) -> str:
    """``"; did you mean 'x'?"`` when ``value`` is a near miss (difflib) of one of ``choices``, else ``""``;
    appended to an error that rejects a misspelled name."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def field_error(field: str, value, allowed: str, cls=ConfigError) -> DSEError:
    """A ``cls`` error with the one-line ``field_message`` (configs, sweep specs, workloads, traces)."""
    return cls(field_message(field, value, allowed))


class NumericsError(DSEError):
    """A number format, block size, bit width or rounding option is unknown or out of range."""


class ModelError(DSEError):
    """A hardware model broke the protocol of ``sim.models`` (a missing or invalid cost column)."""
