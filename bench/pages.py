"""What the management pages cost as an account grows: Profile → API Keys with 1, 10, 200 and
500 keys, an endpoint's delivery log with 1, 10 and 5000 deliveries (2 attempts each) and its
deepest page, the security log with 10 and 5000 rows (first and deepest page), and a key's
activity timeline with 10 and 20 000 rows, through the whole Django stack (sessions, step-up,
templates), in interleaved rounds of the same run.

    .venv/bin/python bench/pages.py [--requests 30]

For each page and size: database queries per request and median server time. Ratios are against
the 1- and 10-row pages of the same run. Targets: the query count does not grow with the rows
(no query per row: 200 and 500 keys against 10, since restricted keys add one query in all to
name their resources, and the 1-key page has none); every list pages by position (issue 27),
so its big page, first or deepest, costs within 1.5x of the 10-row one, and the keys page of
500 keys weighs within 2x of 10 keys'.

Uses fibe_access.settings_test (DATABASE_URL / REDIS_URL) and its own throwaway database
("bench_pages_" + the configured name), created and dropped here. The last line of output is
the figures as JSON, for bench/run.py.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench.sql import capture  # noqa: E402

KEY_SIZES = (1, 10, 200, 500)
DELIVERY_SIZES = (1, 10, 5000)
SECURITY_SIZES = (10, 5000)
ACTIVITY_SIZES = (10, 20000)


def stepped_up_client(user) -> Client:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from fibe_access.accounts import stepup

    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[stepup.SESSION_KEY] = time.time()
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def measure(targets: dict, n: int) -> dict:
    """Each page of ``targets`` (name → (client, url)) ``n`` times, in interleaved rounds (a
    busy machine slows every page alike): its queries, median server time and size."""
    rows, times = {}, {name: [] for name in targets}
    for name, (client, url) in targets.items():
        response = client.get(url)  # warm-up, and a check that the page is what we think
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        with capture() as queries:
            client.get(url)
        rows[name] = {"queries": len(queries), "bytes": len(response.content)}
    for _ in range(n):
        for name, (client, url) in targets.items():
            start = time.perf_counter()
            response = client.get(url)
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 200
    for name, row in rows.items():
        row["ms"] = 1000 * statistics.median(times[name])
    return rows


def keys_owner(n: int):
    from fibe_access.resources.models import Playground
    from tests.support.factories import UserFactory, api_key_make, resource_make

    user = UserFactory()
    pgs = [resource_make(Playground, user).pk for _ in range(3)]
    for i in range(n):  # a mix: plain, restricted, expiring, agent
        api_key_make(
            user,
            "playgrounds:read",
            "playspecs:manage",
            "launch:write",
            label=f"key {i}",
            restrictions={"playgrounds": pgs[: 1 + i % 3]} if i % 2 else None,
            is_agent=i % 5 == 0,
        )
    return user


def endpoint_with(n: int):
    from django.utils import timezone

    from tests.support.factories import UserFactory
    from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint
    from webhooks.publish import serialise

    user = UserFactory()
    endpoint = WebhookEndpoint.objects.create(
        owner=user,
        url="https://hooks.example.com/in",
        events=["playground.created"],
        secret="s",  # noqa: S106
    )
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(
                type="playground.created",
                owner=user,
                body=serialise(
                    event="playground.created",
                    data={"id": i, "name": f"pg {i}", "status": "running"},
                    at=now,
                ),
            )
            for i in range(n)
        ]
    )
    statuses = [Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.RETRYING]
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=e, endpoint=endpoint, status=statuses[i % 3], attempt_count=2)
            for i, e in enumerate(events)
        ]
    )
    Attempt.objects.bulk_create(
        [
            Attempt(
                delivery=d,
                number=k,
                trigger="scheduled",
                request_url=endpoint.url,
                request_headers={"webhook-id": str(d.uid)},
                request_body=b"{}",
                response_status=500 if k == 1 else 200,
                response_body="ok",
                duration_ms=12,
                failure_reason="Receiver answered HTTP 500." if k == 1 else "",
            )
            for d in deliveries
            for k in (1, 2)
        ],
        batch_size=2000,
    )
    return user, endpoint


def deep_url(base: str, model, **where) -> str:
    """The page of ``base`` whose rows are the 50th newest to the 26th oldest: by position
    (``?before=``) where the pages have one (issue 27), else by page number."""
    rows = model.objects.filter(**where).order_by("-created_at", "-id")
    total = rows.count()
    try:
        from fibe_access import keyset
    except ImportError:  # before issue 27: Paginator pages of 25
        return f"{base}?page={max(1, (total - 26) // 25 + 1)}"
    row = rows[max(0, total - 27)]
    return f"{base}?before={keyset.encode(keyset.position_of(row))}"


def security_owner(n: int):
    from fibe_access.accounts.models import SecurityEvent
    from tests.support.factories import UserFactory

    user = UserFactory()
    SecurityEvent.objects.bulk_create(
        [SecurityEvent(user=user, kind="key_created", ip="203.0.113.9") for _ in range(n)],
        batch_size=5000,
    )
    return user


def activity_key(n: int):
    from django.utils import timezone

    from keys import activity
    from keys.activity_model import KeyActivity
    from tests.support.factories import UserFactory, api_key_make

    user = UserFactory()
    key, _ = api_key_make(user, "playgrounds:read", label="busy")
    now = timezone.now()
    activity.rows_write(
        [
            KeyActivity(
                key=key,
                at=now - timedelta(seconds=i),
                door="rest",
                operation="playgrounds.list",
                status=200 if i % 7 else 500,
                duration_ms=3,
                ip="203.0.113.9",
            )
            for i in range(n)
        ]
    )
    return user, key


def run(args) -> dict:
    from fibe_access.accounts.models import SecurityEvent
    from webhooks.models import Delivery

    targets = {}
    for n in KEY_SIZES:
        targets[f"keys:{n}"] = (stepped_up_client(keys_owner(n)), "/profile/api-keys/")
    for n in DELIVERY_SIZES:
        user, endpoint = endpoint_with(n)
        client, base = stepped_up_client(user), f"/profile/webhooks/{endpoint.pk}/"
        targets[f"log:{n}"] = (client, base)
        if n == DELIVERY_SIZES[-1]:
            targets[f"log-deep:{n}"] = (client, deep_url(base, Delivery, endpoint=endpoint))
    for n in SECURITY_SIZES:
        user = security_owner(n)
        client = stepped_up_client(user)
        targets[f"security:{n}"] = (client, "/profile/security/")
        if n == SECURITY_SIZES[-1]:
            deep = deep_url("/profile/security/", SecurityEvent, user=user)
            targets[f"security-deep:{n}"] = (client, deep)
    for n in ACTIVITY_SIZES:
        user, key = activity_key(n)
        targets[f"activity:{n}"] = (stepped_up_client(user), f"/profile/api-keys/{key.pk}/")
    with connection.cursor() as cursor:  # the statistics autovacuum keeps on a real database
        cursor.execute("ANALYZE")
    return measure(targets, args.requests)


LABELS = {
    "keys": "Profile → API Keys",
    "log": "webhook delivery log",
    "log-deep": "delivery log, deep page",
    "security": "security log",
    "security-deep": "security log, deep page",
    "activity": "key activity timeline",
}


def report(rows: dict) -> dict:
    print(f"{'page':<28}{'rows':>7}{'queries':>9}{'median ms':>11}{'KiB':>8}")
    for name, row in rows.items():
        page, n = name.split(":")
        print(
            f"{LABELS[page]:<28}{n:>7}{row['queries']:>9}{row['ms']:>11.1f}"
            f"{row['bytes'] / 1024:>8.1f}"
        )
    k1, k10, k200, k500 = (rows[f"keys:{n}"] for n in KEY_SIZES)
    l1, l10, l5000 = (rows[f"log:{n}"] for n in DELIVERY_SIZES)
    deep = rows[f"log-deep:{DELIVERY_SIZES[-1]}"]
    s10, sbig = (rows[f"security:{n}"] for n in SECURITY_SIZES)
    sdeep = rows[f"security-deep:{SECURITY_SIZES[-1]}"]
    a10, abig = (rows[f"activity:{n}"] for n in ACTIVITY_SIZES)
    figures = {
        "keys_queries_200_minus_1": k200["queries"] - k1["queries"],
        "keys_queries_200_minus_10": k200["queries"] - k10["queries"],
        "keys_queries_500_minus_10": k500["queries"] - k10["queries"],
        "keys_time_200_over_1": k200["ms"] / k1["ms"],
        "keys_time_200_over_10": k200["ms"] / k10["ms"],
        "keys_time_500_over_10": k500["ms"] / k10["ms"],
        "keys_bytes_500_over_10": k500["bytes"] / k10["bytes"],
        "log_queries_5000_minus_1": l5000["queries"] - l1["queries"],
        "log_time_5000_over_1": l5000["ms"] / l1["ms"],
        "log_time_5000_over_10": l5000["ms"] / l10["ms"],
        "log_deep_time_5000_over_10": deep["ms"] / l10["ms"],
        "security_time_big_over_10": sbig["ms"] / s10["ms"],
        "security_deep_time_big_over_10": sdeep["ms"] / s10["ms"],
        "activity_time_big_over_10": abig["ms"] / a10["ms"],
    }
    print(
        f"keys page: 500 / 10 keys time x{figures['keys_time_500_over_10']:.2f} (target <= 1.5), "
        f"bytes x{figures['keys_bytes_500_over_10']:.2f} (target <= 2); 200 / 10 time "
        f"x{figures['keys_time_200_over_10']:.2f}, 200 / 1 x{figures['keys_time_200_over_1']:.2f}; "
        f"queries added over 10 keys {figures['keys_queries_500_minus_10']} (target 0), over 1 "
        f"unrestricted key {figures['keys_queries_200_minus_1']}"
    )
    print(
        f"delivery log: 5000 / 1 time x{figures['log_time_5000_over_1']:.2f}, / 10 "
        f"x{figures['log_time_5000_over_10']:.2f}, deep page / 10 "
        f"x{figures['log_deep_time_5000_over_10']:.2f} (target <= 1.5); queries added "
        f"{figures['log_queries_5000_minus_1']} (target 0)"
    )
    print(
        f"security log: {SECURITY_SIZES[-1]} / 10 rows "
        f"x{figures['security_time_big_over_10']:.2f}, "
        f"deep page x{figures['security_deep_time_big_over_10']:.2f}; key activity "
        f"{ACTIVITY_SIZES[-1]} / 10 rows x{figures['activity_time_big_over_10']:.2f} "
        "(targets <= 1.5)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    setup_test_environment()
    db = settings.DATABASES["default"]
    # Never the name pytest-django uses ("test_…"): a test run may be going on beside us.
    db.setdefault("TEST", {})["NAME"] = "bench_pages_" + db["NAME"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        figures = report(run(args))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print("BENCH-JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
