"""Lists page flat (issue 27): a `cursor` walks any depth through the index, `offset` stays
for compatibility up to MAX_OFFSET, and the count reads at most COUNT_CAP + 1 rows. Shapes of
the SQL, not times: no OFFSET on a cursor page, no count of the whole table."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fibe_access import keyset
from fibe_access.api import pagination
from fibe_access.resources.models import Playroom
from tests.support.factories import api_key_make


def _rooms(owner, n, *, at=None):
    """n playrooms of ``owner``; all created at the same instant when ``at`` is given (ties
    that only the id orders)."""
    rooms = Playroom.objects.bulk_create(
        [Playroom(owner=owner, name=f"room {i}") for i in range(n)], batch_size=2000
    )
    if at is not None:
        Playroom.objects.filter(pk__in=[r.pk for r in rooms]).update(created_at=at)
    return rooms


def _walk(client, path, **params):
    seen, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, query).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            return seen, pages


def test_the_cursor_walks_every_item_once_newest_first_through_ties(user, other_user, api_client):
    # given 23 rooms, 15 of them created at the same instant, and another account's rooms
    older = _rooms(user, 8)
    tied = _rooms(user, 15, at=timezone.now())
    _rooms(other_user, 5)
    _, token = api_key_make(user, "playrooms:read")
    # when the list is walked by its `next` cursors, 4 at a time
    seen, pages = _walk(api_client(token), "/api/v1/playrooms", limit=4)
    # then every room shows once, newest first (ties by id), none of the other account's
    expected = sorted((r.pk for r in tied), reverse=True) + [r.pk for r in reversed(older)]
    assert seen == expected and pages == 6


def test_the_last_page_says_so_and_a_short_list_is_counted_from_its_page(user, api_client):
    _rooms(user, 3)
    _, token = api_key_make(user, "playrooms:read")
    with CaptureQueriesContext(connection) as ctx:
        page = api_client(token).get("/api/v1/playrooms?limit=5").json()
    assert page["count"] == 3 and page["count_exact"] is True and page["next"] is None
    assert len([q for q in ctx.captured_queries if "resources_playroom" in q["sql"]]) == 1


def test_a_cursor_page_is_one_statement_with_no_offset_and_the_count_stops_at_the_cap(
    user, api_client, monkeypatch
):
    # given a list longer than the cap
    monkeypatch.setattr(pagination, "COUNT_CAP", 30)
    rooms = _rooms(user, 45)
    _, token = api_key_make(user, "playrooms:read")
    client = api_client(token)
    first = client.get("/api/v1/playrooms?limit=10").json()
    # when a deep page is asked for by cursor
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/api/v1/playrooms", {"limit": 10, "cursor": first["next"]}).json()
    # then it is the next ten, the count stops at the cap and says it is not exact
    assert [i["id"] for i in page["items"]] == [r.pk for r in reversed(rooms)][10:20]
    assert page["count"] == 30 and page["count_exact"] is False
    # in one round trip: the page's rows (LIMIT 11, no OFFSET) with the count beside them,
    # which reads at most cap + 1 rows (a LIMIT inside it), never the whole table
    (sql,) = [q["sql"] for q in ctx.captured_queries if "resources_playroom" in q["sql"]]
    assert "OFFSET" not in sql.upper() and re.search(r"LIMIT 11$", sql)
    assert re.search(r"SELECT COUNT\(\*\) FROM \(.*LIMIT 31\) AS capped", sql)


def test_the_query_count_of_a_page_does_not_grow_with_the_list(user, other_user, api_client):
    _rooms(user, 12)
    _rooms(other_user, 1200)
    queries = []
    for owner in (user, other_user):
        _, token = api_key_make(owner, "playrooms:read")
        client = api_client(token)
        first = client.get("/api/v1/playrooms?limit=5").json()
        with CaptureQueriesContext(connection) as ctx:
            client.get("/api/v1/playrooms", {"limit": 5, "cursor": first["next"]})
        queries.append(len(ctx.captured_queries))
    assert queries[0] == queries[1]


@pytest.mark.parametrize(
    "cursor", ["x", "A" * 21, "A" * 23, "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA+/"]
)
def test_a_malformed_cursor_is_a_422_naming_it(user, api_client, cursor):
    _, token = api_key_make(user, "playrooms:read")
    response = api_client(token).get("/api/v1/playrooms", {"cursor": cursor})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


@pytest.mark.parametrize("cursor", ["A" * 22, "_" * 22, "-" * 22, "zzzzzzzzzzzzzzzzzzzzzz"])
def test_any_cursor_the_schema_allows_is_a_page_of_the_callers_own(
    user, other_user, api_client, cursor
):
    # a cursor is only a position: any 22 characters of the alphabet decode to one, and the
    # owner's filter still applies (times beyond a datetime's range are clamped)
    _rooms(other_user, 3)
    mine = _rooms(user, 2)
    _, token = api_key_make(user, "playrooms:read")
    response = api_client(token).get("/api/v1/playrooms", {"cursor": cursor})
    assert response.status_code == 200
    assert {i["id"] for i in response.json()["items"]} <= {r.pk for r in mine}


def test_an_offset_past_the_maximum_is_a_422_pointing_to_the_cursor(user, api_client):
    _, token = api_key_make(user, "playrooms:read")
    client = api_client(token)
    deepest = client.get("/api/v1/playrooms", {"offset": pagination.MAX_OFFSET})
    assert deepest.status_code == 200
    response = client.get("/api/v1/playrooms", {"offset": pagination.MAX_OFFSET + 1})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "offset" and "cursor" in body["message"]


def test_offset_and_limit_still_page_and_count_from_the_cursor(user, api_client):
    rooms = list(reversed(_rooms(user, 9)))
    _, token = api_key_make(user, "playrooms:read")
    client = api_client(token)
    page = client.get("/api/v1/playrooms?limit=2&offset=3").json()
    assert [i["id"] for i in page["items"]] == [r.pk for r in rooms[3:5]]
    assert page["count"] == 9 and page["next"] == keyset.encode(keyset.position_of(rooms[4]))
    after = client.get("/api/v1/playrooms", {"limit": 2, "offset": 1, "cursor": page["next"]})
    assert [i["id"] for i in after.json()["items"]] == [r.pk for r in rooms[6:8]]


def test_the_schema_describes_the_cursor_and_the_maximum_offset(api_client):
    schema = api_client("").get("/api/v1/openapi.json").json()
    lists = [
        op
        for item in schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and any(p["name"] == "offset" for p in op.get("parameters", []))
    ]
    assert len(lists) > 10
    for op in lists:
        params = {p["name"]: p["schema"] for p in op["parameters"]}
        assert params["offset"]["maximum"] == pagination.MAX_OFFSET, op["operationId"]
        if "cursor" in params:
            (string,) = [s for s in params["cursor"]["anyOf"] if s.get("type") == "string"]
            assert string["pattern"] == keyset.CURSOR_PATTERN
    with_cursor = [op for op in lists if any(p["name"] == "cursor" for p in op["parameters"])]
    assert len(with_cursor) == len(lists) - 1  # all but a repository's files (at most 1 000)
