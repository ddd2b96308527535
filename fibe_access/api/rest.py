"""The django-ninja adapter: one thin ninja view per registered operation, which parses the
request with the operation's own schemas and calls ``run.run``.

Written for django-ninja 1.7 (pinned in pyproject.toml): ``ObjectBody`` subclasses ninja's
``Body``/``BodyModel`` internals so a body is read within ``bodies``' bounds and must be a JSON
object, and a view's signature is built by hand because ninja reads it to parse and document."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from ninja import Query, Router
from ninja.params.models import Body, BodyModel
from ninja.responses import Status

from . import bodies, run
from .caller import Caller
from .errors import Error
from .operations import Operation


def routers(ops: Iterable[Operation]) -> dict[str, Router]:
    """A router per path prefix ("/playspecs") holding a view for each operation under it."""
    out: dict[str, Router] = {}
    for op in ops:
        prefix, _, rest = op.path[1:].partition("/")
        router = out.setdefault(f"/{prefix}", Router(tags=[op.group]))
        _mount(router, op, f"/{rest}" if rest else "")
    return out


def _mount(router: Router, op: Operation, path: str) -> None:
    def view(request, **params):
        return Status(op.status, run.run(op, Caller.from_request(request), params))

    view.__name__, view.__module__ = op.handler.__name__, op.handler.__module__
    view.__signature__ = _signature(op)
    errors_ = {401: Error, 429: Error}
    if op.scope is not None:
        errors_ |= {403: Error, 404: Error, 422: Error}
    router.api_operation(
        [op.method],
        path,
        response={op.status: op.response, **errors_},
        summary=op.summary,
        description=op.description,
        operation_id=op.operation_id,
    )(view)


class _ObjectBodyModel(BodyModel):
    @classmethod
    def get_request_data(cls, request, api, path_params):
        data = bodies.read(request, api.parser, empty=bodies.NO_BODY)  # else a 400/413
        return {cls.__read_from_single_attr__: bodies.require_object(data)}


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
