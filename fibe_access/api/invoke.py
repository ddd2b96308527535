"""Running an operation without an HttpRequest (the MCP face): the raw inputs validated with
the operation's own schemas (``parse``), ``run.run``, and the answer rendered exactly as REST
renders it (``render``)."""

from __future__ import annotations

import functools
import json
from typing import Any

from ninja import Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import ResponseObject
from ninja.renderers import JSONRenderer
from pydantic import ValidationError as PydanticValidationError
from pydantic import create_model

from . import bodies, errors, run
from .caller import Caller
from .operations import REGISTRY, Operation


def invoke(
    op: Operation | str,
    caller: Caller,
    *,
    path: dict | None = None,
    query: dict | None = None,
    body: Any = bodies.NO_BODY,
) -> tuple[int, Any]:
    """Validate the raw inputs with the operation's own schemas, then ``run`` it. Returns
    (status, JSON-ready body) exactly as REST answers, errors included. ``body`` left out is a
    request without a body; ``body=None`` is the JSON ``null``."""
    op = REGISTRY[op] if isinstance(op, str) else op
    try:
        result = run.run(op, caller, parse(op, path or {}, query or {}, body))
    except Exception as exc:
        found = errors.answer(exc)
        if found is None:
            raise
        return found.status, found.body
    return op.status, render(op, result)


def parse(op: Operation, path: dict, query: dict, body: Any) -> dict[str, Any]:
    for what, value in (("path", path), ("query", query), ("body", body)):
        if value is not bodies.NO_BODY:
            bodies.check(value, what=what)
    params: dict[str, Any] = {}
    problems: list[dict] = []
    inputs = [("path", _path_model(op), path)]
    if op.query is not None:
        inputs.append(("query", op.query, query))
    if op.body is not None:
        inputs.append(("body", op.body, bodies.require_object(body)))
    for source, model, raw in inputs:
        try:
            value = model.model_validate(raw)
        except PydanticValidationError as exc:
            # located as django-ninja locates them: ("body", <argument>, field…), ("query", …)
            where = ("body", "body") if source == "body" else (source,)
            problems += [{**e, "loc": (*where, *e["loc"])} for e in exc.errors()]
            continue
        if source == "path":
            params.update(value.model_dump())
        else:
            params[source] = value
    if problems:
        raise NinjaValidationError(problems)
    return params


@functools.cache
def _path_model(op: Operation) -> type:
    return create_model(f"{op.name}.path", **{n: (int, ...) for n in op.path_params})


@functools.cache
def _response_model(op: Operation) -> type[Schema]:
    """The response wrapper as django-ninja builds it, so both faces serialise alike."""
    return type("NinjaResponseSchema", (Schema,), {"__annotations__": {"response": op.response}})


def render(op: Operation, result: Any) -> Any:
    """``result`` as REST renders it: validated against the response schema, JSON-encoded."""
    if op.response is None:
        return None
    context = {"request": None, "response_status": op.status}
    data = _response_model(op).model_validate(ResponseObject(result), context=context)
    return json.loads(json.dumps(data.model_dump(context=context)["response"], cls=_ENCODER))


_ENCODER = JSONRenderer.encoder_class
