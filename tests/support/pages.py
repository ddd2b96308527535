"""Walking a keyset pager (fibe_access.keyset) as a person would, and the shape of the SQL a
page ran: a page costs the same however long its list (issue 27)."""

from __future__ import annotations

import html
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

OLDER = re.compile(r'<a href="(\?[^"]*)" rel="next">Older →</a>')
NEWER = re.compile(r'<a href="(\?[^"]*)" rel="prev">← Newer</a>')


def link(page: str, which: re.Pattern) -> str | None:
    found = which.search(page)
    return html.unescape(found.group(1)) if found else None


def walk(client, path: str) -> list[str]:
    """Every page of the list at ``path``, following "Older →" to the end."""
    pages, url = [], path
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
        more = link(pages[-1], OLDER)
        url = path.split("?")[0] + more if more else None
        assert len(pages) < 100, "the pager does not end"
    return pages


class Sql:
    """The statements a request ran, captured; ``on(table)`` those naming ``table``."""

    def __init__(self, client, url: str):
        with CaptureQueriesContext(connection) as ctx:
            self.response = client.get(url)
        assert self.response.status_code == 200, url
        self.statements = [q["sql"] for q in ctx.captured_queries]

    def on(self, table: str) -> list[str]:
        return [s for s in self.statements if f'"{table}"' in s]

    def __len__(self) -> int:
        return len(self.statements)


def assert_flat(statements: list[str], *, limit: int) -> None:
    """Reads of a page: at least one, none with an OFFSET or a COUNT, the page's a LIMIT of
    one row more than a page."""
    assert statements
    for sql in statements:
        assert not re.search(r"\bOFFSET\b", sql, re.I), sql
        assert "COUNT(" not in sql.upper(), sql
    assert any(re.search(rf"\bLIMIT {limit + 1}\b", s) for s in statements), statements
