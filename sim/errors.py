"""User-facing errors: the CLI prints these as one line and exits non-zero, without a traceback."""

import difflib
import sys


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


MAX_VALUE_CHARS = 80  # a longer offending value is shown cut, with its length


def field_message(field: str, value, allowed: str) -> str:
    """The one-line form of every validation failure: field, offending value, what is allowed."""
    return f"{field}: got {cut(repr(value))}; allowed: {allowed}"


def cut(text: str) -> str:
    """``text``, or its start and its length when longer than ``MAX_VALUE_CHARS``."""
    return text if len(text) <= MAX_VALUE_CHARS else f"{text[:MAX_VALUE_CHARS]}... ({len(text)} characters)"


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


def user_message(exc: BaseException) -> str | None:
    """The one line the CLI prints for an error the user's input caused, or None for a bug.

    Readers translate their failures into ``DSEError``s naming the file; this is the final net for
    a library's OS, decode or parse error that reached the CLI untranslated. Library error classes
    are looked up only in modules already imported (an error cannot come from a module never loaded).
    """
    if isinstance(exc, DSEError):
        text = str(exc)
    elif isinstance(exc, OSError):
        name = cut(str(exc.filename)) + ("" if exc.filename2 is None else f" -> {cut(str(exc.filename2))}")
        text = f"{name}: {exc.strerror}" if exc.filename is not None and exc.strerror else str(exc)
    elif isinstance(exc, UnicodeDecodeError):
        text = f"input is not {exc.encoding} text (byte {exc.start}: {exc.reason})"
    elif isinstance(exc, _parse_errors()):
        text = f"cannot parse input: {type(exc).__name__}: {exc}"
    else:
        return None
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__


def _parse_errors() -> tuple[type[BaseException], ...]:
    """The parse-error classes of the file-format libraries loaded so far."""
    found = [("configparser", "Error"), ("csv", "Error"), ("json", "JSONDecodeError"), ("zipfile", "BadZipFile"),
             ("yaml", "YAMLError"), ("pyarrow", "ArrowException")]
    return tuple(getattr(sys.modules[m], name) for m, name in found if m in sys.modules)
