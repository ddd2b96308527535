"""What commands print. ``--json``: only JSON on stdout. Otherwise a table: drawn by Rich
(imported only then) when stdout is a terminal, coloured unless ``NO_COLOR`` is set, which
Rich honours; plain tab-separated text when it is not, so pipes get lines to cut and grep."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

HEADER_STYLE = "bold cyan"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def message(text: str) -> None:
    """Progress and confirmations go to stderr, so stdout holds only the result."""
    print(text, file=sys.stderr)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if all(isinstance(v, str | int | float) for v in value):
            return ", ".join(str(v) for v in value) or "-"
        return f"{len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def table(rows: Iterable[dict], columns: list[str]) -> None:
    """One row per record, one column per field."""
    rows = list(rows)
    if sys.stdout.isatty():
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        grid = Table(box=box.SIMPLE_HEAD, header_style=HEADER_STYLE, show_edge=False)
        for column in columns:
            grid.add_column(column, overflow="fold")
        for row in rows:
            grid.add_row(*(Text(cell(row.get(c))) for c in columns))
        Console(highlight=False).print(grid)
        return
    _plain([columns, *([cell(row.get(c)) for c in columns] for row in rows)])


def record(pairs: Iterable[tuple[str, Any]]) -> None:
    """One record as field / value lines."""
    pairs = [(name, cell(value)) for name, value in pairs]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        grid = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        grid.add_column(style=HEADER_STYLE, no_wrap=True)
        grid.add_column(overflow="fold")
        for name, value in pairs:
            grid.add_row(name, Text(value))
        Console(highlight=False).print(grid)
        return
    _plain(pairs)


def _plain(lines: Iterable[Iterable[str]]) -> None:
    for line in lines:
        sys.stdout.write("\t".join(" ".join(str(v).split()) for v in line) + "\n")


def key_pairs(me: dict) -> list[tuple[str, Any]]:
    """How a key describes itself (``GET /api/v1/me``), field by field."""
    restrictions = me.get("restrictions") or {}
    return [
        ("owner", me.get("owner_email")),
        ("key", f"{me.get('label')} (id {me.get('id')})"),
        ("scopes", me.get("scopes")),
        (
            "restrictions",
            "; ".join(f"{f}: {', '.join(map(str, ids))}" for f, ids in restrictions.items())
            or "none",
        ),
        ("expires", me.get("expires_at") or "never"),
        ("agent key", bool(me.get("is_agent"))),
        ("rate limit", f"{me.get('rate_limit_per_minute')} requests a minute"),
    ]
