"""Free-form JSON that a JSON column can store (a Playspec's ``config``): an object whose
values are any JSON, nested as deep as the body's bounds allow (``api/bodies.py``), except
that no string and no key anywhere holds a NUL character (PostgreSQL's jsonb cannot store
``\\u0000``) and every number is finite.

``JsonObject`` is the API's type for such a field. Its schema says the rule exactly, as one
recursive definition (``$defs/JsonValue``, ``$ref`` to itself): an object's keys and every
string match ``^[^\\x00]*$``; an agent reading the MCP tool's input schema, a generated client
and a fuzzer all see it. It validates with ``problem`` (one iterative walk, one clear message
with where the value breaks the rule), as the model's validator does, so the web pages and
the API refuse the same values."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field, PlainValidator
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

NO_NUL = r"^[^\x00]*$"
_Text = Annotated[str, Field(pattern=NO_NUL)]
# additionalProperties: false makes the key pattern exact (a key that fails it is not allowed)
_EXACT_KEYS = Field(json_schema_extra={"additionalProperties": False})
JsonValue = TypeAliasType(
    "JsonValue",
    Annotated[dict[_Text, "JsonValue"], _EXACT_KEYS]
    | list["JsonValue"]
    | _Text
    | int
    | float
    | bool
    | None,
)
_Object = Annotated[dict[_Text, JsonValue], _EXACT_KEYS]


def problem(value: Any) -> str | None:
    """What keeps ``value`` (a decoded JSON object) from being stored, or None."""
    if not isinstance(value, dict):
        return "Give a JSON object."
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if "\x00" in key:
                    return f"A key holds a NUL character (in {_shown(where)})."
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(node, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str) and "\x00" in node:
            return f"A string holds a NUL character (at {_shown(where)})."
        elif isinstance(node, float) and not math.isfinite(node):
            return f"A number is not finite (at {_shown(where)})."
    return None


def _shown(where: str) -> str:
    return where[:80] or "the top level"


def _validate(value: Any) -> dict[str, Any]:
    found = problem(value)
    if found:
        raise PydanticCustomError("json_value", found)
    return value


JsonObject = Annotated[dict[str, Any], PlainValidator(_validate, json_schema_input_type=_Object)]
