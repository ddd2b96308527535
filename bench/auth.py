"""What API-key authentication costs: GET /api/v1/playgrounds/{id} with a key, against the same
view reached without authentication, through the whole Django stack, in the same run.

    .venv/bin/python bench/auth.py [--block 100] [--pairs 40]

The two paths run in alternating blocks; the ratio is the median over adjacent pairs of blocks,
so a machine busy with other work slows both sides of a pair alike.

Uses fibe_access.settings_test (local PostgreSQL and Redis from DATABASE_URL / REDIS_URL) and
its own throwaway database ("test_" + the configured name), created and dropped here.
Targets: ratio >= 0.90, at most one query added by authentication, no writes in steady state.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings, setup_test_environment  # noqa: E402
from django.urls import path  # noqa: E402
from ninja import NinjaAPI  # noqa: E402
from ninja.orm import create_schema  # noqa: E402

from bench.sql import capture  # noqa: E402
from fibe_access.api.site import api  # noqa: E402
from fibe_access.api.urls import mounted  # noqa: E402
from fibe_access.resources import selectors  # noqa: E402
from fibe_access.resources.api import BASE_OUT  # noqa: E402
from fibe_access.resources.models import Playground  # noqa: E402
from fibe_access.resources.registry import FAMILIES  # noqa: E402
from keys import activity  # noqa: E402

# The baseline: the same read, the same schema, the same Django and ninja stack, no key.
fam = FAMILIES["playgrounds"]
BenchOut = create_schema(Playground, name="BenchPlaygroundOut", fields=[*BASE_OUT, *fam.read_only])
open_api = NinjaAPI(urls_namespace="bench_open", docs_url=None, openapi_url=None)
OWNER = {}


@open_api.get("/playgrounds/{id}", response=BenchOut)
def playground_open(request, id: int):  # noqa: A002
    return selectors.resource_get(model=Playground, owner_id=OWNER["id"], pk=id, with_owner=False)


# The twin lives under /api/ too, so both skip the page middleware (fibe_access/pagemiddleware.py)
# alike and the ratio is what authentication costs, not what the page middleware costs.
urlpatterns = [mounted("api/v1/", api), path("api/open/", open_api.urls)]


def measure(client: Client, url: str, n: int, **headers) -> float:
    start = time.perf_counter()
    for _ in range(n):
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:200]}")
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=int, default=100, help="requests per block")
    parser.add_argument("--pairs", type=int, default=40, help="pairs of blocks")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
            run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args) -> None:
    from tests.support.factories import UserFactory, api_key_make, resource_make

    user = UserFactory()
    OWNER["id"] = user.pk
    pg = resource_make(Playground, user, status=Playground.Status.RUNNING)
    _, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=10**9)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url_auth, url_open = f"/api/v1/playgrounds/{pg.pk}", f"/api/open/playgrounds/{pg.pk}"

    # Warm up both paths (and let the key's last-used write happen now, not in the timing).
    measure(client, url_auth, 200, **auth)
    measure(client, url_open, 200)

    with capture() as q_auth:
        measure(client, url_auth, 100, **auth)
    with capture() as q_open:
        measure(client, url_open, 100)
    writes = [sql for sql in q_auth if sql.split()[0] in ("INSERT", "UPDATE", "DELETE")]

    ratios, open_rates, auth_rates = [], [], []
    for i in range(args.pairs):  # alternate which goes first, so neither gains from order
        first_open = i % 2 == 0
        if first_open:
            r_open = measure(client, url_open, args.block)
        r_auth = measure(client, url_auth, args.block, **auth)
        if not first_open:
            r_open = measure(client, url_open, args.block)
        open_rates.append(r_open)
        auth_rates.append(r_auth)
        ratios.append(r_auth / r_open)

    ratio = statistics.median(ratios)
    best_open, best_auth = statistics.median(open_rates), statistics.median(auth_rates)
    per_auth, per_open = len(q_auth) / 100, len(q_open) / 100
    print(
        f"database: {settings.DATABASES['default']['NAME']}  cache: "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.pairs} pairs of {args.block}-request blocks; medians "
        f"(load average {load} on {os.cpu_count()} CPUs):"
    )
    print(
        f"unauthenticated  GET /playgrounds/{{id}}: {best_open:8.0f} req/s, "
        f"{per_open:.2f} queries/request"
    )
    print(
        f"authenticated    GET /playgrounds/{{id}}: {best_auth:8.0f} req/s, "
        f"{per_auth:.2f} queries/request"
    )
    quart = statistics.quantiles(ratios, n=4)
    print(
        f"ratio {ratio:.3f} (target >= 0.90; pairs' interquartile range "
        f"{quart[0]:.3f}-{quart[2]:.3f}); queries added by auth {per_auth - per_open:.2f} "
        f"(target <= 1); writes in steady state {len(writes)} (target 0)"
    )
    ok = ratio >= 0.90 and per_auth - per_open <= 1 and not writes
    print("PASS" if ok else "MISS")
    activity.recorder.flush()  # now, while the database it writes to still exists


if __name__ == "__main__":
    main()
