# amaranth: UnusedElaboratable=no
"""The named RTL generators (``dse rtl``, tests, synthesis): every PE of the PE registry
(``sim.models.pes``: its Amaranth class and default parameters), and ``pe_array``, a systolic
``PEArray`` (default 4 x 4) of any of them (``pe``, default int8xint8). Every default can be
overridden by keyword; the parameters of a PE are those of its registry entry, documented in
:data:`PARAMETERS`, and a parameter's type is the type of its default.

Names. A unit built with non-default parameters is exported under a name that lists them in
registry order (:func:`unit_name`: ``int8xint8_acc20_saturate``, ``pe_array_int4xint4_rows2_cols2``).
Parameters that set the number formats a generator's name stands for (``FIXED``: operand widths,
weight codes, scale format, asymmetric scales) are refused there with the generator that has them:
``mxfp4`` with E5M2 scales is not MXFP4. :func:`build` itself takes them (the tests explore the
whole parameter space of a class).

Reset. Every unit has Amaranth's implicit ``sync`` domain: ``clk`` (rising edge) and ``rst``,
a synchronous, active-high reset: at a rising ``clk`` edge with ``rst`` = 1 every register of the
unit (accumulators, output, pipeline and skew registers) loads its initial value, 0, whatever the
other inputs are; outputs are registered, so they read 0 after that edge. ``RESET`` says so in the
summary ``dse rtl`` writes.

Amaranth is imported only by :func:`build`, so the help (``dse rtl --help``) stays light. The
first line silences Amaranth's UnusedElaboratable warning for units built here: one rejected by
its own parameter checks is dropped on purpose, and would be warned about when garbage-collected.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import ConfigError, field_message, suggest
from sim.models.pes import PES

if TYPE_CHECKING:
    from amaranth.lib import wiring

ARRAY = "pe_array"
ARRAY_DEFAULTS = {"pe": "int8xint8", "rows": 4, "cols": 4}
TYPE_WORDS = {bool: "True or False", int: "an integer", str: "a string"}  # a parameter's type, in words
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}  # -p text of a boolean (any case)
RESET = ("rst: synchronous, active-high reset of the sync domain; at a rising clk edge with rst = 1 every "
         "register (accumulators, output, pipeline and skew registers) loads 0 and the outputs read 0")


@dataclass(frozen=True)
class Parameter:
    """One generator parameter: what it means (one line), the strings it takes (a string
    parameter), and how a non-default value shows in the unit name (``tag`` + value; a string
    parameter shows its value)."""

    doc: str
    choices: tuple[str, ...] = ()
    tag: str = ""


PARAMETERS = {
    "w_bits": Parameter("weight width in bits (two's complement)"),
    "a_bits": Parameter("activation width in bits (two's complement)"),
    "acc_bits": Parameter("accumulator width in bits, from the product width to 64", tag="acc"),
    "overflow": Parameter("accumulator overflow: wrap (two's complement) or saturate (clamp)", ("wrap", "saturate")),
    "weight_format": Parameter("weight codes: int (two's complement) or dint4 (special codes +-a/2^k)", ("int", "dint4")),
    "special_shift": Parameter("dINT4 k: the special codes are +-a/2^k, the accumulator has k fraction bits",
                               tag="shift"),
    "block": Parameter("elements per block, 1 to 256 (one block per cycle)", tag="block"),
    "scale_format": Parameter("block scale: e8m0 (power of two, OCP MX) or e5m2 / e4m3 (FP8)", ("e8m0", "e5m2", "e4m3")),
    "a_asymmetric": Parameter("activations have two scales per block, one per sign (AMXFP4)"),
    "w_asymmetric": Parameter("weights have two scales per block, one per sign (AMXFP4)"),
    "pipeline": Parameter("register stages added to the datapath; output latency 1 + pipeline cycles", tag="pipe"),
    "datapath": Parameter("partial sums of signed products (signed) or of magnitudes per sign, signed after "
                          "(magnitude)", ("signed", "magnitude")),
    "pe": Parameter("the PE at every array position (any PE above)", tuple(PES)),
    "rows": Parameter("PE rows, 1 to 64", tag="rows"),
    "cols": Parameter("PE columns, 1 to 64", tag="cols"),
}
# parameters that set the number formats a generator's name stands for: not renamed but refused
FIXED = ("w_bits", "a_bits", "weight_format", "scale_format", "a_asymmetric", "w_asymmetric")


def names() -> tuple[str, ...]:
    """Every generator name: the registered PEs, then ``pe_array``."""
    return (*PES, ARRAY)


def defaults(name: str, pe: str | None = None) -> dict:
    """The default parameters of a generator; ``pe_array``'s include those of its PE ``pe`` (by default
    int8xint8, the default of its key ``pe``)."""
    if name == ARRAY:
        pe = ARRAY_DEFAULTS["pe"] if pe is None else pe
        _check("pe_array.pe", pe, PES)
        return {**ARRAY_DEFAULTS, **PES[pe].rtl_params}
    _check("generator", name, names())
    return dict(PES[name].rtl_params)


def _check(field: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(field_message(field, value, ", ".join(allowed)) + suggest(value, allowed))


def _known(name: str, params: dict) -> dict:
    """The defaults of ``name`` (with ``params``' PE), after refusing an unknown key of ``params``."""
    table = defaults(name, params.get("pe"))
    unknown = [key for key in params if key not in table]
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown parameter; allowed: {', '.join(table)}"
                          + suggest(unknown[0], table))
    return table


def parse(name: str, texts: dict[str, str]) -> dict:
    """Typed parameters from ``-p KEY=TEXT`` texts, each read as its default's type: a boolean
    from true, false, 1 or 0 (any case), an integer in decimal (at most 18 digits), a string from its choices."""
    table = _known(name, texts)
    values = {}
    for key, text in texts.items():
        field, kind = f"{name}.{key}", type(table[key])
        if kind is bool:
            if text.lower() not in BOOLEANS:
                raise ConfigError(field_message(field, text, "true, false, 1 or 0") + suggest(text.lower(), BOOLEANS))
            values[key] = BOOLEANS[text.lower()]
        elif kind is int:
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip()):  # wider than any width or count here
                raise ConfigError(field_message(field, text, "an integer (decimal, at most 18 digits)"))
            values[key] = int(text)
        else:
            if PARAMETERS[key].choices:
                _check(field, text, PARAMETERS[key].choices)
            values[key] = text
    return values


def unit_name(name: str, params: dict) -> str:
    """The Verilog module (and file) name of ``name`` with ``params`` (checked by :func:`build`): the
    generator's name, then every non-default parameter in registry order (``int8xint8_acc20_saturate``).
    A ``FIXED`` parameter off its default is refused with the generator that has it."""
    table = _known(name, params)
    registered = PES[params.get("pe", table["pe"]) if name == ARRAY else name]
    for key in FIXED:
        if key in params and params[key] != table[key]:
            raise ConfigError(_fixed_message(name, key, params[key], table, params, registered.rtl))
    parts = [name]
    for key, default in table.items():
        value = params.get(key, default)
        if value != default:
            parts.append(value if isinstance(value, str) else f"{PARAMETERS[key].tag}{int(value)}")
    return "_".join(parts)


def _fixed_message(name: str, key: str, value, table: dict, params: dict, rtl: str) -> str:
    """One line refusing a ``FIXED`` parameter, naming the generator whose formats these are."""
    wanted = {k: params.get(k, table[k]) for k in FIXED if k in table}
    match = [p.name for p in PES.values() if p.rtl == rtl and all(p.rtl_params.get(k) == v for k, v in wanted.items())]
    field = "pe" if name == ARRAY else "generator"
    where = (f"that unit is {field} {match[0]}" if match else
             "no generator has " + ", ".join(f"{k}={_shown(v)}" for k, v in wanted.items()))
    return field_message(f"{name}.{key}", value, f"{_shown(table[key])} (it sets the number formats the name "
                                                 f"stands for; {where})")


def _shown(value) -> str:
    """A default as ``-p`` takes it: booleans as true/false."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def build(name: str, **params) -> wiring.Component:
    """A generator's component with its defaults overridden by ``params`` (one clear error per bad key)."""
    from hw.pe_array import PEArray

    table = _known(name, params)
    for key, value in params.items():
        kind = type(table[key])
        if type(value) is not kind:
            raise ConfigError(field_message(f"{name}.{key}", value, TYPE_WORDS[kind]))
    if name == ARRAY:
        pe = params.pop("pe", ARRAY_DEFAULTS["pe"])
        rows, cols = params.pop("rows", ARRAY_DEFAULTS["rows"]), params.pop("cols", ARRAY_DEFAULTS["cols"])
        return _named(name, lambda: PEArray(lambda: build(pe, **params), rows, cols))
    return _named(name, lambda: PES[name].rtl_class()(**{**table, **params}))


def _named(name: str, make):
    """``make()``, with a parameter its constructor refuses named as ``name.parameter``."""
    try:
        return make()
    except ConfigError as exc:
        text = str(exc)
        key = text.split(":", 1)[0]
        raise ConfigError(f"{name}.{text}" if key in PARAMETERS else text) from None


def help_text() -> str:
    """Every generator with its parameters: name = default, type and meaning (``dse rtl --help``)."""
    lines = ["\ngenerators and their parameters (-p KEY=VALUE; VALUE: an integer, true/false/1/0, or a string as",
             "listed; fixed: set by the generator's name, so only its default is taken):"]
    for name, pe in PES.items():
        lines.append(f"  {name}: {pe.weight_format} x {pe.act_format} ({pe.rtl.split(':')[1]})")
        lines += _parameter_lines(pe.rtl_params)
    lines.append(f"  {ARRAY}: a rows x cols systolic array of one PE (PEArray); also takes that PE's parameters")
    lines += _parameter_lines(ARRAY_DEFAULTS)
    lines += [textwrap.fill("ports: clk (rising edge) and " + RESET, 100, subsequent_indent="  "),
              "files: UNIT.v, UNIT.vcd, UNIT.json; UNIT is the generator, then each non-default parameter",
              "  (int8xint8 -p acc_bits=20 -p overflow=saturate: int8xint8_acc20_saturate)"]
    return "\n".join(lines) + "\n"


def _parameter_lines(table) -> list[str]:
    return [f"    {f'{key} = {_shown(default)}':<22} {type(default).__name__:<4} {'fixed; ' if key in FIXED else ''}"
            f"{PARAMETERS[key].doc}" for key, default in table.items()]
