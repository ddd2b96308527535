"""The README's table of MCP tools and the scope each needs, generated from the registry
(``scripts/mcpdocs.py`` rewrites it between its markers; a test fails when it drifts)."""

from __future__ import annotations

import re
from pathlib import Path

from fibe_access.api.operations import REGISTRY, Restriction
from keys import scopes

from . import tools

START, END = "<!-- mcp-tools:start -->", "<!-- mcp-tools:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"


def table() -> str:
    rows = ["| tool | scope | kind | a key restricted on |", "|---|---|---|---|"]
    for op in REGISTRY.values():
        if op.scope is None:
            scope = "any key"
        else:
            also = scopes.ALSO_SATISFIED_BY.get(op.scope, ())
            scope = " or ".join(f"`{s}`" for s in (op.scope, *sorted(also)))
        kind = "read" if op.read_only else ("destructive" if op.destructive else "write")
        restriction = f"`{op.family}`: {Restriction.DOCS[op.restriction]}" if op.family else ""
        rows.append(f"| `{tools.tool_name(op)}` | {scope} | {kind} | {restriction} |")
    return "\n".join(rows)


def block() -> str:
    return f"{START}\n{table()}\n{END}"


def current(text: str) -> str | None:
    found = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    return found.group(0) if found else None


def write(path: Path = README) -> bool:
    """Rewrite the block in ``path``; True when it changed."""
    text = path.read_text()
    old = current(text)
    if old is None:
        raise SystemExit(f"{path}: no {START} … {END} block")
    if old == block():
        return False
    path.write_text(text.replace(old, block()))
    return True
