"""Strict schemas and the one-line error form shared by configs, sweep specs and workloads.

Every validation failure the user sees reads ``FIELD: got VALUE; allowed: WHAT``
(``sim.errors.field_message``; workload checks raise it through ``field_error``). ``one_line``
rewrites pydantic's report into that form: the first
error, the number of further ones, and pydantic's wording ("Input should be a valid integer")
replaced by what is allowed ("an integer"). ``Strict`` is the base of every schema: unknown keys
are errors, instances are frozen, and values are not coerced (``true`` is not 1, ``"8"`` is not 8).
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import field_message, suggest

# pydantic error type -> what is allowed, in the project's words
ALLOWED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list",
    "tuple_type": "a list",
    "none_required": "null",
}
BOUNDS = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}",
          "less_than_equal": "<= {le}", "too_short": "at least {min_length} item(s)",
          "too_long": "at most {max_length} item(s)"}


class Strict(BaseModel):
    """Base of every schema: no unknown keys, no coercion, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def allowed(error: dict) -> str:
    """What a pydantic error says is allowed, in the project's words."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in BOUNDS:
        return BOUNDS[kind].format(**ctx)
    if kind == "literal_error":
        return str(ctx.get("expected"))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return str(ctx.get("expected_tags"))
    if kind in ALLOWED:
        return ALLOWED[kind]
    return error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")


def one_line(exc: ValidationError, prefix: str, schema: type[BaseModel], skip: int = 0) -> str:
    """``prefix: FIELD: got VALUE; allowed: WHAT`` for the first error (plus a count of the rest).

    ``schema`` is the validated schema: it names the keys allowed where an unknown key sits, and
    location parts that are not fields (the member tags of a union) are left out of FIELD.
    ``skip`` drops leading location parts (a discriminated union's tag). The errors of a union's
    members at one field join as one: "a string or a mapping".
    """
    errors = [(field_loc(schema, tuple(e["loc"][skip:])), e) for e in exc.errors(include_url=False)]
    loc, first = errors[0]
    field = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        keys = fields_at(schema, loc[:-1])
        msg = f"{field}: unknown key; allowed: {', '.join(keys)}{suggest(loc[-1], keys)}"
    elif first["type"] == "missing":
        msg = f"{field}: missing (required)"
    else:
        options = dict.fromkeys(allowed(e) for where, e in errors if where == loc)
        msg = field_message(field, first.get("input"), " or ".join(options))
    others = len({where for where, _ in errors} - {loc})
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return f"{prefix}: {msg}{more}"


def field_loc(model: type[BaseModel] | None, loc: tuple) -> tuple:
    """``loc`` without the member tags pydantic inserts after a union-typed field."""
    kept, i = [], 0
    while i < len(loc):
        part = loc[i]
        kept.append(part)
        i += 1
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            model = None
            continue
        if _union_width(field.annotation) > 1 and i < len(loc):
            i += 1  # the union member pydantic tried: not a field
            model = None
            continue
        inner, keyed = _schema_in(field.annotation)
        if keyed and i < len(loc):
            kept.append(loc[i])
            i += 1
        model = inner
    return tuple(kept)


def _union_width(annotation) -> int:
    """Members of a union other than None (0 for a type that is not a union)."""
    if get_origin(annotation) is Annotated:
        return _union_width(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return sum(arg is not type(None) for arg in get_args(annotation))
    return 0


def fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) schema reached by following ``loc`` from ``model``; a
    mapping of schemas (``dict[str, Schema]``) consumes one location part for its key."""
    i = 0
    while i < len(loc):
        field = model.model_fields.get(loc[i])
        inner, keyed = _schema_in(field.annotation) if field else (None, False)
        if inner is None:
            break
        model, i = inner, i + 1 + keyed
    return list(model.model_fields)


def _schema_in(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The schema an annotation holds (itself, in an Optional/Annotated, or as mapping values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = get_args(annotation)
    if get_origin(annotation) is dict and len(args) == 2:
        return _schema_in(args[1])[0], True
    for arg in args:
        inner, keyed = _schema_in(arg)
        if inner is not None:
            return inner, keyed
    return None, False
