"""The user's files: reading text and YAML, and checking output paths, with one-line errors.

Every reader of a user-supplied text file (configs, sweep specs, tech overrides, SCALE-Sim
``.cfg`` and topology files) goes through ``read_text``, so a missing, unreadable or non-UTF-8
file (random bytes, UTF-16, latin-1) is one ``DSEError`` naming the file, never a traceback.
``check_output`` refuses an output path before any work is done, so a run's result is never
computed or printed in vain: the nearest existing folder on the path must be a writable folder,
a file output must have one of the suffixes of what is written, a folder output must not be a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from sim.errors import ConfigError, DSEError, field_message


def read_text(path: str | Path, what: str, cls: type[DSEError] = ConfigError) -> str:
    """The UTF-8 text of ``path``; ``cls("WHAT PATH: ...")`` when it cannot be read or decoded."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise cls(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise cls(f"{what} {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                  "allowed: a UTF-8 text file (convert UTF-16 or latin-1 files first)") from None


def read_yaml(path: str | Path, what: str, cls: type[DSEError] = ConfigError):
    """The YAML document of ``path`` (any type; callers check its shape), or a one-line ``cls``.

    PyYAML raises ``ValueError`` (not ``YAMLError``) for scalars that look like impossible dates
    (``2024-13-45``) and ``RecursionError`` for absurdly deep nesting; both are the file's fault.
    """
    text = read_text(path, what, cls)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise cls(f"{what} {path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise cls(f"{what} {path}: not valid YAML: {exc}") from None


def check_output(path: str | Path, suffixes: tuple[str, ...] | None, what: str = "-o/--output") -> Path:
    """``path`` if it can be written: a file ending in one of ``suffixes``, or a folder (``None``)."""
    path = Path(path)
    if suffixes is not None:
        if path.suffix not in suffixes:
            raise ConfigError(field_message(what, str(path), f"a file name ending in {', '.join(suffixes)}"))
        if path.is_dir():
            raise ConfigError(field_message(what, str(path), f"a file, not an existing folder ({', '.join(suffixes)})"))
    elif path.exists() and not path.is_dir():
        raise ConfigError(field_message(what, str(path), "a folder, not an existing file"))
    where = path.absolute()
    existing = next(p for p in (where.parents if suffixes else (where, *where.parents)) if p.exists())
    if not existing.is_dir():
        raise ConfigError(field_message(what, str(path), f"a path inside a folder ({existing} is a file)"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(field_message(what, str(path), f"a path inside a writable folder ({existing} is not writable)"))
    return path
