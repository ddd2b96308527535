"""The shape bench/scale.py measures: a month of webhook history, a year of security log,
10 000 keys and a month of their activity, seeded in bulk into the scale database.

Each table gets one template row made through the ORM (or the real service, for keys), then
``clone`` copies it server-side with ``INSERT … SELECT … FROM generate_series`` and overrides
the columns that must vary (owner, time, unique digests). Every size is multiplied by
BENCH_SCALE (default 1.0); the small twin (account ``small``: 10 keys, an endpoint with 10
deliveries, 10 log rows, 10 rows of each list) never is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
DAY = 86400
TWIN = 10  # rows of the small twin, whatever the scale


def sized(n: int) -> int:
    return max(TWIN * 2, int(n * SCALE))


EXPIRED_DAY = sized(10_000)  # events of one expired day


@dataclass
class Shape:
    """What the measurements need to find again."""

    big: object = None  # the busy account
    small: object = None  # its twin
    big_endpoint: object = None  # 100 000 deliveries
    small_endpoint: object = None  # 10
    big_token: str = ""  # a key of ``big`` with every read scope and 100 000 activity rows
    small_token: str = ""
    big_key: object = None
    small_key: object = None
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0


def clone(model, template_pk, n, over, *, source=None, where="", **params) -> tuple[int, int]:
    """Insert ``n`` copies of row ``template_pk`` of ``model`` (one per ``g`` of
    generate_series, or per row of ``source``), ``over`` giving SQL for the columns that vary.
    Returns the (first, last) id inserted: one statement in a database nobody else writes,
    so the ids are contiguous."""
    table = model._meta.db_table
    cols = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    exprs = [over.get(c, f"t.{c}") for c in cols]
    source = source or "generate_series(1, %(n)s) g"
    # Table and column names from the models, SQL expressions from this file.
    sql = (
        f"WITH ins AS (INSERT INTO {table} ({', '.join(cols)}) "  # noqa: S608
        f"SELECT {', '.join(exprs)} FROM {table} t, {source} WHERE t.id = %(tpl)s {where} "
        f"RETURNING id) SELECT min(id), max(id), count(*) FROM ins"
    )
    with connection.cursor() as cur:
        cur.execute(sql, {"n": n, "tpl": template_pk, "now": timezone.now(), **params})
        lo, hi, count = cur.fetchone()
    assert source != "generate_series(1, %(n)s) g" or count == n, (table, count, n)
    return lo, hi


def ago(offset_s: float, span_s: float) -> str:
    """SQL for row ``g`` of ``n`` spread evenly, newest first, from ``offset_s`` to
    ``offset_s + span_s`` seconds before now."""
    return f"%(now)s - make_interval(secs => {offset_s} + {span_s} * (g - 1)::float8 / %(n)s)"


def pick(array_param: str) -> str:
    """SQL for one element of an int array parameter, cycling with ``g``."""
    return f"(%({array_param})s::bigint[])[1 + mod(g, cardinality(%({array_param})s::bigint[]))]"


def seed() -> Shape:
    from tests.support.factories import UserFactory

    started = time.monotonic()
    shape = Shape()
    shape.big = UserFactory(email="big@scale.example")
    shape.small = UserFactory(email="small@scale.example")
    others = _users(shape.small, 98)
    _resources(shape, others)
    _webhooks(shape, others)
    _keys(shape, others)
    _security_log(shape, others)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
        # Write the seed's pages out now, not during the drains measured next.
        cur.execute("CHECKPOINT")
    shape.seconds = time.monotonic() - started
    return shape


def _users(template, n: int) -> list[int]:
    from fibe_access.accounts.models import User

    lo, hi = clone(
        User,
        template.pk,
        n,
        {
            "email": "'other' || g || '@scale.example'",
            "email_canonical": "'other' || g || '@scale.example'",
        },
    )
    return list(range(lo, hi + 1))


def _resources(shape: Shape, others: list[int]) -> None:
    """100 000 rows of each family for ``big`` (every list of the API), 10 for ``small``."""
    from fibe_access.resources.registry import FAMILIES
    from tests.support.factories import resource_make

    n = sized(100_000)
    for family in FAMILIES.values():
        tpl = resource_make(family.model, shape.big)
        over = {"name": "'row ' || g", "created_at": ago(60, 365 * DAY)}
        over["updated_at"] = over["created_at"]
        clone(family.model, tpl.pk, n - 1, over)
        clone(family.model, tpl.pk, TWIN, {**over, "owner_id": "%(small)s"}, small=shape.small.pk)
        shape.counts[f"{family.name} rows of big"] = n


def _webhooks(shape: Shape, others: list[int]) -> None:
    from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint
    from webhooks.publish import serialise

    def endpoint(owner):
        return WebhookEndpoint.objects.create(
            owner=owner,
            url="https://hooks.example.com/in",
            events=["playground.created"],
            secret="scale-secret",  # noqa: S106
        )

    shape.big_endpoint, shape.small_endpoint = endpoint(shape.big), endpoint(shape.small)
    lo, hi = clone(WebhookEndpoint, shape.big_endpoint.pk, 19, {})
    lo2, hi2 = clone(
        WebhookEndpoint, shape.big_endpoint.pk, 1978, {"owner_id": pick("o")}, o=others
    )
    spread = [*range(lo, hi + 1), *range(lo2, hi2 + 1)]
    body = serialise(
        event="playground.created",
        data={"id": 1, "name": "pg", "status": "running"},
        at=timezone.now(),
    )
    event = Event.objects.create(type="playground.created", owner=shape.big, body=body)
    delivery = Delivery.objects.create(
        event=event, endpoint=shape.big_endpoint, status="succeeded", attempt_count=3
    )
    attempt = Attempt.objects.create(
        delivery=delivery,
        number=1,
        trigger="scheduled",
        request_url=shape.big_endpoint.url,
        request_headers={"webhook-id": str(delivery.uid)},
        request_body=body,
        response_status=200,
        response_body="ok",
        duration_ms=42,
    )
    tpl = (event.pk, delivery.pk, attempt.pk)
    month = (120, 30 * DAY - 4 * 3600)  # all inside WEBHOOKS_LOG_RETENTION
    # 100 000 deliveries (over 34 000 events) to big's endpoint, 200 000 over the other 1 999.
    history = [
        (shape.big.pk, [shape.big_endpoint.pk], sized(34_000), sized(100_000), month),
        (None, spread, sized(66_000), sized(200_000), month),
        # Two days past the retention, each what one day's purge removes (~33 000 deliveries,
        # 110 000 attempts): the bench purges one during each of two drains.
        *[
            (None, spread, EXPIRED_DAY, sized(33_000), ((30 + d) * DAY + 3600, DAY - 7200))
            for d in (0, 1)
        ],
    ]
    for owner, endpoints, n_events, n_deliveries, window in history:
        _history(tpl, owner or others, endpoints, n_events, n_deliveries, window)
    _history(tpl, [shape.small.pk], [shape.small_endpoint.pk], TWIN, TWIN, month)
    for model in (Event, Delivery, Attempt):
        shape.counts[model._meta.db_table] = model.objects.count()


def _history(tpl, owners, endpoints, n_events, n_deliveries, window) -> None:
    from webhooks.models import Attempt, Delivery, Event

    event_tpl, delivery_tpl, attempt_tpl = tpl
    offset, span = window
    owners = owners if isinstance(owners, list) else [owners]
    ev_lo, _ = clone(
        Event,
        event_tpl,
        n_events,
        {"owner_id": pick("o"), "created_at": ago(offset, span)},
        o=owners,
    )
    at = ago(offset, span)
    # A delivery's event is the one published at about the same time; a few stay open (retrying,
    # due later); one in fifty failed; 3 or 4 attempts each (1 000 000 over 300 000).
    lo, hi = clone(
        Delivery,
        delivery_tpl,
        n_deliveries,
        {
            "uid": "gen_random_uuid()",
            "event_id": "%(ev)s + ((g - 1) * %(ne)s::bigint / %(n)s)",
            "endpoint_id": pick("e"),
            "status": "CASE WHEN mod(g, 1000) = 7 THEN 'retrying' "
            "WHEN mod(g, 50) = 0 THEN 'failed' ELSE 'succeeded' END",
            "attempt_count": "CASE WHEN mod(g, 3) = 0 THEN 4 ELSE 3 END",
            "next_attempt_at": "CASE WHEN mod(g, 1000) = 7 THEN %(now)s + interval '1 hour' END",
            "created_at": at,
            "updated_at": at,
        },
        ev=ev_lo,
        ne=n_events,
        e=endpoints,
    )
    clone(
        Attempt,
        attempt_tpl,
        None,
        {
            "delivery_id": "d.id",
            "number": "k",
            "response_status": "CASE WHEN k = d.attempt_count AND d.status = 'succeeded' "
            "THEN 200 ELSE 500 END",
            "created_at": "d.created_at + make_interval(mins => k)",
        },
        source="webhooks_delivery d, generate_series(1, d.attempt_count) k",
        where="AND d.id BETWEEN %(lo)s AND %(hi)s",
        lo=lo,
        hi=hi,
    )


def _keys(shape: Shape, others: list[int]) -> None:
    """10 000 keys, 500 of them big's (a mix), 10 small's; 1 000 000 activity rows, 100 000
    of them on big's read key, a few past the retention."""
    from fibe_access.resources.models import Playground
    from fibe_access.resources.registry import FAMILIES
    from keys.activity_model import KeyActivity
    from keys.models import ApiKey
    from tests.support.factories import api_key_make

    reads = [f"{name}:read" for name in FAMILIES] + ["webhooks:read"]
    shape.big_key, shape.big_token = api_key_make(shape.big, *reads, label="reader")
    shape.small_key, shape.small_token = api_key_make(shape.small, *reads, label="reader")
    pgs = list(Playground.objects.filter(owner=shape.big).values_list("pk", flat=True)[:3])
    mix = [
        api_key_make(shape.big, "playgrounds:read", label="plain")[0],
        api_key_make(
            shape.big, "playgrounds:read", label="restricted", restrictions={"playgrounds": pgs}
        )[0],
        api_key_make(shape.big, "playgrounds:read", "launch:write", label="agent", is_agent=True)[
            0
        ],
        api_key_make(
            shape.big,
            "playspecs:manage",
            label="expiring",
            expires_at=timezone.now() + timedelta(days=90),
        )[0],
    ]
    digest = "md5(random()::text || g) || md5(g || random()::text)"
    over = {"label": "'key ' || g", "digest": digest, "created_at": ago(60, 365 * DAY)}
    for tpl in mix:
        clone(ApiKey, tpl.pk, 124, over)  # with reader and the templates: 500
    for i in range(9):
        api_key_make(shape.small, "playgrounds:read", label=f"small {i}")
    lo, hi = clone(ApiKey, mix[0].pk, sized(9490), {**over, "owner_id": pick("o")}, o=others)
    shape.counts["keys"] = ApiKey.objects.count()
    row = KeyActivity.objects.create(
        key=shape.big_key,
        at=timezone.now(),
        door="rest",
        operation="playgrounds.list",
        status=200,
        duration_ms=7,
        ip="192.0.2.1",
    )
    activity = {
        "at": ago(30, 30 * DAY - 3600),
        "status": "CASE WHEN mod(g, 20) = 0 THEN 404 ELSE 200 END",
    }
    clone(KeyActivity, row.pk, sized(100_000) - 1, activity)
    clone(KeyActivity, row.pk, TWIN, {**activity, "key_id": "%(k)s"}, k=shape.small_key.pk)
    keys = list(range(lo, hi + 1))
    clone(KeyActivity, row.pk, sized(890_000), {**activity, "key_id": pick("k")}, k=keys)
    past = {"at": ago(30 * DAY + 60, 3600), "key_id": pick("k")}
    clone(KeyActivity, row.pk, sized(10_000), past, k=keys)  # for the trim to find
    shape.counts["keys_keyactivity"] = KeyActivity.objects.count()
    # the hourly counts the activity writer keeps beside the rows (keys.activity.values_write)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO keys_keyactivityhour (key_id, hour, total, failed) "
            "SELECT key_id, date_trunc('hour', at), count(*), "
            "count(*) FILTER (WHERE status >= 400) FROM keys_keyactivity GROUP BY 1, 2"
        )


def _security_log(shape: Shape, others: list[int]) -> None:
    """A year of it: 5 000 rows for big (the most an account keeps), 10 for small, 195 000 over
    the other accounts, a day of which is past the retention."""
    from fibe_access.accounts.models import SecurityEvent

    row = SecurityEvent.objects.create(
        user=shape.big,
        kind="signed_in",
        ip="192.0.2.1",
        user_agent="Mozilla/5.0 (bench)",
        detail={"source": "web"},
    )
    year = ago(60, 364 * DAY)
    clone(SecurityEvent, row.pk, 4999, {"created_at": year})
    clone(SecurityEvent, row.pk, TWIN, {"created_at": year, "user_id": "%(u)s"}, u=shape.small.pk)
    clone(
        SecurityEvent,
        row.pk,
        sized(195_000),
        {"created_at": ago(60, 366 * DAY), "user_id": pick("o")},
        o=others,
    )
    shape.counts["accounts_securityevent"] = SecurityEvent.objects.count()
