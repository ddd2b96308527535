"""The django-ninja adapter: one thin ninja view per registered operation, which parses the
request with the operation's own schemas and calls ``run.run``.

Written for django-ninja 1.7 (pinned in pyproject.toml): ``ObjectBody`` subclasses ninja's
``Body``/``BodyModel`` internals so a body is read within ``bodies``' bounds and must be a JSON
object, and a view's signature is built by hand because ninja reads it to parse and document."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from ninja import Query, Router
from ninja.errors import ValidationError
from ninja.params.models import Body, BodyModel
from ninja.responses import Status

from . import bodies, recording, run
from .caller import Caller
from .errors import Error
from .operations import Operation


def routers(ops: Iterable[Operation]) -> dict[str, Router]:
    """A router per path prefix ("/playspecs") holding a view for each operation under it."""
    out: dict[str, Router] = {}
    for op in ops:
        prefix, _, rest = op.path[1:].partition("/")
        router = out.get(f"/{prefix}")
        if router is None:
            router = out[f"/{prefix}"] = Router(tags=[op.group])
            # per-key activity: every authenticated request, answered however it was
            router.add_decorator(recording.recorded, mode="view")
        _mount(router, op, f"/{rest}" if rest else "")
    return out


def _mount(router: Router, op: Operation, path: str) -> None:
    known = set(op.query.model_fields) if op.query is not None else set()

    def view(request, **params):
        if request.META.get("QUERY_STRING"):
            _refuse_unknown(request.GET, known)
        result = run.run(op, Caller.from_request(request), params)
        # per-key activity: the record a create made
        setattr(request, recording.RECORD_ID, recording.record_id(op, params, result))
        return Status(op.status, result)

    view.fibe_operation = op  # read by recording.recorded
    view.__name__, view.__module__ = op.handler.__name__, op.handler.__module__
    view.__signature__ = _signature(op)
    # 422: any operation refuses a query parameter it does not take, and its inputs' rules
    errors_ = {401: Error, 422: Error, 429: Error}
    if op.scope is not None:
        errors_ |= {403: Error, 404: Error}
    if op.conflict:
        errors_[409] = Error
    router.api_operation(
        [op.method],
        path,
        response={op.status: op.response, **errors_},
        summary=op.summary,
        description=op.description,
        operation_id=op.operation_id,
    )(view)


def _refuse_unknown(query, known: set[str]) -> None:
    """A query parameter the operation does not take is a 422 naming it, not ignored: a typo
    (``?limt=5``) would otherwise answer as if it were not there."""
    unknown = sorted(set(query) - known)
    if unknown:
        raise ValidationError(
            [
                {"loc": ("query", name[:80]), "msg": "Unknown query parameter.", "type": "extra"}
                for name in unknown
            ]
        )


def document(schema: dict, ops: Iterable[Operation]) -> dict:
    """What django-ninja cannot say by itself, added to its OpenAPI document: an optional
    body is optional (no body reads as ``{}``; ``null`` is refused), and ``links`` from each
    operation that creates a record to every operation taking that record's ID, so clients
    and fuzzers can walk create → read → update → action → delete."""
    by_id = {op.operation_id: op for op in ops}
    for entry in _entries(schema):
        op = by_id.get(entry.get("operationId"))
        if op is None:
            continue
        if op.body_optional and "requestBody" in entry:
            entry["requestBody"]["required"] = False
        links = _links(op, by_id.values())
        if links:
            entry["responses"][op.status]["links"] = links
    return schema


def _entries(schema: dict):
    for path_operations in schema.get("paths", {}).values():
        for entry in path_operations.values():
            if isinstance(entry, dict):
                yield entry


def _links(op: Operation, ops: Iterable[Operation]) -> dict:
    if op.status != 201:
        return {}
    made = op.group if op.action == "create" else next(iter(set(op.creates) - {op.family}), "")
    return {
        f"{target.group}.{target.action}".replace(".", "_"): {
            "operationId": target.operation_id,
            "parameters": {target.path_params[0]: "$response.body#/id"},
        }
        for target in ops
        # an operation on the made record: /<group>/{its ID}…
        if target.path_params and target.path.startswith(f"/{made}/{{{target.path_params[0]}}}")
    }


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
