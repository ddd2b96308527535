"""An endpoint's delivery log stays flat however long its history (issue 27): pages by position
("Older →" / "← Newer"), filters kept, no OFFSET and no COUNT; the page's query is one the
(endpoint, created_at) index answers."""

import re

import pytest
from django.db import connection

from tests.support.pages import NEWER, OLDER, Sql, assert_flat, link, walk
from webhooks.models import Delivery
from webhooks.selectors import delivery_list
from webhooks.views import PAGE_SIZE

from .test_webhook_pages import _deliveries, _endpoint


def _shown(page: str) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(r'<a href="/profile/webhooks/deliveries/(\d+)/" class="mono">', page)
    ]


def test_the_log_walks_every_delivery_once_newest_first_and_back(stepped_up_client, user):
    endpoint = _endpoint(user)
    ds = _deliveries(endpoint, PAGE_SIZE * 2 + 4)  # one event: every row's time may tie
    path = f"/profile/webhooks/{endpoint.pk}/"
    pages = walk(stepped_up_client, path)
    shown = [pk for p in pages for pk in _shown(p)]
    newest_first = [
        d.pk for d in Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    ]
    assert shown == newest_first and sorted(shown) == sorted(d.pk for d in ds)
    back = stepped_up_client.get(path + link(pages[2], NEWER)).content.decode()
    assert _shown(back) == _shown(pages[1])
    assert link(pages[0], NEWER) is None and link(pages[2], OLDER) is None


def test_a_filter_is_kept_across_pages(stepped_up_client, user):
    endpoint = _endpoint(user)
    failed = _deliveries(endpoint, PAGE_SIZE + 3, status="failed")
    _deliveries(endpoint, 10, status="succeeded")
    pages = walk(stepped_up_client, f"/profile/webhooks/{endpoint.pk}/?status=failed")
    assert sorted(pk for p in pages for pk in _shown(p)) == sorted(d.pk for d in failed)


@pytest.mark.parametrize("position", ["before=zz", "after=%00", "before=" + "A" * 22, "page=9"])
def test_a_position_that_is_not_one_is_a_page_not_an_error(stepped_up_client, user, position):
    endpoint = _endpoint(user)
    _deliveries(endpoint, 3)
    response = stepped_up_client.get(f"/profile/webhooks/{endpoint.pk}/?{position}")
    assert response.status_code == 200


def test_a_deep_page_reads_one_page_by_position_with_the_queries_of_the_first(
    stepped_up_client, user
):
    endpoint = _endpoint(user)
    _deliveries(endpoint, PAGE_SIZE * 3)
    path = f"/profile/webhooks/{endpoint.pk}/"
    stepped_up_client.get(path)
    first = Sql(stepped_up_client, path)
    second = link(first.response.content.decode(), OLDER)
    third = link(stepped_up_client.get(path + second).content.decode(), OLDER)
    deep = Sql(stepped_up_client, path + third)
    for sql in (first, deep):
        # the log's reads (the status strip above it reads its own ten rows)
        log = [s for s in sql.on("webhooks_delivery") if "UNION" not in s.upper()]
        assert_flat(log, limit=PAGE_SIZE)
    assert len(first) == len(deep)


def test_the_page_query_is_answered_by_the_endpoint_time_index(user):
    # given the delivery log's query for a deep page
    endpoint = _endpoint(user)
    _deliveries(endpoint, 5)
    from fibe_access import keyset

    position = keyset.Position(Delivery.objects.first().created_at, 10**9)
    qs = keyset.older_than(
        keyset.newest_first(delivery_list(endpoint=endpoint, with_attempts=False)), position
    )[: PAGE_SIZE + 1]
    # when PostgreSQL plans it as for a long history: on a tiny table a scan and a sort of
    # everything is cheapest, so both are ruled out (an ordered path is then the only one)
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then it walks the (endpoint, -created_at) index in order, bounded by the position,
    # and sorts at most the rows of one instant (no sort of the whole history)
    assert re.search(r"Index Scan using webhooks_de_endpoin\w+ on webhooks_delivery", plan), plan
    assert "Index Cond: ((endpoint_id = " in plan and "created_at <= " in plan, plan
    assert not re.search(r"(?<!Incremental )Sort  \(", plan), plan
