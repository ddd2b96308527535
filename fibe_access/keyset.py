"""Keyset pagination (issue 27): a page of a list ordered newest first by a time and the id,
reached from a position in the list instead of an offset, so the thousandth page costs what
the first does (an index range scan of one page, never a count or an OFFSET that grows).

A position is the (time, id) of a row, written as a cursor: 16 bytes (microseconds since the
epoch and the id, both signed 64-bit, big-endian) in URL-safe base64 without padding, so always
22 characters of ``[A-Za-z0-9_-]``. Every such string decodes to some position (the API's
schema can therefore describe a cursor exactly: each string it allows is accepted), and a
position only says where to start: the filters of the list (its owner, a key's restriction)
are applied as always, so a forged cursor shows nothing it should not.

Pages (``page``) walk both ways: ``before`` (older than a row: "Older →") and ``after``
(newer: "← Newer"). The API walks forward only (``fibe_access.api.pagination``)."""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

CURSOR_LENGTH = 22
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{{CURSOR_LENGTH}}}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST = datetime(1, 1, 2, tzinfo=UTC)  # a day inside datetime's range, in any time zone
_LAST = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Position:
    at: datetime
    id: int


def encode(position: Position) -> str:
    micros = (position.at - _EPOCH) // timedelta(microseconds=1)
    raw = struct.pack(">qq", micros, position.id)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str | None) -> Position | None:
    """The position a cursor names, or None when it is not a cursor at all (wrong length or
    alphabet). A time beyond what a datetime holds is taken as the first or last day it holds."""
    if not text or not _CURSOR.match(text):
        return None
    try:
        micros, pk = struct.unpack(">qq", base64.urlsafe_b64decode(text + "=="))
    except (binascii.Error, struct.error):  # pragma: no cover - the pattern rules both out
        return None
    try:
        at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        at = _FIRST if micros < 0 else _LAST
    return Position(min(max(at, _FIRST), _LAST), pk)


def position_of(row, field: str = "created_at") -> Position:
    return Position(getattr(row, field), row.pk)


def older_than(qs: QuerySet, position: Position, field: str = "created_at") -> QuerySet:
    """The rows after ``position`` in newest-first order: (field, id) < (at, id). Written so
    the index on the field bounds the scan (``field <= at``) and ties are settled by the id."""
    return qs.filter(
        Q(**{f"{field}__lte": position.at}),
        Q(**{f"{field}__lt": position.at}) | Q(pk__lt=position.id),
    )


def newer_than(qs: QuerySet, position: Position, field: str = "created_at") -> QuerySet:
    return qs.filter(
        Q(**{f"{field}__gte": position.at}),
        Q(**{f"{field}__gt": position.at}) | Q(pk__gt=position.id),
    )


def newest_first(qs: QuerySet, field: str = "created_at") -> QuerySet:
    return qs.order_by(f"-{field}", "-pk")


@dataclass
class Page:
    """One page of a list, newest first, with the cursors of the pages either side (None when
    there is nothing that way)."""

    items: list
    older: str | None = None  # ?before=…: the next page, older rows
    newer: str | None = None  # ?after=…: the previous page, newer rows

    @property
    def has_other_pages(self) -> bool:
        return bool(self.older or self.newer)


def page(
    qs: QuerySet,
    *,
    size: int,
    before: str | None = None,
    after: str | None = None,
    field: str = "created_at",
) -> Page:
    """The page of ``qs`` older than the cursor ``before``, or newer than ``after``, or the
    newest; one query of at most ``size + 1`` rows (two at the newest end of an ``after`` walk,
    which shows the first page). A cursor that is not one reads as no cursor."""
    start, end = decode(before), decode(after)
    if end is not None and start is None:
        rows = list(newer_than(qs, end, field).order_by(field, "pk")[: size + 1])
        if len(rows) > size:  # newer rows beyond this page still
            rows = rows[:size][::-1]
            return Page(rows, older=_cursor(rows[-1], field), newer=_cursor(rows[0], field))
        # reached the newest rows: show the first page itself
        return page(qs, size=size, field=field)
    ordered = newest_first(qs, field)
    if start is not None:
        ordered = older_than(ordered, start, field)
    rows = list(ordered[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    return Page(
        rows,
        older=_cursor(rows[-1], field) if more else None,
        newer=(_cursor(rows[0], field) if rows else encode(start)) if start is not None else None,
    )


def _cursor(row, field: str) -> str:
    return encode(position_of(row, field))


def query_without_position(params) -> str:
    """A page's query string (its filters) without the position, for the pager's links."""
    query = params.copy()
    for name in ("before", "after", "page"):
        query.pop(name, None)
    return query.urlencode()
