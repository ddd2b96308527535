"""Operations: the one way to declare what the API can do, and the one way to run it.

``operation(...)`` declares an operation (its name, method and path, the scope it needs, the
family whose restrictions apply and how, its inputs and its answer) and records it in
``REGISTRY``. Everything else is generated from that record: the REST route and its OpenAPI
entry (mounted by ``fibe_access.api.site``), the scope-matrix tests, the MCP tools and the CLI.

A handler never sees an HttpRequest: it takes a ``Caller`` and typed parameters (path
parameters by name, ``query=`` and ``body=`` schema instances). REST requests and ``invoke``
(MCP) reach it through ``run``: scope, then restriction, then the handler, the same code for
every face. Each app declares its operations in its ``api`` module, imported by its
AppConfig.ready, so the registry is complete once Django is set up."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from ninja import Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import ResponseObject
from ninja.params.models import Body, BodyModel
from ninja.renderers import JSONRenderer
from ninja.responses import Status
from pydantic import Field, create_model
from pydantic import ValidationError as PydanticValidationError

from keys import scopes

from . import bodies, confirm, errors
from .caller import Caller
from .errors import Error, NotFound, ScopeDenied

READ, WRITE, DELETE = "read", "write", "delete"


class Restriction:
    """How an operation honours a key's restriction on its family."""

    LIST = "list"  # lists show only the listed IDs (the handler filters)
    CREATE = "create"  # a restricted key cannot create: 403 before the handler runs
    ITEM = "item"  # an ID (the first path parameter) outside the list is 404, before the handler
    HANDLER = "handler"  # the handler applies it (e.g. through a parent record)

    DOCS = {
        LIST: "a restricted key lists only its IDs",
        CREATE: "a restricted key cannot create",
        ITEM: "IDs outside a key's restriction are not found",
        HANDLER: "records outside a key's restriction are not found",
    }


@dataclass(frozen=True, eq=False)
class Operation:
    name: str  # unique and stable: "playspecs.launch", "webhooks.test", "me"
    group: str  # CLI `fibe <group> <action>`, MCP tool names, OpenAPI tag
    action: str
    method: str
    path: str  # under /api/v1, e.g. "/playspecs/{id}/launch"
    scope: str | None  # None: any valid key (/me)
    family: str | None  # whose restrictions apply
    restriction: str | None  # a Restriction value
    status: int  # on success
    summary: str
    description: str  # names the scope, its alternatives and the restriction
    kind: str  # READ, WRITE or DELETE
    idempotent: bool
    destructive: bool
    path_params: tuple[str, ...]  # integers, in path order
    query: type[Schema] | None
    body: type[Schema] | None
    body_optional: bool  # every body field has a default: no body reads as {}
    response: Any  # the success schema; None for an empty answer (204)
    handler: Callable[..., Any]
    operation_id: str
    creates: tuple[str, ...]  # families it makes a record of: refused to a key restricted on one
    refers: dict[str, str]  # answer attribute -> family whose IDs it holds (see _conceal)

    @property
    def read_only(self) -> bool:
        return self.kind == READ

    def hints(self) -> dict[str, bool]:
        """MCP tool annotations."""
        return {
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
        }


REGISTRY: dict[str, Operation] = {}
ROUTERS: dict[str, Router] = {}  # by path prefix, e.g. "/playspecs"


def operation(
    name: str,
    method: str,
    path: str,
    *,
    scope: str | None,
    summary: str,
    response: Any = None,
    status: int = 200,
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    restriction: str | None = None,
    kind: str | None = None,
    idempotent: bool | None = None,
    destructive: bool | None = None,
    description: str = "",
    operation_id: str | None = None,
    creates: tuple[str, ...] = (),
    refers: dict[str, str] | None = None,
):
    """Declare an operation whose handler is the decorated function, record it in REGISTRY
    and mount its REST route. ``restriction`` is required when ``scope`` names a family.

    ``creates`` names the families of the records it makes besides its own (a launch makes a
    Playground); ``refers`` the attributes of its answer that hold another family's IDs."""
    method = method.upper()
    family = scopes.requirement_family(scope) if scope else None
    if (family is None) != (restriction is None):
        raise ImproperlyConfigured(f"{name}: a family scope needs a restriction, and only one")
    if restriction == Restriction.CREATE:
        creates = (family, *creates)
    refers = dict(refers or {})
    kind = kind or {"GET": READ, "DELETE": DELETE}.get(method, WRITE)
    group, _, action = name.partition(".")

    def declare(handler):
        op = Operation(
            name=name,
            group=group,
            action=action or "get",
            method=method,
            path=path,
            scope=scope,
            family=family,
            restriction=restriction,
            status=status,
            summary=summary,
            description=_describe(scope, family, restriction, creates, refers, description),
            kind=kind,
            idempotent=method in ("GET", "PUT", "PATCH", "DELETE")
            if idempotent is None
            else idempotent,
            destructive=kind == DELETE or method == "PATCH" if destructive is None else destructive,
            path_params=tuple(p.strip("{}") for p in path.split("/") if p.startswith("{")),
            query=query,
            body=body,
            body_optional=body is not None
            and not any(f.is_required() for f in body.model_fields.values()),
            response=response,
            handler=handler,
            operation_id=operation_id
            or f"{handler.__module__}_{handler.__name__}".replace(".", "_"),
            creates=tuple(dict.fromkeys(creates)),
            refers=refers,
        )
        if op.name in REGISTRY or any(
            (o.method, o.path) == (op.method, op.path) for o in REGISTRY.values()
        ):
            raise ImproperlyConfigured(f"{op.name}: declared twice ({op.method} {op.path})")
        REGISTRY[op.name] = op
        _mount(op)
        return handler

    return declare


def _describe(scope, family, restriction, creates, refers, extra: str) -> str:
    if scope is None:
        text = "Any valid key may call this; no scope needed."
    else:
        also = scopes.ALSO_SATISFIED_BY.get(scope)
        text = f"Requires scope `{scope}`" + (
            f" (or `{'`, `'.join(sorted(also))}`)" if also else ""
        )
        if family:
            text += f"; honours restrictions on `{family}` ({Restriction.DOCS[restriction]})"
        text += "."
    others = [f for f in creates if f != family]
    if others:
        text += f" Creates {' and '.join(others)}: a key restricted on them cannot call it."
    if refers:
        names = ", ".join(f"`{attr.removesuffix('_id')}`" for attr in refers)
        text += f" {names}: null when it names a record outside the key's restriction."
    return f"{text} {extra}".strip()


def run(op: Operation, caller: Caller, params: dict[str, Any]) -> Any:
    """Check the scope and the restriction, then run the handler. Every face comes here."""
    if op.scope is not None and not caller.permits(op.scope):
        also = scopes.ALSO_SATISFIED_BY.get(op.scope)
        needed = f"'{op.scope}'" + (f" (or {', '.join(sorted(also))})" if also else "")
        raise ScopeDenied(f"This API key lacks the scope {needed}.")
    for family in op.creates:
        if caller.restricted_ids(family) is not None:
            which = "" if family == op.family else f", which {op.name} does"
            raise ScopeDenied(
                f"This API key is restricted to listed {family} and cannot create new ones{which}."
            )
    if op.restriction == Restriction.ITEM:
        ids = caller.restricted_ids(op.family)
        if ids is not None and params[op.path_params[0]] not in ids:
            raise NotFound()
    # --- Issue 22, confirm destructive actions: the whole hook, the last check before the
    # handler. A destructive operation on a credential with the switch on runs only by
    # claiming its owner's approval (fibe_access.api.confirm); others pay nothing here. ---
    if op.destructive and caller.key.confirm_destructive:
        return confirm.run_confirmed(
            op, caller, params, lambda: _conceal(op, caller, op.handler(caller, **params))
        )
    return _conceal(op, caller, op.handler(caller, **params))


def _conceal(op: Operation, caller: Caller, result: Any) -> Any:
    """Blank the IDs the answer holds of records outside the key's restriction on their
    family (a playground's playspec), so no answer names a record the key cannot reach."""
    if not op.refers or not caller.key.restrictions or result is None:
        return result
    listed = {a: caller.restricted_ids(f) for a, f in op.refers.items()}
    listed = {a: set(ids) for a, ids in listed.items() if ids is not None}
    if not listed or result is None:
        return result
    for obj in result.get("items", ()) if isinstance(result, dict) else (result,):
        for attr, ids in listed.items():
            if getattr(obj, attr) not in ids:
                setattr(obj, attr, None)
    return result


def invoke(
    op: Operation | str,
    caller: Caller,
    *,
    path: dict | None = None,
    query: dict | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    """Run an operation without an HttpRequest (MCP): validate the raw inputs with the
    operation's own schemas, then ``run`` it. Returns (status, JSON-ready body) exactly as REST
    answers, errors included."""
    op = REGISTRY[op] if isinstance(op, str) else op
    try:
        result = run(op, caller, _parse(op, path or {}, query or {}, body))
    except Exception as exc:
        found = errors.answer(exc)
        if found is None:
            raise
        return found.status, found.body
    return op.status, render(op, result)


def _parse(op: Operation, path: dict, query: dict, body: Any) -> dict[str, Any]:
    for what, value in (("path", path), ("query", query), ("body", body)):
        bodies.check(value, what=what)
    params: dict[str, Any] = {}
    problems: list[dict] = []
    inputs = [("path", _path_model(op), path)]
    if op.query is not None:
        inputs.append(("query", op.query, query))
    if op.body is not None:
        inputs.append(("body", op.body, _body_object({} if body is None else body)))
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


def _body_object(body: Any) -> Any:
    """A body must be a JSON object (django-ninja's schemas would read a list or a string as
    an object without attributes)."""
    if not isinstance(body, dict):
        raise NinjaValidationError(
            [{"loc": ("body",), "msg": "Send a JSON object.", "type": "dict_type"}]
        )
    return body


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


def found(obj):
    """A selector's answer, or the API's 404 when it found nothing."""
    if obj is None:
        raise NotFound()
    return obj


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


def page_of(item: type, name: str) -> type[Schema]:
    """The schema of a page of ``item``s."""
    fields = {"items": list[item], "count": int, "limit": int, "offset": int}
    return type(name, (Schema,), {"__annotations__": fields})


def paginate(qs, page: PageIn) -> dict:
    items = list(qs[page.offset : page.offset + page.limit])
    return {"items": items, "count": qs.count(), "limit": page.limit, "offset": page.offset}


# --- REST: a thin ninja view per operation ------------------------------------------------


def _mount(op: Operation) -> None:
    prefix, _, rest = op.path[1:].partition("/")
    router = ROUTERS.setdefault(f"/{prefix}", Router(tags=[op.group]))

    def view(request, **params):
        return Status(op.status, run(op, Caller.from_request(request), params))

    view.__name__, view.__module__ = op.handler.__name__, op.handler.__module__
    view.__signature__ = _signature(op)
    errors_ = {401: Error, 429: Error}
    if op.scope is not None:
        errors_ |= {403: Error, 404: Error, 422: Error}
    router.api_operation(
        [op.method],
        f"/{rest}" if rest else "",
        response={op.status: op.response, **errors_},
        summary=op.summary,
        description=op.description,
        operation_id=op.operation_id,
    )(view)


class _ObjectBodyModel(BodyModel):
    @classmethod
    def get_request_data(cls, request, api, path_params):
        data = bodies.read(request, api.parser)  # within the bounds, or a 400/413
        if data is None:  # no body at all, as `curl -X POST` sends: the same as {}
            data = {}
        return {cls.__read_from_single_attr__: _body_object(data)}


class ObjectBody(Body):
    """A JSON-object body; no body reads as ``{}``, so an operation whose body fields all have
    defaults needs none, and a missing required field is named like any other."""

    _model = _ObjectBodyModel

    @classmethod
    def _param_source(cls) -> str:
        return "body"


def _signature(op: Operation) -> inspect.Signature:
    """What django-ninja reads to parse a request and describe it in OpenAPI."""
    param = inspect.Parameter
    params = [param("request", param.POSITIONAL_OR_KEYWORD)]
    params += [param(n, param.KEYWORD_ONLY, annotation=int) for n in op.path_params]
    if op.query is not None:
        params.append(param("query", param.KEYWORD_ONLY, annotation=Query[op.query]))
    if op.body is not None:
        source = ObjectBody({} if op.body_optional else ...)
        params.append(param("body", param.KEYWORD_ONLY, annotation=op.body, default=source))
    return inspect.Signature(params)
