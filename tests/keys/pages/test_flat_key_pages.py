"""Profile → API Keys and a key's activity timeline stay flat as an account grows (issue 27):
a page of compact rows reached by position ("Older →" / "← Newer"), searchable by label; the
queries of a page are the same for 10 keys and 45, none with an OFFSET or a COUNT; what the
old cards showed is still reachable, on the key's own page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from keys import activity
from keys.activity_model import KeyActivity
from keys.models import ApiKey
from keys.views import ACTIVITY_PAGE, KEYS_PAGE
from tests.support.factories import api_key_make
from tests.support.pages import NEWER, OLDER, Sql, assert_flat, link, walk

LIST = "/profile/api-keys/"


def _keys(owner, n, *, prefix="key"):
    return [api_key_make(owner, "playgrounds:read", label=f"{prefix} {i:03}")[0] for i in range(n)]


def _labels(page: str) -> list[str]:
    return re.findall(r'<a href="/profile/api-keys/\d+/">([^<]+)</a>', page)


def test_the_list_walks_every_key_once_a_page_at_a_time(stepped_up_client, user):
    _keys(user, KEYS_PAGE * 2 + 3)
    pages = walk(stepped_up_client, LIST)
    assert [len(_labels(p)) for p in pages] == [KEYS_PAGE, KEYS_PAGE, 3]
    shown = [label for p in pages for label in _labels(p)]
    assert shown == [f"key {i:03}" for i in reversed(range(KEYS_PAGE * 2 + 3))]
    # "← Newer" from the last page is the middle page again
    back = stepped_up_client.get(LIST + link(pages[2], NEWER)).content.decode()
    assert _labels(back) == _labels(pages[1])


def test_a_page_costs_the_same_queries_and_at_most_twice_the_bytes_for_10_keys_or_45(
    stepped_up_client, make_stepped_up_client, user, other_user
):
    # given an account with 10 keys and one with 45 (restricted and plain alike)
    _keys(user, 10)
    _keys(other_user, 45)
    big = make_stepped_up_client(other_user)
    for client in (stepped_up_client, big):
        client.get(LIST)  # the session's first writes out of the way
    # when each asks for its first page, and the big one for its second
    small, large = Sql(stepped_up_client, LIST), Sql(big, LIST)
    deeper = Sql(big, LIST + link(large.response.content.decode(), OLDER))
    # then the queries are the same in number, the keys read one page by position
    assert len(small) == len(large) == len(deeper)
    for sql in (large, deeper):
        assert_flat(sql.on("keys_apikey"), limit=KEYS_PAGE)
        assert sql.response.content.decode().count('class="card key-card key-row"') == KEYS_PAGE
    # and a page of 45 weighs at most twice one of 10
    assert len(large.response.content) <= 2 * len(small.response.content)


def test_search_by_label_finds_any_case_and_keeps_to_the_account(
    stepped_up_client, user, other_user
):
    _keys(user, 3, prefix="deploy")
    _keys(user, KEYS_PAGE + 2, prefix="Nightly")
    _keys(other_user, 2, prefix="nightly theirs")
    page = stepped_up_client.get(LIST, {"q": "NIGHTLY"}).content.decode()
    labels = _labels(page)
    assert len(labels) == KEYS_PAGE and all(label.startswith("Nightly") for label in labels)
    # the pager keeps the search
    rest = walk(stepped_up_client, f"{LIST}?q=nightly")
    assert sum(len(_labels(p)) for p in rest) == KEYS_PAGE + 2
    assert 'value="nightly"' in rest[-1] and "theirs" not in "".join(rest)
    nothing = stepped_up_client.get(LIST, {"q": "zzz"}).content.decode()
    assert "No key’s label holds “zzz”." in nothing


@pytest.mark.parametrize("q", ["\x00", "<script>x</script>", "a" * 10_000, "%", "_"])
def test_a_hostile_search_is_a_page_not_an_error(stepped_up_client, user, q):
    _keys(user, 2)
    response = stepped_up_client.get(LIST, {"q": q, "before": "x" * 30, "after": "\x00"})
    assert response.status_code == 200
    assert b"<script>x" not in response.content


def test_everything_the_old_card_offered_is_on_the_key_page(stepped_up_client, user):
    key, _ = api_key_make(
        user,
        "playgrounds:read",
        label="Agent",
        is_agent=True,
        allowed_ips=["10.0.0.0/8"],
        confirm_destructive=True,
    )
    ApiKey.objects.filter(pk=key.pk).update(
        previous_digest="x" * 64,
        previous_last4="abcd",
        previous_expires_at=timezone.now() + timedelta(hours=1),
    )
    page = stepped_up_client.get(f"{LIST}{key.pk}/").content.decode()
    for action in ("rotate", "reveal", "expire", "delete", "allowed-ips", "stop-old-token"):
        assert f'href="/profile/api-keys/{key.pk}/{action}/"' in page, action
    assert f'href="/profile/api-keys/{key.pk}/confirm-destructive/"' in page
    assert "10.0.0.0/8" in page and "fibe_…abcd" in page


def test_the_activity_timeline_walks_by_position(stepped_up_client, user):
    key, _ = api_key_make(user, "playgrounds:read", label="Busy")
    now = timezone.now()
    activity.rows_write(
        KeyActivity(
            key=key,
            at=now - timedelta(seconds=i // 2),  # pairs share an instant: the id settles them
            door="rest",
            operation="playgrounds.list",
            record_id=i + 1,  # shown as #1 … #55
            status=200,
            duration_ms=3,
        )
        for i in range(ACTIVITY_PAGE * 2 + 5)
    )
    path = f"{LIST}{key.pk}/"
    pages = walk(stepped_up_client, path)
    records = [int(r) for p in pages for r in re.findall(r'<td class="mono">#(\d+)</td>', p)]
    assert [len(re.findall(r'<tr id="activity-', p)) for p in pages] == [
        ACTIVITY_PAGE,
        ACTIVITY_PAGE,
        5,
    ]
    assert sorted(records) == list(range(1, ACTIVITY_PAGE * 2 + 6))
    stepped_up_client.get(path)
    first = Sql(stepped_up_client, path)
    deep = Sql(stepped_up_client, path + link(pages[1], OLDER))
    for sql in (first, deep):  # the timeline's reads (the usage picture's is one grouped count)
        timeline = [s for s in sql.on("keys_keyactivity") if "GROUP BY" not in s]
        assert_flat(timeline, limit=ACTIVITY_PAGE)
    assert len(first) == len(deep)
