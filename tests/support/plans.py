"""Query plans for tests that check a statement runs on an index (never its time).

On a test database's few rows PostgreSQL rightly prefers a sequential scan, so the plan is
asked with sequential scans disabled: a table the planner still reads sequentially, or reads
through a whole index with no condition on it, has no index that serves the statement."""

from __future__ import annotations

import json

from django.db import connection, transaction


def plan(sql: str, params=None) -> dict:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        found = cur.fetchone()[0]
    return (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def unindexed(sql: str, params=None) -> set[str]:
    """The tables ``sql`` reads without an index condition, sequential scans disabled."""
    found = set()
    for node in _nodes(plan(sql, params)):
        kind = node["Node Type"]
        if kind == "Seq Scan":
            found.add(node["Relation Name"])
        elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
            found.add(node["Relation Name"])
    return found


def index_conditions(sql: str, params=None) -> list[str]:
    """Every index condition of the plan, e.g. "(failing_since <= …)"."""
    return [n["Index Cond"] for n in _nodes(plan(sql, params)) if "Index Cond" in n]


def statements(captured, verbs=("SELECT", "UPDATE", "DELETE")) -> list[str]:
    """The distinct SQL of a CaptureQueriesContext, in order, of the given verbs."""
    seen: list[str] = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.lstrip().split(None, 1)[0].upper() in verbs and sql not in seen:
            seen.append(sql)
    return seen
