"""/api/v1/<family>: list, create, get, update and delete for every resource family of the
registry, plus the extra operations some families have (launch a Playspec; start, stop, extend
and recreate a Playground), each declared with ``operation(...)`` like any other."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Literal

from django.core.exceptions import ValidationError
from ninja.orm import create_schema
from pydantic import Field

from fibe_access.api.bodies import In, Text, Timestamp
from fibe_access.api.errors import Conflict, found
from fibe_access.api.operations import Restriction, operation
from fibe_access.api.pagination import PageIn, paginate

from . import selectors, services
from .models import Playground
from .registry import FAMILIES, Family
from .schemas import BASE_OUT, Schemas, family_schemas

# What a 409 means, said in each operation that can answer one.
STATE_RULES = {
    "start": "409 `conflict` when the playground is running or has failed (`error`): "
    "recreate it instead.",
    "stop": "409 `conflict` when the playground is stopped or has failed (`error`).",
    "recreate": "",
    "extend": "409 `conflict` when `expires_at` is not within the next year (it depends on "
    "when you ask, not on what you send).",
    "launch": "409 `conflict` when `expires_at` is not within the next year.",
}


@contextmanager
def _conflicts(*fields: str):
    """A service's refusal about the record's state or the time (not about the input's shape)
    is a 409 `conflict` with the same message."""
    try:
        yield
    except ValidationError as exc:
        problems = getattr(exc, "message_dict", {})
        if problems and set(problems) <= set(fields):
            raise Conflict(" ".join(m for ms in problems.values() for m in ms)) from exc
        raise


def _op_id(method: str, path: str) -> str:
    return (method.lower() + path).replace("/", "_").replace("{id}", "by_id")


def _get(fam: Family, caller, pk: int, *, with_owner: bool = True):
    """The caller's record, or 404; a record the family counts as gone is not found."""
    obj = found(
        selectors.resource_get(
            model=fam.model, owner_id=caller.key.owner_id, pk=pk, with_owner=with_owner
        )
    )
    if any(getattr(obj, name) == value for name, value in fam.gone.items()):
        found(None)
    return obj


def _declare_family(fam: Family, schemas: Schemas) -> None:
    model, name = fam.model, fam.name
    single, plural = fam.singular, model._meta.verbose_name_plural
    items, item = f"/{name}", f"/{name}/{{id}}"

    @operation(
        f"{name}.list",
        "GET",
        items,
        scope=f"{name}:read",
        query=PageIn,
        response=schemas.page,
        restriction=Restriction.LIST,
        refers=fam.refers,
        summary=f"List {plural}, newest first",
        operation_id=_op_id("GET", items),
    )
    def list_(caller, *, query):
        qs = selectors.resource_list(
            model=model, owner_id=caller.key.owner_id, ids=caller.restricted_ids(name)
        )
        return paginate(qs.exclude(**fam.gone) if fam.gone else qs, query)

    @operation(
        f"{name}.create",
        "POST",
        items,
        scope=f"{name}:write",
        body=schemas.create,
        status=201,
        response=schemas.out,
        restriction=Restriction.CREATE,
        refers=fam.refers,
        summary=f"Create {single}",
        operation_id=_op_id("POST", items),
    )
    def create(caller, *, body):
        return services.resource_create(
            actor=caller.actor, model=model, owner=caller.owner, **body.dict(exclude_unset=True)
        )

    @operation(
        f"{name}.get",
        "GET",
        item,
        scope=f"{name}:read",
        response=schemas.out,
        restriction=Restriction.ITEM,
        refers=fam.refers,
        summary=f"Get {single}",
        operation_id=_op_id("GET", item),
    )
    def retrieve(caller, *, id):
        return _get(fam, caller, id, with_owner=False)

    @operation(
        f"{name}.update",
        "PATCH",
        item,
        scope=f"{name}:write",
        body=schemas.patch,
        response=schemas.out,
        restriction=Restriction.ITEM,
        refers=fam.refers,
        summary=f"Update {single}",
        operation_id=_op_id("PATCH", item),
    )
    def update(caller, *, id, body):
        return services.resource_update(
            actor=caller.actor, obj=_get(fam, caller, id), **body.dict(exclude_unset=True)
        )

    @operation(
        f"{name}.delete",
        "DELETE",
        item,
        scope=f"{name}:delete",
        status=204,
        restriction=Restriction.ITEM,
        summary=fam.delete_summary or f"Delete {single}",
        description=(f"Publishes `{fam.delete_event}`. " if fam.delete_event else "")
        + "From then on the record is not found (404) through the API.",
        operation_id=_op_id("DELETE", item),
    )
    def delete(caller, *, id):
        services.resource_delete(actor=caller.actor, obj=_get(fam, caller, id))


SCHEMAS: dict[str, Schemas] = {}


def declare(fam: Family) -> None:
    """Declare the five operations of a family of the registry (every row, at import)."""
    SCHEMAS[fam.name] = family_schemas(fam)
    _declare_family(fam, SCHEMAS[fam.name])


for _fam in FAMILIES.values():
    declare(_fam)


# --- Playspecs: launch ----------------------------------------------------------------------


class LaunchIn(In):
    name: Text = Field("", max_length=200, description="Blank: named after the playspec.")
    expires_at: Timestamp | None = Field(None, description="Within the next year.")


LaunchedOut = type(
    "LaunchedPlaygroundOut",
    (
        create_schema(
            Playground,
            name="_LaunchedPlaygroundOutBase",
            fields=[*BASE_OUT, "status", "playspec", "expires_at"],
        ),
    ),
    {"__annotations__": {"status": Literal[tuple(Playground.Status.values)]}},
)


@operation(
    "playspecs.launch",
    "POST",
    "/playspecs/{id}/launch",
    scope="launch:write",
    body=LaunchIn,
    status=201,
    response=LaunchedOut,
    restriction=Restriction.ITEM,
    creates=("playgrounds",),
    summary="Launch a playspec into a new playground",
    conflict=STATE_RULES["launch"],
    operation_id=_op_id("POST", "/playspecs/{id}/launch"),
)
def playspec_launch(caller, *, id, body):
    playspec = _get(FAMILIES["playspecs"], caller, id)
    with _conflicts("expires_at"):
        return services.playspec_launch(actor=caller.actor, playspec=playspec, **body.dict())


# --- Playgrounds: lifecycle actions ---------------------------------------------------------


class ExtendIn(In):
    expires_at: Timestamp = Field(description="Within the next year.")


def _declare_playground_action(action: str, *, idempotent: bool, destructive: bool) -> None:
    service = getattr(services, f"playground_{action}")
    path = f"/playgrounds/{{id}}/{action}"

    @operation(
        f"playgrounds.{action}",
        "POST",
        path,
        scope="playgrounds:write",
        response=SCHEMAS["playgrounds"].out,
        restriction=Restriction.ITEM,
        refers=FAMILIES["playgrounds"].refers,
        idempotent=idempotent,
        destructive=destructive,
        summary=f"{action.capitalize()} a playground",
        conflict=STATE_RULES[action],
        operation_id=_op_id("POST", path),
    )
    def run(caller, *, id):
        playground = _get(FAMILIES["playgrounds"], caller, id)
        with _conflicts("status"):
            return service(actor=caller.actor, playground=playground)


_declare_playground_action("start", idempotent=True, destructive=False)
_declare_playground_action("stop", idempotent=True, destructive=False)
_declare_playground_action("recreate", idempotent=False, destructive=True)


@operation(
    "playgrounds.extend",
    "POST",
    "/playgrounds/{id}/extend",
    scope="playgrounds:write",
    body=ExtendIn,
    response=SCHEMAS["playgrounds"].out,
    restriction=Restriction.ITEM,
    refers=FAMILIES["playgrounds"].refers,
    idempotent=True,
    summary="Extend a playground's expiry",
    conflict=STATE_RULES["extend"],
    operation_id=_op_id("POST", "/playgrounds/{id}/extend"),
)
def playground_extend(caller, *, id, body):
    playground = _get(FAMILIES["playgrounds"], caller, id)
    with _conflicts("expires_at", "status"):
        return services.playground_extend(
            actor=caller.actor, playground=playground, expires_at=body.expires_at
        )
