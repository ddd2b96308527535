"""MCP tools generated from the operation registry: one tool per operation, named
``<group>_<action>`` (``playspecs_launch``; ``me`` is ``whoami``), with the operation's own
schemas as its input schema and its hints as annotations. ``call`` runs a tool through
``invoke``: the same scope and restriction checks, services and audit as REST; ``visible``
lists a tool exactly when ``run.refusal`` would not refuse the call outright.

Pure of any transport: ``fibe_access.mcp.server`` wraps these in the SDK's low-level Server."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any

from fibe_access.api import bodies, recording, run
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.api.operations import REGISTRY, Operation

RENAMED = {"me": "whoami"}
ALWAYS = frozenset({"me"})  # shown whatever the toolset filter: it only describes the key


def tool_name(op: Operation) -> str:
    return RENAMED.get(op.name, op.name.replace(".", "_"))


@functools.cache
def by_name() -> dict[str, Operation]:
    return {tool_name(op): op for op in REGISTRY.values()}


def toolsets() -> set[str]:
    """The toolset names a filter may use: the operation groups (families, webhooks)."""
    return {op.group for op in REGISTRY.values() if op.name not in ALWAYS}


@dataclass(frozen=True)
class Narrowing:
    """What a connection asked to see: only reads, only some toolsets. It can only remove
    tools from what the key allows, never add one."""

    read_only: bool = False
    toolsets: frozenset[str] | None = None  # None: every toolset

    def admits(self, op: Operation) -> bool:
        if self.read_only and not op.read_only:
            return False
        return self.toolsets is None or op.name in ALWAYS or op.group in self.toolsets


def visible(op: Operation, caller: Caller, narrowing: Narrowing) -> bool:
    """Is ``op`` in this caller's tools/list: ``run`` would not refuse it outright (a scope
    the key lacks; a family the key is restricted on that it would create in) and the
    narrowing admits it."""
    return run.refusal(op, caller) is None and narrowing.admits(op)


def tools_for(caller: Caller, narrowing: Narrowing) -> list[dict[str, Any]]:
    """The tools/list entries for ``caller`` (plain dicts, the SDK's Tool fields)."""
    return [describe(op) for op in REGISTRY.values() if visible(op, caller, narrowing)]


@functools.cache
def describe(op: Operation) -> dict[str, Any]:
    hints = op.hints()
    return {
        "name": tool_name(op),
        "title": op.summary,
        "description": f"{op.summary}. {op.description}",
        "input_schema": input_schema(op),
        "annotations": {
            "title": op.summary,
            "read_only_hint": hints["readOnlyHint"],
            "destructive_hint": hints["destructiveHint"],
            "idempotent_hint": hints["idempotentHint"],
            "open_world_hint": False,
        },
    }


@functools.cache
def input_schema(op: Operation) -> dict[str, Any]:
    """One flat object: the path parameters, then the query's and the body's fields, from the
    same pydantic schemas the REST operation validates with."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    alternatives: list[dict[str, Any]] = []
    for name in op.path_params:
        properties[name] = {"type": "integer", "description": f"The {name.replace('_', ' ')}."}
        required.append(name)
    for model in (op.query, op.body):
        if model is None:
            continue
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs |= schema.get("$defs", {})
        clash = set(schema.get("properties", {})) & set(properties)
        if clash:
            raise ValueError(f"{op.name}: argument {sorted(clash)} appears twice")
        properties |= schema.get("properties", {})
        required += schema.get("required", [])
        if "anyOf" in schema:  # a rule across fields (trigger: which `set` names an event takes)
            alternatives.append({"anyOf": schema["anyOf"]})
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if alternatives:
        out["allOf"] = alternatives
    if defs:
        out["$defs"] = defs
    return out


def split(op: Operation, arguments: dict[str, Any]) -> tuple[dict, dict, Any]:
    """A tool's flat arguments as (path, query, body) for ``invoke``. An argument
    no input knows is left in the body, so the body's own schema names it as invalid."""
    path = {n: arguments[n] for n in op.path_params if n in arguments}
    query_fields = set(op.query.model_fields) if op.query else set()
    query = {k: v for k, v in arguments.items() if k in query_fields}
    rest = {k: v for k, v in arguments.items() if k not in path and k not in query}
    if op.body is None:
        unknown = sorted(rest)
        if unknown:
            return path, query, _Unknown(unknown)
        return path, query, bodies.NO_BODY
    return path, query, rest


@dataclass(frozen=True)
class _Unknown:
    names: list[str]


@dataclass(frozen=True)
class Outcome:
    """A tool call's result: the REST status and JSON answer, and whether it is an error."""

    status: int
    body: Any

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def text(self) -> str:
        if self.body is None:  # a delete: 204, no body
            return json.dumps({"status": self.status})
        return json.dumps(self.structured() if self.is_error else self.body)

    def structured(self) -> dict | None:
        """Structured content must be an object for the 2025 protocol versions."""
        if self.is_error:
            return {"status": self.status, **self.body}
        return self.body if isinstance(self.body, dict) else None


def call(op: Operation, caller: Caller, arguments: dict[str, Any] | None) -> Outcome:
    """Run the tool of ``op`` for ``caller``: exactly the REST operation's checks and answer."""
    arguments = arguments or {}
    # per-key activity (issue 24): every tool call is recorded with its status
    started, clock, outcome = time.time(), time.perf_counter(), Outcome(500, None)
    try:
        outcome = _call(op, caller, arguments)
        return outcome
    finally:
        recording.tool_called(op, caller, arguments, outcome.status, outcome.body, started, clock)


def _call(op: Operation, caller: Caller, arguments: dict[str, Any]) -> Outcome:
    path, query, body = split(op, arguments)
    if isinstance(body, _Unknown):
        names = ", ".join(body.names)
        return Outcome(
            422,
            {
                "code": "invalid",
                "message": f"{names}: unknown argument for {tool_name(op)}.",
                "errors": [{"field": n, "message": "unknown argument"} for n in body.names],
            },
        )
    missing = [n for n in op.path_params if n not in path]
    if missing:
        # validated as REST validates a path: through the operation's own path model
        path = {**path, **dict.fromkeys(missing)}
    status, answer = invoke(op, caller, path=path, query=query, body=body)
    return Outcome(status, answer)


def unavailable(name: str) -> Outcome:
    """A tool this connection does not offer (unknown, or narrowed out)."""
    return Outcome(
        404,
        {
            "code": "unknown_tool",
            "message": f"No tool named {name[:80]!r} on this connection; see tools/list.",
        },
    )
