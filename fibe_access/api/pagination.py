"""Pages of a list (issue 27: the cost of a page does not grow with the list).

Every list takes ``limit`` and ``offset``; a list ordered newest first also takes ``cursor``,
the opaque position the previous page's ``next`` gave (``fibe_access.keyset``): the page starts
just after it, found through the index like the first page, however deep. ``offset`` is at most
``MAX_OFFSET`` (beyond it, a 422 naming ``offset`` whose rule says to follow ``next``) and,
with a cursor, counts from the cursor. ``count`` is the number of items in the whole list
counted up to ``COUNT_CAP``: when the list holds more, ``count`` is ``COUNT_CAP`` and
``count_exact`` false. No page query has an OFFSET beyond ``MAX_OFFSET`` and no count reads
more than ``COUNT_CAP + 1`` rows."""

from __future__ import annotations

from django.db.models.expressions import RawSQL
from ninja import Schema
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from fibe_access import keyset

MAX_LIMIT = 200
MAX_OFFSET = 10_000
COUNT_CAP = 1_000

OFFSET_HELP = (
    f"Items to skip (at most {MAX_OFFSET:,}; after `cursor` when one is given). For a page "
    "deeper than that, pass the previous page's `next` as `cursor`."
)
CURSOR_HELP = (
    "Start after this position: the `next` of the previous page (an opaque string of 22 "
    "characters). Every page costs the same however deep, unlike `offset`."
)


class OffsetPageIn(Schema):
    """A page of a list that cannot grow long (a repository's files: at most 1 000)."""

    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Items per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


class PageIn(OffsetPageIn):
    """A page of a list ordered newest first: by offset, or from a cursor."""

    # the maximum is checked below, so the 422 past it says what to do instead
    offset: int = Field(0, ge=0, description=OFFSET_HELP, json_schema_extra={"maximum": MAX_OFFSET})
    cursor: str | None = Field(None, pattern=keyset.CURSOR_PATTERN, description=CURSOR_HELP)

    @field_validator("offset")
    @classmethod
    def _not_too_deep(cls, value: int) -> int:
        if value > MAX_OFFSET:
            raise PydanticCustomError(
                "too_deep",
                f"at most {MAX_OFFSET}: for a deeper page pass the previous page's `next` as "
                "`cursor`.",
            )
        return value


def page_of(item: type, name: str, *, cursor: bool = True) -> type[Schema]:
    """The schema of a page of ``item``s (with ``next`` when the list takes a cursor)."""
    fields = {
        "items": list[item],
        "count": int,
        "count_exact": bool,
        "limit": int,
        "offset": int,
    }
    defaults = {
        "count": Field(
            description="Items in the whole list; when `count_exact` is false, at least this "
            f"many (counting stops at {COUNT_CAP:,})."
        ),
        "count_exact": Field(description="False when the list holds more than `count`."),
    }
    if cursor:
        fields["next"] = str | None
        defaults["next"] = Field(
            description="The `cursor` of the next page; null on the last page."
        )
    return type(name, (Schema,), {"__annotations__": fields, **defaults})


def _capped_count(qs) -> RawSQL:
    """How many rows ``qs`` holds, counted up to ``COUNT_CAP + 1``: SQL a page's query selects
    beside its rows, so a page is one round trip however long its list."""
    sql, params = qs.order_by().values("pk")[: COUNT_CAP + 1].query.sql_with_params()
    # the SQL is Django's own for ``qs`` (its values stay parameters): nothing from a request
    return RawSQL(f"SELECT COUNT(*) FROM ({sql}) AS capped", params)  # noqa: S608, S611


def paginate(qs, page: OffsetPageIn, *, field: str = "created_at") -> dict:
    """One page of ``qs``: with a ``PageIn``, newest first by (``field``, id) from the cursor;
    with an ``OffsetPageIn``, in the queryset's own order. One statement: ``limit + 1`` rows,
    each carrying the capped count as a scalar subquery (evaluated once); a second only for an
    empty page past the end."""
    start = None
    if isinstance(page, PageIn):
        qs = keyset.newest_first(qs, field)
        start = keyset.decode(page.cursor)
    window = keyset.older_than(qs, start, field) if start else qs
    window = window.annotate(_capped_count=_capped_count(qs))
    rows = list(window[page.offset : page.offset + page.limit + 1])
    more, items = len(rows) > page.limit, rows[: page.limit]
    if start is None and not more and (items or page.offset == 0):
        count, exact = page.offset + len(items), True
    else:
        counted = rows[0]._capped_count if rows else qs.order_by()[: COUNT_CAP + 1].count()
        count, exact = min(counted, COUNT_CAP), counted <= COUNT_CAP
    out = {
        "items": items,
        "count": count,
        "count_exact": exact,
        "limit": page.limit,
        "offset": page.offset,
    }
    if isinstance(page, PageIn):
        out["next"] = keyset.encode(keyset.position_of(items[-1], field)) if more else None
    return out
