"""What the webhook pages show, in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from fibe_access import keyring

from .models import Delivery

STRIP_LENGTH = 50
BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 5, 2, 22


def recent_outcomes(endpoint_ids: list[int], limit: int = STRIP_LENGTH) -> dict[int, list]:
    """The last ``limit`` deliveries of each endpoint, oldest first, in one query that reads
    only those rows (a UNION ALL of per-endpoint LIMITs where the database allows it)."""
    fields = (
        "id",
        "endpoint_id",
        "status",
        "is_test",
        "created_at",
        "attempt_count",
        "event__type",
    )
    newest = Delivery.objects.order_by("-created_at", "-id").values(*fields)
    if not endpoint_ids:
        return {}
    if connection.features.supports_slicing_ordering_in_compound:
        parts = [newest.filter(endpoint_id=pk)[:limit] for pk in endpoint_ids]
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    else:  # SQLite (make run's default): a window function over the endpoints' deliveries
        rows = (
            Delivery.objects.filter(endpoint_id__in=endpoint_ids)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("endpoint_id")],
                    order_by=[F("created_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=limit)
            .values(*fields)
        )
    out: dict[int, list] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["endpoint_id"], r["created_at"], r["id"])):
        out[row["endpoint_id"]].append(row)
    return out


def strip(outcomes: list[dict]) -> dict:
    """Bars for a server-drawn SVG strip: one bar per delivery, coloured by outcome."""
    bars = []
    for i, row in enumerate(outcomes):
        bars.append(
            {
                "x": i * (BAR_WIDTH + BAR_GAP),
                "status": row["status"],
                "title": f"{row['event__type']} · {row['status']}"
                f"{' · test' if row['is_test'] else ''} · "
                f"{row['created_at']:%Y-%m-%d %H:%M:%S} UTC",
            }
        )
    counts = defaultdict(int)
    for row in outcomes:
        counts[row["status"]] += 1
    return {
        "bars": bars,
        "width": max(1, len(bars) * (BAR_WIDTH + BAR_GAP) - BAR_GAP),
        "height": BAR_HEIGHT,
        "bar_width": BAR_WIDTH,
        "counts": dict(counts),
        "total": len(outcomes),
    }


def secret_hint(secret: str) -> str:
    return f"••••{secret[-4:]}" if secret else ""


def endpoint_secret_hint(endpoint) -> str:
    """The hint of an endpoint's secret; a page still shows when no key opens it."""
    try:
        return secret_hint(endpoint.secret)
    except keyring.UndecryptableError:
        return "(sealed with a key this server no longer has: rotate it)"


SIGNATURE_SNIPPET = '''import hashlib
import hmac


def is_from_fibe(secret: str, raw_body: bytes, header: str) -> bool:
    """header is the X-Playground-Signature value: "sha256=<hex>", or while a secret
    rotation overlaps, one signature per secret in use: "sha256=<hex> sha256=<hex>"."""
    expected = "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, sig) for sig in (header or "").split())
'''
