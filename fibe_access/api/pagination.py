"""Pages of a list: the ``limit``/``offset`` query every list takes, the schema of a page and
the slicing of a queryset into one."""

from __future__ import annotations

from ninja import Schema
from pydantic import Field


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


def page_of(item: type, name: str) -> type[Schema]:
    """The schema of a page of ``item``s."""
    fields = {"items": list[item], "count": int, "limit": int, "offset": int}
    return type(name, (Schema,), {"__annotations__": fields})


def paginate(qs, page: PageIn) -> dict:
    items = list(qs[page.offset : page.offset + page.limit])
    return {"items": items, "count": qs.count(), "limit": page.limit, "offset": page.offset}
