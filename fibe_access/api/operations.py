"""Operations: the one way to declare what the API can do, and the registry of them.

``operation(...)`` declares an operation (its name, method and path, the scope it needs, the
family whose restrictions apply and how, its inputs and its answer) and records it in
``REGISTRY``. Everything else is generated from that record: the REST routes and their OpenAPI
entries (``rest``, mounted by ``site``), the scope-matrix tests, the MCP tools and the CLI.

A handler never sees an HttpRequest: it takes a ``Caller`` and typed parameters (path
parameters by name, ``query=`` and ``body=`` schema instances). REST requests and ``invoke``
(MCP) reach it through ``run.run``: scope, then restriction, then the handler, the same code
for every face. Each app declares its operations in its ``api`` module, imported by its
AppConfig.ready, so the registry is complete once Django is set up.

The API package, by job: ``operations`` (declare, register), ``run`` (refuse, run, conceal),
``invoke`` (parse raw inputs, run, render: the MCP face), ``rest`` (the django-ninja adapter),
``pagination`` (pages of a list), ``bodies`` (bounds on input), ``errors`` (every answer that
is not a success), ``site`` (the NinjaAPI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from ninja import Schema

from keys import scopes

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
    # A key with "Confirm destructive actions" on runs it only with a person's approval
    # (fibe_access.api.confirm): every destructive operation unless declared otherwise.
    approval: bool
    path_params: tuple[str, ...]  # integers, in path order
    query: type[Schema] | None
    body: type[Schema] | None
    body_optional: bool  # every body field has a default: no body reads as {}
    response: Any  # the success schema; None for an empty answer (204)
    handler: Callable[..., Any]
    operation_id: str
    creates: tuple[str, ...]  # families it makes a record of: refused to a key restricted on one
    refers: dict[str, str]  # answer attribute -> family whose IDs it holds (see run.conceal)
    conflict: str  # when it answers 409 `conflict` (the record's state refuses it); "" never

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
    approval: bool | None = None,
    description: str = "",
    operation_id: str | None = None,
    creates: tuple[str, ...] = (),
    refers: dict[str, str] | None = None,
    conflict: str = "",
):
    """Declare an operation whose handler is the decorated function and record it in
    REGISTRY. ``restriction`` is required when ``scope`` names a family.

    ``creates`` names the families of the records it makes besides its own (a launch makes a
    Playground); ``refers`` the attributes of its answer that hold another family's IDs;
    ``conflict`` when it answers 409 (documented in its description and responses);
    ``approval=False`` exempts a destructive operation from "Confirm destructive actions"
    (ending one's own listen session loses nothing of value)."""
    method = method.upper()
    if scope is not None and scope not in scopes.CATALOGUE:
        raise ImproperlyConfigured(
            f"{name}: the scope {scope!r} is not in keys.scopes.CATALOGUE (a family's scopes "
            "come from fibe_access.resources.registry: is the family a row there?)"
        )
    family = scopes.requirement_family(scope) if scope else None
    if (family is None) != (restriction is None):
        needs = "needs a restriction=" if family else "takes no restriction"
        raise ImproperlyConfigured(f"{name}: the scope {scope!r} {needs} (a Restriction value)")
    if restriction == Restriction.CREATE:
        creates = (family, *creates)
    refers = dict(refers or {})
    kind = kind or {"GET": READ, "DELETE": DELETE}.get(method, WRITE)
    if destructive is None:
        destructive = kind == DELETE or method == "PATCH"
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
            description=_describe(
                scope, family, restriction, creates, refers, f"{description} {conflict}".strip()
            ),
            kind=kind,
            idempotent=method in ("GET", "PUT", "PATCH", "DELETE")
            if idempotent is None
            else idempotent,
            destructive=destructive,
            approval=destructive if approval is None else approval and destructive,
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
            conflict=conflict,
        )
        if op.name in REGISTRY or any(
            (o.method, o.path) == (op.method, op.path) for o in REGISTRY.values()
        ):
            raise ImproperlyConfigured(f"{op.name}: declared twice ({op.method} {op.path})")
        REGISTRY[op.name] = op
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
