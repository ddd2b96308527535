"""The API's errors: the ``ApiError`` family, and ``answer``, the one function that turns an
exception raised anywhere under an operation into the API's answer. The REST site's exception
handlers (``install``) and ``invoke.invoke`` both use it, so every face of the API says
the same thing: ``{"code", "message"}``, plus ``errors: [{"field", "message"}]`` on a 422."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError


class Error(Schema):
    code: str
    message: str


class ApiError(Exception):
    """An API error with a stable code, a human message and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidToken(ApiError):  # noqa: N818 - named for the Bearer error it becomes
    status = 401
    code = "invalid_token"

    def __init__(self, message: str = "Send a valid API key: Authorization: Bearer <token>."):
        super().__init__(
            message, headers={"WWW-Authenticate": 'Bearer realm="fibe", error="invalid_token"'}
        )


class ScopeDenied(ApiError):  # noqa: N818
    status = 403
    code = "insufficient_scope"


class NotFound(ApiError):  # noqa: N818
    """The same answer whether a record does not exist, belongs to another account or lies
    outside a key's restriction."""

    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class Conflict(ApiError):  # noqa: N818
    """The request is valid but the record's state refuses it (a running playground cannot be
    started): 409, the same message."""

    status = 409
    code = "conflict"


class RateLimited(ApiError):  # noqa: N818
    status = 429
    code = "rate_limited"


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    message: str
    errors: list[dict] | None = None  # 422: [{"field", "message"}]
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # more fields of the body (confirmation_url)

    @property
    def body(self) -> dict:
        body = {"code": self.code, "message": self.message, **self.extra}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


HANDLED = (
    ApiError,
    AuthenticationError,
    NinjaValidationError,
    DjangoValidationError,
    Http404,
    ObjectDoesNotExist,
    PermissionDenied,
    HttpError,
)


def answer(exc: BaseException) -> Answer | None:
    """The API's answer to ``exc``; None when it is not an error the API expects (a bug: the
    caller lets it propagate and the server answers 500)."""
    if isinstance(exc, ApiError):
        extra = getattr(exc, "extra", {})
        return Answer(exc.status, exc.code, exc.message, headers=exc.headers, extra=extra)
    if isinstance(exc, AuthenticationError):
        return answer(InvalidToken())
    if isinstance(exc, NinjaValidationError):
        return _invalid([(_field(e.get("loc", ())), e.get("msg", "invalid")) for e in exc.errors])
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return _invalid([(f, m) for f, ms in exc.message_dict.items() for m in ms])
        return _invalid([("", m) for m in exc.messages])
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return answer(NotFound())
    if isinstance(exc, PermissionDenied):
        return Answer(403, "forbidden", str(exc) or "Forbidden.")
    if isinstance(exc, HttpError):
        return Answer(
            exc.status_code, "bad_request" if exc.status_code < 500 else "error", str(exc)
        )
    return None


def _field(loc) -> str:
    """The field a validation error is about, from its location as django-ninja gives it:
    ("body", <view argument>, field…), ("query", field…) or ("path", field). An error about
    the whole body or query names that ("body"), so a 422 always names what to fix."""
    if not loc:
        return "body"
    source, rest = str(loc[0]), loc[1:]
    if source == "body":
        rest = rest[1:]
    return ".".join(str(p) for p in rest) or source


def _invalid(problems: list[tuple[str, str]]) -> Answer:
    field_name, message = problems[0] if problems else ("", "Bad input.")
    return Answer(
        422,
        "invalid",
        f"{field_name}: {message}" if field_name else message,
        errors=[{"field": f, "message": m} for f, m in problems],
    )


def install(api) -> None:
    """Answer every expected error of ``api``'s operations through ``answer``."""

    def handle(request, exc):
        found = answer(exc)
        if found is None:
            raise exc
        response = api.create_response(request, found.body, status=found.status)
        for name, value in found.headers.items():
            response[name] = value
        return response

    for exc_class in HANDLED:
        api.add_exception_handler(exc_class, handle)


def found(obj):
    """A selector's answer, or the API's 404 when it found nothing."""
    if obj is None:
        raise NotFound()
    return obj
