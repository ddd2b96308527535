"""Cost stays flat as the tables grow (issue 27): a month of webhook history, a year of security
log, 10 000 keys and 1 000 000 activity rows (bench/scale_seed.py), each measurement taken on
the busy account and on its small twin in the same database and the same run.

    DATABASE_URL=postgres://…/fibe_bench BENCH_SCALE=1.0 .venv/bin/python bench/scale.py

Uses its own throwaway database, "scale_" + the configured name, dropped at the end
(BENCH_SCALE_KEEP=1 keeps it). BENCH_SCALE=0.1 seeds a tenth, for a quick look.
Order: the freshly migrated database is copied as its empty twin, seed, three drains on each
in turns, twice a drain alone then one while a purge run removes an expired day, each beat
task, then the pages and every list of the API.
The last line of output is the figures as JSON, for bench/run.py.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fibe_bench")
os.environ["API_KEY_RATE_LIMIT_PER_MINUTE"] = "100000000"  # the bench asks thousands a minute
os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "1"
PHASES = os.environ.get("BENCH_SCALE_ONLY", "drain,beat,pages,api").split(",")
REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", 20))
# The API's pages hold as many rows on both sides (small has 10), so the ratio is the cost of
# depth and table size, not of a longer page.
API_LIMIT = 10
DEEP_ROWS = 30  # a deep page: the page older than the row this far from the oldest end


def scale_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/scale_" + url.path.lstrip("/")))


class Refused(Exception):
    """A page answered something else than 200: the row is left out, the rest goes on."""


def timed_pair(big, small, n: int = REQUESTS) -> dict:
    """``big`` and ``small`` return (status, body); interleaved, median time of ``n`` each."""
    big(), small()  # warm-up
    spent, size = {"big": [], "small": []}, {}
    for _ in range(n):
        for side, call in (("big", big), ("small", small)):
            started = time.perf_counter()
            status, body = call()
            spent[side].append(1000 * (time.perf_counter() - started))
            if status != 200:
                raise Refused(f"{side} answered {status}: {body[:200]!r}")
            size[side] = len(body)
    b, s = statistics.median(spent["big"]), statistics.median(spent["small"])
    return {
        "big_ms": b,
        "small_ms": s,
        "ratio": b / s,
        "big_kib": size["big"] / 1024,
        "small_kib": size["small"] / 1024,
        "bytes_ratio": size["big"] / size["small"],
    }


def measured(rows: dict, name: str, big, small) -> None:
    try:
        rows[name] = timed_pair(big, small)
    except Refused as exc:
        print(f"{name}: left out, {exc}")


def page_rows(shape) -> dict:
    from bench.pages import stepped_up_client

    big, small = stepped_up_client(shape.big), stepped_up_client(shape.small)

    def get(client, url):
        def call():
            response = client.get(url)
            return response.status_code, response.content

        return call

    deep = deep_positions(shape)
    pairs = {
        "delivery log, first page": (
            f"/profile/webhooks/{shape.big_endpoint.pk}/",
            f"/profile/webhooks/{shape.small_endpoint.pk}/",
        ),
        "delivery log, deep page": (
            f"/profile/webhooks/{shape.big_endpoint.pk}/?before={deep['big_delivery']}",
            f"/profile/webhooks/{shape.small_endpoint.pk}/?before={deep['small_delivery']}",
        ),
        "Profile → API Keys": ("/profile/api-keys/", "/profile/api-keys/"),
        "security log, first page": ("/profile/security/", "/profile/security/"),
        "security log, deep page": (
            f"/profile/security/?before={deep['big_security']}",
            f"/profile/security/?before={deep['small_security']}",
        ),
        "key activity, first page": (
            f"/profile/api-keys/{shape.big_key.pk}/",
            f"/profile/api-keys/{shape.small_key.pk}/",
        ),
        "key activity, deep page": (
            f"/profile/api-keys/{shape.big_key.pk}/?before={deep['big_activity']}",
            f"/profile/api-keys/{shape.small_key.pk}/?before={deep['small_activity']}",
        ),
    }
    rows: dict = {}
    for name, (b, s) in pairs.items():
        measured(rows, name, get(big, b), get(small, s))
    return rows


def deep_positions(shape) -> dict[str, str]:
    """The ``?before=`` cursor of a page deep in each list, as "Older →" would reach it (a page
    is found by position, fibe_access.keyset): the page older than the row DEEP_ROWS from the
    oldest end on the big side; on the small side (10 rows), older than its newest row."""
    from fibe_access import keyset
    from fibe_access.accounts.models import SecurityEvent
    from keys.activity_model import KeyActivity
    from webhooks.models import Delivery

    def cursor(qs, field: str, from_oldest: int) -> str:
        row = (
            qs.order_by(field, "pk")[from_oldest]
            if from_oldest
            else qs.order_by(f"-{field}", "-pk")[0]
        )
        return keyset.encode(keyset.position_of(row, field))

    return {
        "big_delivery": cursor(
            Delivery.objects.filter(endpoint=shape.big_endpoint), "created_at", DEEP_ROWS
        ),
        "small_delivery": cursor(
            Delivery.objects.filter(endpoint=shape.small_endpoint), "created_at", 0
        ),
        "big_security": cursor(
            SecurityEvent.objects.filter(user=shape.big), "created_at", DEEP_ROWS
        ),
        "small_security": cursor(SecurityEvent.objects.filter(user=shape.small), "created_at", 0),
        "big_activity": cursor(
            KeyActivity.objects.filter(key_id=shape.big_key.pk), "at", DEEP_ROWS
        ),
        "small_activity": cursor(KeyActivity.objects.filter(key_id=shape.small_key.pk), "at", 0),
    }


def list_operations() -> list[dict]:
    spec = json.loads((Path(__file__).resolve().parent.parent / "fibe_cli/spec.json").read_text())
    return [
        op
        for op in spec["operations"]
        if op["paged"] and op["path_params"] in ([], ["endpoint_id"])
    ]


def api_rows(shape) -> dict:
    """Every list of the API: first page and a page deep in the big account's rows (following
    ``next`` when the API answers one, else by ``offset``) against small's first page."""
    from django.test import Client

    from bench import scale_seed

    client = Client()

    def get(token, url):
        def call():
            response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
            return response.status_code, response.content

        return call

    rows = {}
    for op in list_operations():
        path = "/api/v1" + op["path"]
        big_path = path.replace("{endpoint_id}", str(shape.big_endpoint.pk))
        small_path = path.replace("{endpoint_id}", str(shape.small_endpoint.pk))
        small = get(shape.small_token, f"{small_path}?limit={API_LIMIT}")
        first = f"{big_path}?limit={API_LIMIT}"
        measured(rows, f"API {op['name']}, first page", get(shape.big_token, first), small)
        seeded = 20 if op["name"] == "webhooks.list" else scale_seed.sized(100_000)
        deep = deep_url(client, shape.big_token, big_path, seeded)
        measured(rows, f"API {op['name']}, deep page", get(shape.big_token, deep), small)
    return rows


def deep_url(client, token, path: str, rows: int) -> str:
    """A URL for a page of API_LIMIT rows near the end of the list (``rows`` seeded)."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def page(url, data=None) -> dict:
        response = client.get(url, data, **auth)
        return response.json() if response.status_code == 200 else {}

    def link(value: str) -> str:  # a URL, or a bare cursor
        return value if value.startswith(("/", "http")) else f"{path}?cursor={quote(value)}"

    first = page(path, {"limit": 200})
    if first.get("next"):  # cursors: walk to the end, keep the last page's link
        url, walked = link(first["next"]), 0
        while walked < 2000:
            following = page(url).get("next")
            if not following:
                break
            url, walked = link(following), walked + 1
        parts = urlsplit(url)
        query = {**dict(parse_qsl(parts.query)), "limit": str(API_LIMIT)}
        return urlunsplit(parts._replace(query=urlencode(query)))
    count = first.get("count") if isinstance(first.get("count"), int) else rows
    return f"{path}?limit={API_LIMIT}&offset={max(0, count - API_LIMIT)}"


def report(figures: dict) -> None:
    print(f"\n{'measurement':<46}{'small':>10}{'big':>10}{'ratio':>8}{'KiB s/b':>16}")
    for name, row in figures.get("pages", {}).items():
        print(
            f"{name:<46}{row['small_ms']:>8.1f}ms{row['big_ms']:>8.1f}ms{row['ratio']:>8.2f}"
            f"{row['small_kib']:>8.0f}/{row['big_kib']:<7.0f}"
        )
    for name, row in figures.get("beat", {}).items():
        print(
            f"beat {name:<41}{'':>10}{row['ms']:>8.1f}ms   seq scans on big tables: "
            f"{row['seq_scans']}"
        )
    if "drain" not in figures:
        return
    d = figures["drain"]
    print(
        f"drain {figures['drain_events']} deliveries: empty tables {d['small']:.0f}/s "
        f"({d['small_cpu_ms']:.2f} ms worker CPU each), seeded {d['big']:.0f}/s "
        f"({d['big_cpu_ms']:.2f} ms), ratio {d['big'] / d['small']:.2f}; beside a purge / alone "
        + " and ".join(f"{r:.2f}" for r in d["purge_ratios"])
        + f", mean {d['purge_ratio']:.2f}"
    )
    p = figures["purge"]
    print(
        f"purge   {p['purged_events']} events in {p['purge_s']:.1f} s, {p['statements']} "
        f"statements, longest {1000 * p['longest_s']:.0f} ms, longest touching deliveries "
        f"{1000 * p['longest_on_deliveries_s']:.0f} ms; overlap with the drain "
        f"{100 * p.get('overlap', 0):.0f}%\n        the longest: {p['longest_sql']}"
    )


def _admin(url: str):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def create_twin(url: str) -> str:
    """An empty copy of the freshly migrated database at ``url``: the drain's small side,
    measured in turns with the seeded one."""
    name = url.rsplit("/", 1)[1]
    drop_twin(url)
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}_empty" TEMPLATE "{name}"')
    return url + "_empty"


def drop_twin(url: str) -> None:
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}_empty"')


def main() -> None:
    import django

    url = scale_url()
    os.environ["DATABASE_URL"] = url
    keep = os.environ.get("BENCH_SCALE_KEEP") == "1"
    tmp = Path(tempfile.mkdtemp(prefix="fibe-scale-"))
    from tests.support.servers import RedisServer

    redis = RedisServer(tmp)
    os.environ["REDIS_URL"] = redis.url
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench import scale_beat, scale_seed

    setup_test_environment()
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = db["NAME"]  # already "scale_…": create it as is
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    drains = scale_beat.Drains(tmp, redis, dict(os.environ))
    figures = {"drain_events": scale_beat.DRAIN_EVENTS, "scale": scale_seed.SCALE}
    try:

        def best(runs):
            return max(runs, key=lambda r: r["rate"])

        if "drain" in PHASES:  # the empty twin: a copy of the migrated, empty database
            connection.close()
            twin = create_twin(url)
        shape = scale_seed.seed()
        figures["seed_s"], figures["counts"] = shape.seconds, shape.counts
        print(
            f"seeded in {shape.seconds:.0f} s (BENCH_SCALE={scale_seed.SCALE}): "
            + ", ".join(f"{k} {v}" for k, v in shape.counts.items())
        )
        if "drain" in PHASES:
            # Interleaved, best of three each side: other work on the machine moves both.
            runs = [(drains.drain(database_url=twin), drains.drain()) for _ in "abc"]
            small, big = best([s for s, _ in runs]), best([b for _, b in runs])
            figures["drain"] = {
                "small": small["rate"],
                "small_cpu_ms": small["cpu_ms"],
                "big": big["rate"],
                "big_cpu_ms": big["cpu_ms"],
            }
            # One expired day purged beside each of two drains, each right after a drain
            # alone: the figure is the mean of the two pairs' ratios.
            purge = partial(scale_beat.purge_timed, scale_seed.EXPIRED_DAY)
            pairs = [(drains.drain(), drains.drain(during=purge)) for _ in "ab"]
            ratios = [w.get("rate_in_purge", 0) / alone["rate"] for alone, w in pairs]
            figures["drain"]["purge_ratios"] = ratios
            figures["drain"]["purge_ratio"] = statistics.mean(ratios)
            figures["purge"] = max((w for _, w in pairs), key=lambda r: r["longest_s"])
        if "beat" in PHASES:
            figures["beat"] = scale_beat.measure_beat()
        if "pages" in PHASES:
            figures["pages"] = page_rows(shape)
        if "api" in PHASES:
            figures["pages"] = {**figures.get("pages", {}), **api_rows(shape)}
        report(figures)
    finally:
        drains.stop()
        redis.stop()
        if not keep:
            connection.creation.destroy_test_db(db["NAME"], verbosity=0)
        drop_twin(url)
    print("BENCH-JSON " + json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
