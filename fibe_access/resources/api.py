"""/api/v1/<family>: list, create, get, update and delete for every resource family of the
registry, plus the extra operations some families have (launch a Playspec; start, stop, extend
and recreate a Playground), each declared with ``operation(...)`` like any other."""

from __future__ import annotations

from dataclasses import dataclass

from ninja import Schema
from ninja.orm import create_schema
from pydantic import AwareDatetime, Field

from fibe_access.api.errors import found
from fibe_access.api.operations import Restriction, operation
from fibe_access.api.pagination import PageIn, page_of, paginate

from . import selectors, services
from .models import Playground, Playspec
from .registry import FAMILIES, Family

BASE_OUT = ("id", "name", "description", "created_at", "updated_at")


@dataclass(frozen=True)
class Schemas:
    out: type[Schema]
    create: type[Schema]
    patch: type[Schema]
    page: type[Schema]


def _schemas(fam: Family) -> Schemas:
    model, writable = fam.model, list(fam.fields)
    out_fields = [
        *BASE_OUT,
        *(f for f in fam.fields if f not in fam.write_only and f not in BASE_OUT),
        *fam.read_only,
    ]
    out = create_schema(model, name=f"{model.__name__}Out", fields=out_fields)
    return Schemas(
        out=out,
        create=create_schema(model, name=f"{model.__name__}In", fields=writable),
        patch=create_schema(
            model, name=f"{model.__name__}Patch", fields=writable, optional_fields="__all__"
        ),
        page=page_of(out, f"{model.__name__}Page"),
    )


def _op_id(method: str, path: str) -> str:
    return (method.lower() + path).replace("/", "_").replace("{id}", "by_id")


def _get(model, caller, pk: int, *, with_owner: bool = True):
    return found(
        selectors.resource_get(
            model=model, owner_id=caller.key.owner_id, pk=pk, with_owner=with_owner
        )
    )


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
        return paginate(qs, query)

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
        return _get(model, caller, id, with_owner=False)

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
            actor=caller.actor, obj=_get(model, caller, id), **body.dict(exclude_unset=True)
        )

    @operation(
        f"{name}.delete",
        "DELETE",
        item,
        scope=f"{name}:delete",
        status=204,
        restriction=Restriction.ITEM,
        summary=fam.delete_summary or f"Delete {single}",
        operation_id=_op_id("DELETE", item),
    )
    def delete(caller, *, id):
        services.resource_delete(actor=caller.actor, obj=_get(model, caller, id))


SCHEMAS: dict[str, Schemas] = {}


def declare(fam: Family) -> None:
    """Declare the five operations of a family of the registry (every row, at import)."""
    SCHEMAS[fam.name] = _schemas(fam)
    _declare_family(fam, SCHEMAS[fam.name])


for _fam in FAMILIES.values():
    declare(_fam)


# --- Playspecs: launch ----------------------------------------------------------------------


class LaunchIn(Schema):
    name: str = Field("", max_length=200)
    expires_at: AwareDatetime | None = None


LaunchedOut = create_schema(
    Playground,
    name="LaunchedPlaygroundOut",
    fields=[*BASE_OUT, "status", "playspec", "expires_at"],
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
    operation_id=_op_id("POST", "/playspecs/{id}/launch"),
)
def playspec_launch(caller, *, id, body):
    playspec = _get(Playspec, caller, id)
    return services.playspec_launch(actor=caller.actor, playspec=playspec, **body.dict())


# --- Playgrounds: lifecycle actions ---------------------------------------------------------


class ExtendIn(Schema):
    expires_at: AwareDatetime


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
        operation_id=_op_id("POST", path),
    )
    def run(caller, *, id):
        return service(actor=caller.actor, playground=_get(Playground, caller, id))


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
    operation_id=_op_id("POST", "/playgrounds/{id}/extend"),
)
def playground_extend(caller, *, id, body):
    playground = _get(Playground, caller, id)
    return services.playground_extend(
        actor=caller.actor, playground=playground, expires_at=body.expires_at
    )
