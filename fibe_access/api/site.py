"""The API site, /api/v1/: the one NinjaAPI, its error handlers, and the router of every
declared operation (``rest.routers`` over ``operations.REGISTRY``). Imported only by
``fibe_access/urls.py``.

Every operation is authenticated with an API key (``keys.auth.ApiKeyAuth``). Errors are JSON
``{"code", "message"}``; bad input is a 4xx that names the field and changes nothing."""

from ninja import NinjaAPI

from keys.auth import ApiKeyAuth
from webhooks.events import openapi_webhooks

from . import bodies, errors, rest
from .operations import REGISTRY
from .renderer import OrjsonRenderer


class FibeAPI(NinjaAPI):
    """Adds the calling key's X-RateLimit-* headers to every authenticated response."""

    def create_temporal_response(self, request):
        response = super().create_temporal_response(request)
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response[name] = value
        return response

    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        if temporal_response is None:
            for name, value in getattr(request, "rate_limit_headers", {}).items():
                response.setdefault(name, value)
        return response

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        # Any operation with a body answers 400 when the body is not JSON or breaks the bounds
        # of fibe_access.api.bodies, and 413 when it is too large: say so in every such one.
        answers = {
            "400": "Bad Request: the body is not valid JSON, repeats a key, nests deeper than "
            f"{bodies.MAX_DEPTH} levels or holds more than {bodies.MAX_VALUES} values",
            "413": f"Content Too Large: {bodies.TOO_LARGE}",
        }
        for path_operations in schema.get("paths", {}).values():
            for operation in path_operations.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    for status, description in answers.items():
                        operation.setdefault("responses", {}).setdefault(
                            status,
                            {
                                "description": description,
                                "content": {"application/json": {"schema": BAD_REQUEST}},
                            },
                        )
        schema = rest.document(schema, REGISTRY.values())
        schema["webhooks"] = openapi_webhooks()  # OpenAPI 3.1: what we POST to receivers
        return schema


BAD_REQUEST = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


def build(urls_namespace: str = "api") -> FibeAPI:
    """A NinjaAPI holding every operation registered so far."""
    site = FibeAPI(
        title="Fibe API",
        version="1",
        description="Token-authenticated JSON API. Send `Authorization: Bearer <token>` with a "
        "key from Profile → API Keys. Each operation names the scope it needs.",
        urls_namespace=urls_namespace,
        auth=ApiKeyAuth(),
        parser=bodies.JsonParser(),
        renderer=OrjsonRenderer(),
    )
    errors.install(site)
    for prefix, router in rest.routers(REGISTRY.values()).items():
        site.add_router(prefix, router)
    return site


api = build()
