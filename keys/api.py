"""The token-authenticated resource API, generated from the family registry.

Every operation declares the scope it needs (and so the family whose restriction applies);
``OPERATIONS`` lists them all for the docs and for the scope-matrix test."""

from dataclasses import dataclass
from functools import wraps

from ninja import Query, Router, Schema
from ninja.orm import create_schema
from ninja.responses import Status
from pydantic import AwareDatetime, Field

from fibe_access.resources import selectors, services
from fibe_access.resources.models import Playground, Playspec
from fibe_access.resources.registry import FAMILIES, Family

from . import scopes
from .auth import ScopeDenied, actor_for, require_scope, restricted_ids

BASE_OUT = ("id", "name", "description", "created_at", "updated_at")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # under /api/v1, "{id}" for a resource of the family
    scope: str
    family: str | None
    ok: int


OPERATIONS: list[Operation] = []


class Error(Schema):
    code: str
    message: str


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class LaunchIn(Schema):
    name: str = Field("", max_length=200)
    expires_at: AwareDatetime | None = None


class ExtendIn(Schema):
    expires_at: AwareDatetime


class MeOut(Schema):
    id: int
    label: str
    scopes: list[str]
    restrictions: dict[str, list[int]]
    expires_at: AwareDatetime | None
    is_agent: bool
    rate_limit_per_minute: int
    owner_email: str


ERRORS = {401: Error, 403: Error, 404: Error, 422: Error, 429: Error}


def _declare(
    router: Router,
    method: str,
    path: str,
    scope: str,
    *,
    prefix: str,
    ok: int,
    response,
    summary: str,
):
    """Register an operation that requires ``scope``: checked before the view runs, and named
    in the OpenAPI description and in OPERATIONS."""
    family = scopes.requirement_family(scope)
    also = scopes.ALSO_SATISFIED_BY.get(scope)
    needs = f"Requires scope `{scope}`" + (f" (or `{'`, `'.join(sorted(also))}`)" if also else "")
    if family:
        needs += f"; honours restrictions on `{family}`"
    OPERATIONS.append(Operation(method, prefix + path, scope, family, ok))
    op_id = (method.lower() + prefix + path).replace("/", "_").replace("{id}", "by_id")
    register = router.api_operation(
        [method],
        path,
        response={ok: response, **ERRORS},
        summary=summary,
        description=needs + ".",
        operation_id=op_id,
    )

    def decorator(func):
        @wraps(func)
        def view(request, *args, **kwargs):
            require_scope(request, scope)
            return func(request, *args, **kwargs)

        return register(view)

    return decorator


def _family_router(fam: Family) -> Router:
    model, name = fam.model, fam.name
    single = model._meta.verbose_name
    out_fields = [
        *BASE_OUT,
        *(f for f in fam.fields if f not in fam.write_only and f not in BASE_OUT),
        *fam.read_only,
    ]
    Out = create_schema(model, name=f"{model.__name__}Out", fields=out_fields)  # noqa: N806
    In = create_schema(model, name=f"{model.__name__}In", fields=list(fam.fields))  # noqa: N806
    Patch = create_schema(
        model,
        name=f"{model.__name__}Patch",  # noqa: N806
        fields=list(fam.fields),
        optional_fields="__all__",
    )
    Page = type(
        f"{model.__name__}Page",
        (Schema,),
        {  # noqa: N806
            "__annotations__": {"items": list[Out], "count": int, "limit": int, "offset": int}
        },
    )
    router = Router(tags=[name])
    prefix = f"/{name}"

    def get(request, id):  # noqa: A002
        return selectors.resource_get(
            model=model, owner_id=request.api_key.owner_id, pk=id, ids=restricted_ids(request, name)
        )

    @_declare(
        router,
        "GET",
        "",
        f"{name}:read",
        prefix=prefix,
        ok=200,
        response=Page,
        summary=f"List {model._meta.verbose_name_plural}, newest first",
    )
    def list_(request, page: Query[PageIn]):
        qs = selectors.resource_list(
            model=model, owner_id=request.api_key.owner_id, ids=restricted_ids(request, name)
        )
        items = list(qs[page.offset : page.offset + page.limit])
        return {"items": items, "count": qs.count(), "limit": page.limit, "offset": page.offset}

    @_declare(
        router,
        "POST",
        "",
        f"{name}:write",
        prefix=prefix,
        ok=201,
        response=Out,
        summary=f"Create a {single}",
    )
    def create(request, payload: In):
        if restricted_ids(request, name) is not None:
            raise ScopeDenied(
                f"This API key is restricted to listed {name} and cannot create new ones."
            )
        return Status(
            201,
            services.resource_create(
                actor=actor_for(request),
                model=model,
                owner=request.api_key.owner,
                **payload.dict(exclude_unset=True),
            ),
        )

    @_declare(
        router,
        "GET",
        "/{id}",
        f"{name}:read",
        prefix=prefix,
        ok=200,
        response=Out,
        summary=f"Get a {single}",
    )
    def retrieve(request, id: int):  # noqa: A002
        return get(request, id)

    @_declare(
        router,
        "PATCH",
        "/{id}",
        f"{name}:write",
        prefix=prefix,
        ok=200,
        response=Out,
        summary=f"Update a {single}",
    )
    def update(request, id: int, payload: Patch):  # noqa: A002
        return services.resource_update(
            actor=actor_for(request), obj=get(request, id), **payload.dict(exclude_unset=True)
        )

    @_declare(
        router,
        "DELETE",
        "/{id}",
        f"{name}:delete",
        prefix=prefix,
        ok=204,
        response=None,
        summary=f"Delete a {single}"
        if model is not Playground
        else "Destroy a playground (its record stays, status destroyed)",
    )
    def delete(request, id: int):  # noqa: A002
        services.resource_delete(actor=actor_for(request), obj=get(request, id))
        return Status(204, None)

    if model is Playspec:
        PgOut = create_schema(
            Playground,
            name="LaunchedPlaygroundOut",  # noqa: N806
            fields=[*BASE_OUT, "status", "playspec", "expires_at"],
        )

        @_declare(
            router,
            "POST",
            "/{id}/launch",
            "launch:write",
            prefix=prefix,
            ok=201,
            response=PgOut,
            summary="Launch a playspec into a new playground",
        )
        def launch(request, id: int, payload: LaunchIn):  # noqa: A002
            return Status(
                201,
                services.playspec_launch(
                    actor=actor_for(request), playspec=get(request, id), **payload.dict()
                ),
            )

    if model is Playground:
        for action in ("start", "stop", "recreate"):
            _playground_action(router, action, get, Out, prefix)

        @_declare(
            router,
            "POST",
            "/{id}/extend",
            "playgrounds:write",
            prefix=prefix,
            ok=200,
            response=Out,
            summary="Extend a playground's expiry",
        )
        def extend(request, id: int, payload: ExtendIn):  # noqa: A002
            return services.playground_extend(
                actor=actor_for(request), playground=get(request, id), expires_at=payload.expires_at
            )

    return router


def _playground_action(router, action, get, Out, prefix):  # noqa: N803
    service = getattr(services, f"playground_{action}")

    @_declare(
        router,
        "POST",
        f"/{{id}}/{action}",
        "playgrounds:write",
        prefix=prefix,
        ok=200,
        response=Out,
        summary=f"{action.capitalize()} a playground",
    )
    def run(request, id: int):  # noqa: A002
        return service(actor=actor_for(request), playground=get(request, id))

    run.__name__ = f"playground_{action}"


me_router = Router(tags=["me"])


@me_router.get(
    "",
    response={200: MeOut, 401: Error, 429: Error},
    summary="Describe the calling key",
    description="Any valid key may call this; no scope needed.",
)
def me(request):
    key = request.api_key
    return {
        "id": key.pk,
        "label": key.label,
        "scopes": key.scopes,
        "restrictions": key.restrictions,
        "expires_at": key.expires_at,
        "is_agent": key.is_agent,
        "rate_limit_per_minute": key.effective_rate_limit,
        "owner_email": key.owner.email,
    }


def install(api) -> None:
    """Add /me and every family's routes to ``api``."""
    api.add_router("/me", me_router)
    for fam in FAMILIES.values():
        api.add_router(f"/{fam.name}", _family_router(fam))
