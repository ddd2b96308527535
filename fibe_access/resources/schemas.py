"""The schemas of a family's records, built from the model's own fields so that OpenAPI, the
MCP tools and the CLI state every rule the model enforces: a required string is non-blank
(``minLength: 1``), no field is nullable unless the column is, lengths, the pattern of a
validated field (a Job ENV key), a URL's schemes, a status's choices, JSON a column can store
(``fibe_access.jsonvalues``: no NUL in any nested string or key), and no field the body does
not name (``additionalProperties: false``). A PATCH body has every field optional and
none nullable: leaving a field out keeps it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from django.core.validators import RegexValidator
from django.db import models
from ninja import Schema
from ninja.orm import create_schema
from pydantic import Field, StringConstraints, create_model

from fibe_access.api.bodies import NO_NUL, URL, In, Timestamp
from fibe_access.api.pagination import page_of
from fibe_access.jsonvalues import JsonObject

from .registry import Family

BASE_OUT = ("id", "name", "description", "created_at", "updated_at")


@dataclass(frozen=True)
class Schemas:
    out: type[Schema]
    create: type[Schema]
    patch: type[Schema]
    page: type[Schema]


def family_schemas(fam: Family) -> Schemas:
    model = fam.model
    out = _out(fam)
    return Schemas(
        out=out,
        create=_body(f"{model.__name__}In", fam, patch=False),
        patch=_body(f"{model.__name__}Patch", fam, patch=True),
        page=page_of(out, f"{model.__name__}Page"),
    )


def _out(fam: Family) -> type[Schema]:
    model = fam.model
    fields = [
        *BASE_OUT,
        *(f for f in fam.fields if f not in fam.write_only and f not in BASE_OUT),
        *fam.read_only,
    ]
    base = create_schema(model, name=f"_{model.__name__}OutBase", fields=fields)
    # a field with choices answers one of them
    choices = {
        name: Literal[tuple(value for value, _ in model._meta.get_field(name).choices)]
        for name in fields
        if getattr(model._meta.get_field(name), "choices", None)
    }
    return type(f"{model.__name__}Out", (base,), {"__annotations__": choices})


def _body(name: str, fam: Family, *, patch: bool) -> type[Schema]:
    model, fields = fam.model, {}
    for field_name in fam.fields:
        field = model._meta.get_field(field_name)
        annotation, constraints = _type(field)
        if field_name in fam.write_only:
            # never answered; the CLI reads such a field from stdin with `-`, never echoing it
            constraints["json_schema_extra"] = _write_only_patch if patch else _write_only
        if patch:
            constraints.setdefault("json_schema_extra", _no_default)
            default = Field(None, **constraints)
        elif field.blank or field.has_default():
            value = field.get_default() if field.has_default() else ""
            default = Field(default_factory=lambda v=value: v, **constraints)
        else:
            default = Field(..., **constraints)
        fields[field_name] = (annotation, default)
    return create_model(name, __base__=In, **fields)


def _no_default(schema: dict[str, Any]) -> None:
    """A PATCH field is optional, not nullable: its schema shows no ``default: null``."""
    schema.pop("default", None)


def _write_only(schema: dict[str, Any]) -> None:
    schema["writeOnly"] = True


def _write_only_patch(schema: dict[str, Any]) -> None:
    _no_default(schema)
    _write_only(schema)


def _type(field: models.Field) -> tuple[Any, dict[str, Any]]:
    if isinstance(field, models.JSONField):  # an object the column can store
        return JsonObject, {}
    if isinstance(field, models.DateTimeField):
        return Timestamp, {}
    if not isinstance(field, models.CharField | models.TextField):
        raise TypeError(f"{field}: no API schema for {type(field).__name__} yet")
    pattern = NO_NUL
    if isinstance(field, models.URLField):  # its URLValidator, said as URL
        pattern = f"{URL}|^$" if field.blank else URL
    else:
        for validator in field.validators:
            if isinstance(validator, RegexValidator) and not validator.inverse_match:
                pattern = _ecma(validator.regex.pattern)
    text = Annotated[
        str,
        StringConstraints(
            min_length=None if field.blank else 1,
            max_length=field.max_length,
            pattern=pattern,
        ),
    ]
    return text, {}


def _ecma(pattern: str) -> str:
    """A Python pattern as JSON Schema (ECMA) and pydantic read it: ``\\Z`` is ``$``."""
    return re.sub(r"\\Z$", "$", pattern)
