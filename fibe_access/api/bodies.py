"""Bounds on what a request may send: strings and keys of at most ``MAX_BYTES`` characters in
all, written in at most ``MAX_TEXT_BYTES`` of JSON text (an escape spells one character in up
to 12 bytes: a file of the most characters a schema allows fits, whatever it holds), nested at most
``MAX_DEPTH`` levels, holding at most ``MAX_VALUES`` values, with no key given twice. Anything
else is a 400 (413 when too large) with the API's ``{"code", "message"}``, before any schema,
service or database sees it, so no input can reach a recursion limit.

``read`` is the REST side (the body of a request, parsed by the site's parser) and ``check``
the part every face shares: ``invoke`` calls it on the JSON an MCP client sent. A parser that
replaces ``JsonParser`` (orjson, say) keeps the bounds as long as ``read`` calls it; it keeps
the refusal of repeated keys only if it refuses them too."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from django.core.exceptions import RequestDataTooBig
from ninja import Schema
from ninja.errors import ValidationError
from ninja.parser import Parser
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from .errors import ApiError

# What PostgreSQL cannot store in text: a NUL character. Every string field of a body says so.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
# Non-blank once stripped as Python strips (str.isspace), and no NUL.
_SPACE = r"\x00\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NON_BLANK = rf"^[^\x00]*[^{_SPACE}][^\x00]*$"
# A URL as Django's URLValidator accepts it, said so a generator can make one: a scheme, a host
# of dotted labels with a top-level domain (or one of ``hosts``), an optional port, an optional
# path of printable characters. Narrower than the validator, never wider.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?"
_PORT = r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"  # noqa: E501


def url_pattern(schemes: str = "https?", hosts: tuple[str, ...] = ()) -> str:
    names = "|".join([rf"{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,20}}", *map(re.escape, hosts)])
    return rf"^{schemes}://(?:{names}){_PORT}(?:/[!-~]*)?$"


URL = url_pattern()

# JSON's own types, read as the schema says them: a boolean is true or false (not "yes", 1 or
# "1"), a time is an RFC 3339 date-time string with its offset (not a number of seconds, not
# "2024-01-15" alone). pydantic's lax mode would read all of these; a schema-violating value
# accepted is a contract broken.
Flag = StrictBool
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError(
            "datetime_format", "Give an RFC 3339 date-time, e.g. 2030-01-15T10:30:00Z."
        )
    return value


def _utc(value: datetime) -> datetime:
    """In UTC, as PostgreSQL compares it (it refuses an offset past 15:59, which RFC 3339 and
    Python allow); a time at the very edge of year 1 or 9999 stays at that edge."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max  # noqa: DTZ901 - made UTC
        return edge.replace(tzinfo=UTC)


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]


def _true_or_false(value: Any) -> Any:
    if value not in ("true", "false", True, False):
        raise PydanticCustomError("bool_type", "Give true or false.")
    return value in ("true", True)


# a boolean query parameter: ?is_test=true or false, as the schema serialises one
QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]


class In(Schema):
    """The base of every operation's body: a field it does not name is refused (422 naming
    it), and its schema says so (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


MAX_BYTES = 1024 * 1024
MAX_TEXT_BYTES = 4 * MAX_BYTES  # settings.DATA_UPLOAD_MAX_MEMORY_SIZE is at least this
MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_DIGITS = 4300  # Python's own limit on converting text to int


class BadBody(ApiError):  # noqa: N818
    status = 400
    code = "bad_request"


class TooLarge(ApiError):  # noqa: N818
    status = 413
    code = "too_large"


TOO_LARGE = (
    f"The body is larger than {MAX_TEXT_BYTES // MAX_BYTES} MiB, or its strings and keys hold "
    f"more than {MAX_BYTES // 1024} Ki characters in all."
)
TOO_DEEP = "The JSON {what} is nested deeper than {depth} levels."
TOO_LONG = "The JSON {what} holds a number of more than {digits} digits."
_TOO_MANY_DIGITS = 10**MAX_DIGITS


def check(value: Any, *, what: str = "body") -> None:
    """Refuse a decoded JSON value deeper, larger or holding more values than the bounds.
    Iterative: a value of any depth is walked without recursion."""
    stack, seen, size = [(value, 1)], 1, 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise BadBody(TOO_DEEP.format(what=what, depth=MAX_DEPTH))
            seen += len(node)
            if seen > MAX_VALUES:
                raise BadBody(f"The JSON {what} holds more than {MAX_VALUES} values.")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
            size += sum(len(str(k)) for k in node) if isinstance(node, dict) else 0
        elif isinstance(node, str):
            size += len(node)
        elif isinstance(node, int) and abs(node) >= _TOO_MANY_DIGITS:
            raise BadBody(TOO_LONG.format(what=what, digits=MAX_DIGITS))
        if size > MAX_BYTES:
            raise TooLarge(TOO_LARGE)


def read(request, parser: Parser, *, empty: Any = None) -> Any:
    """The request's JSON body within the bounds; ``empty`` when there is no body at all
    (``NO_BODY`` tells it from a JSON ``null``)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise TooLarge(TOO_LARGE) from None
    if not raw:
        return empty
    if len(raw) > MAX_TEXT_BYTES:
        raise TooLarge(TOO_LARGE)
    try:
        value = parser.parse_body(request)
    except ApiError:
        raise
    except RecursionError:
        raise BadBody(TOO_DEEP.format(what="body", depth=MAX_DEPTH)) from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    except (ValueError, UnicodeDecodeError):
        # e.g. an integer of more than 4300 digits, or bytes that are not UTF-8
        raise BadBody("The body is not valid JSON.") from None
    check(value)
    return value


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()  # a request without a body, as `curl -X POST` sends: not JSON null


def require_object(value: Any) -> dict:
    """An operation's body: a JSON object, or no body at all (read as ``{}``, so an operation
    whose body fields all have defaults needs none). ``null``, a list, a string or a number is
    a 422 naming the body (a schema would read a list or a string as an object without
    attributes)."""
    if value is NO_BODY:
        return {}
    if not isinstance(value, dict):
        message = f"Send a JSON object, not {_json_kind(value)}."
        raise ValidationError([{"loc": ("body",), "msg": message, "type": "dict_type"}])
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise BadBody(f"The body gives the key {json.dumps(key)[:80]} twice.")
            seen.add(key)
    return obj


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BadBody(TOO_LONG.format(what="body", digits=MAX_DIGITS))
    return int(text)


class JsonParser(Parser):
    """django-ninja's JSON parser, refusing a key given twice in one object (parsers disagree
    on which one wins) with a clear message, as it does a number too long to read."""

    def parse_body(self, request) -> Any:
        return json.loads(request.body, object_pairs_hook=_unique_keys, parse_int=_int)
