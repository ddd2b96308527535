"""The command spec of the `fibe` CLI, generated from the operation registry.

The CLI imports no Django, so it cannot read ``REGISTRY``; it reads ``fibe_cli/spec.json``,
which this module writes from it: per operation its group and action, method and path, the
scope it needs, its path parameters, its query and body fields (type, required, default,
choices, help) and the fields it answers with. ``tests/cli`` checks that the committed file
equals a fresh generation, so the CLI cannot drift from the API.

    make clispec                                  # rewrite fibe_cli/spec.json
    .venv/bin/python scripts/clispec.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from keys import scopes

from .bodies import NO_NUL
from .operations import REGISTRY, Operation

SPEC_PATH = Path(__file__).resolve().parents[2] / "fibe_cli" / "spec.json"
VERSION = 1


def build() -> dict:
    """The spec of every registered operation, in a stable order."""
    ops = sorted(REGISTRY.values(), key=lambda op: op.name)
    groups = sorted({op.group for op in ops})
    return {
        "version": VERSION,
        "base_path": "/api/v1",
        "groups": {g: scopes.FAMILIES.get(scopes.canonical_family(g), g.title()) for g in groups},
        "operations": [_operation(op) for op in ops],
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def _operation(op: Operation) -> dict:
    response = _response(op.response)
    return {
        "name": op.name,
        "group": op.group,
        "action": op.action,
        "method": op.method,
        "path": op.path,
        "path_params": list(op.path_params),
        "scope": op.scope,
        "kind": op.kind,
        "destructive": op.destructive,
        "approval": op.approval,
        "status": op.status,
        "summary": op.summary,
        "description": op.description,
        "query": _fields(op.query.model_json_schema()) if op.query else [],
        "body": _fields(op.body.model_json_schema()) if op.body else None,
        "paged": response["paged"],
        "response": response["fields"],
    }


def _fields(schema: dict) -> list[dict]:
    """The top-level fields of an object schema, each reduced to what a command line needs."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        field = {"name": name, **_type(prop, defs), "required": name in required}
        if "default" in prop and prop["default"] is not None:
            field["default"] = prop["default"]
        field["help"] = prop.get("description") or prop.get("title") or name
        if prop.get("writeOnly"):  # a secret: the CLI can read it from stdin
            field["secret"] = True
        rules = _rules(_resolve(prop, defs))
        if rules:
            field["rules"] = rules
        out.append(field)
    return out


RULES = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
}


def _rules(prop: dict) -> dict:
    """The constraints the schema states on a field (the server enforces the same), so the
    CLI can show them in its help. A pattern that only refuses NUL is left out: it says
    nothing a person types."""
    rules = {name: prop[key] for key, name in RULES.items() if key in prop}
    if rules.get("pattern") == NO_NUL:
        del rules["pattern"]
    return rules


def _type(prop: dict, defs: dict) -> dict:
    """``{"type": …}`` among string, integer, number, boolean, datetime, json and array (with
    ``items``), plus ``choices`` when the values are an enumeration."""
    prop = _resolve(prop, defs)
    options = [_resolve(p, defs) for p in prop.get("anyOf", ())]
    options = [p for p in options if p.get("type") != "null"]
    if len(options) == 1:
        prop = {**prop, **options[0]}
    elif options:
        return {"type": "json"}
    kind = prop.get("type")
    if kind == "array":
        item = _type(prop.get("items", {}), defs)
        choices = {"choices": item["choices"]} if "choices" in item else {}
        return {"type": "array", "items": item["type"], **choices}
    if kind == "string" and prop.get("format") == "date-time":
        return {"type": "datetime"}
    if kind in ("string", "integer", "number", "boolean"):
        return {"type": kind, **_choices(prop)}
    return {"type": "json"}


def _choices(prop: dict) -> dict:
    return {"choices": list(prop["enum"])} if "enum" in prop else {}


def _resolve(prop: dict, defs: dict) -> dict:
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return {**defs[ref.rsplit("/", 1)[1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop


def _response(response: Any) -> dict:
    """The fields of an answer (of its items, for a page) and whether it is a page."""
    if response is None:
        return {"paged": False, "fields": []}
    # as django-ninja answers: field names, not aliases
    schema = TypeAdapter(response).json_schema(mode="serialization", by_alias=False)
    defs = schema.get("$defs", {})
    props = schema.get("properties", {})
    paged = {"items", "count", "limit", "offset"} <= set(props)
    if paged:
        schema = _resolve(props["items"].get("items", {}), defs)
    fields = []
    for name, prop in schema.get("properties", {}).items():
        kind = _type(prop, defs)
        kind.pop("choices", None)
        fields.append({"name": name, **kind})
    return {"paged": paged, "fields": fields}


def main(argv: list[str]) -> int:
    """Write the spec (or, with --check, say whether the committed one is stale). Django must
    be set up: scripts/clispec.py does it."""
    fresh = render()
    if "--check" in argv:
        if not SPEC_PATH.exists() or SPEC_PATH.read_text() != fresh:
            print(f"{SPEC_PATH} is stale: run `make clispec`", file=sys.stderr)
            return 1
        return 0
    SPEC_PATH.write_text(fresh)
    print(f"wrote {SPEC_PATH} ({len(REGISTRY)} operations)")
    return 0
