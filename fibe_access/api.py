"""The one django-ninja instance: /api/v1/. Each app contributes its routers.

Every operation is authenticated with an API key (``keys.auth.ApiKeyAuth``). Errors are JSON
``{"code", "message"}``; bad input is a 4xx that names the field and changes nothing."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

import keys.api
import webhooks.api
from keys.auth import ApiError, ApiKeyAuth, InvalidToken


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
        # Any operation with a body answers 400 when the body is not JSON (ninja's ParseError,
        # turned into our error by _http_error below): say so in every such operation.
        bad_body = {
            "description": "Bad Request: the body is not valid JSON",
            "content": {"application/json": {"schema": BAD_REQUEST}},
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    operation.setdefault("responses", {}).setdefault("400", bad_body)
        return schema


BAD_REQUEST = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}

api = FibeAPI(
    title="Fibe API",
    version="1",
    description="Token-authenticated JSON API. Send `Authorization: Bearer <token>` with a key "
    "from Profile → API Keys. Each operation names the scope it needs.",
    urls_namespace="api",
    auth=ApiKeyAuth(),
)


def error(request, status: int, code: str, message: str, headers=None, **extra):
    response = api.create_response(
        request, {"code": code, "message": message, **extra}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error(request, exc.status, exc.code, exc.message, exc.headers)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    exc = InvalidToken()
    return error(request, exc.status, exc.code, exc.message, exc.headers)


@api.exception_handler(NinjaValidationError)
def _bad_input(request, exc: NinjaValidationError):
    fields = [
        ".".join(
            str(p)
            for p in e.get("loc", ())
            if p not in ("body", "payload", "query", "path", "page")
        )
        for e in exc.errors
    ]
    first = exc.errors[0] if exc.errors else {}
    message = f"{fields[0] or 'input'}: {first.get('msg', 'invalid')}" if fields else "Bad input."
    return error(
        request,
        422,
        "invalid",
        message,
        errors=[
            {"field": f, "message": e.get("msg", "")}
            for f, e in zip(fields, exc.errors, strict=True)
        ],
    )


@api.exception_handler(DjangoValidationError)
def _invalid(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = [{"field": f, "message": m} for f, ms in exc.message_dict.items() for m in ms]
    else:
        errors = [{"field": "", "message": m} for m in exc.messages]
    first = errors[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return error(request, 422, "invalid", message, errors=errors)


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def _not_found(request, exc):
    return error(request, 404, "not_found", "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error(request, 403, "forbidden", str(exc) or "Forbidden.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error(
        request, exc.status_code, "bad_request" if exc.status_code < 500 else "error", str(exc)
    )


keys.api.install(api)  # /me and one router per resource family
# Other apps' routers go below, e.g. api.add_router("/webhooks", webhooks.api.router)
api.add_router("/webhooks", webhooks.api.router)
