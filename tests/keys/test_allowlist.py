"""IP allow-lists: a request from elsewhere is 403 ip_not_allowed before it counts against the
rate limit; refusals aggregate in the security log, one row per key and hour."""

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys import allowlist, services
from keys.models import ApiKey
from tests.support.factories import api_key_make

CLI = Actor(user=None, source=Source.CLI)


def me(api_client, token, ip):
    return api_client(token).get("/api/v1/me", REMOTE_ADDR=ip)


@pytest.mark.parametrize(
    ("cidrs", "ip", "allowed"),
    [
        (["10.0.0.0/8"], "10.200.3.4", True),
        (["10.0.0.0/8"], "127.0.0.1", False),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["203.0.113.7"], "203.0.113.7", True),
        (["203.0.113.7"], "203.0.113.8", False),
        (["2001:db8::/32"], "2001:db8:1::5", True),
        (["2001:db8::/32"], "2001:db9::5", False),
        (["2001:db8::/32", "192.0.2.0/24"], "192.0.2.99", True),
        (["192.0.2.0/24"], "::ffff:192.0.2.9", True),  # IPv4-mapped IPv6 is the IPv4 address
        (["2001:db8::/32"], "10.0.0.1", False),
    ],
)
def test_allowed_and_refused_addresses(user, api_client, cidrs, ip, allowed):
    _, token = api_key_make(user, "playgrounds:read", allowed_ips=cidrs)
    response = me(api_client, token, ip)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "ip_not_allowed"


def test_a_refusal_does_not_count_against_the_rate_limit(user, api_client):
    _, token = api_key_make(user, "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    ApiKey.objects.filter(owner=user).update(rate_limit_per_minute=2)
    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        _, token = services.key_rotate(actor=CLI, key=ApiKey.objects.get(owner=user))
        refused = [me(api_client, token, "127.0.0.1").status_code for _ in range(5)]
        served = [me(api_client, token, "10.0.0.1").status_code for _ in range(3)]
    assert refused == [403] * 5
    assert served == [200, 200, 429]


def test_refusals_aggregate_in_one_security_log_row_per_key_and_hour(user, api_client):
    key, token = api_key_make(user, "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    for _ in range(4):
        me(api_client, token, "127.0.0.1")
    rows = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.KEY_IP_REFUSED)
    assert rows.count() == 1
    assert rows.get().count == 4 and rows.get().detail["key_id"] == key.pk
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=1), tick=False):
        me(api_client, token, "127.0.0.2")
    assert rows.count() == 2


def test_changing_the_list_applies_at_once_and_is_logged(user, api_client):
    key, token = api_key_make(user, "playgrounds:read")
    assert me(api_client, token, "127.0.0.1").status_code == 200  # cached in this process
    services.key_set_allowed_ips(actor=CLI, key=key, allowed_ips="10.0.0.0/8, 2001:db8::/32")
    assert me(api_client, token, "127.0.0.1").status_code == 403
    services.key_set_allowed_ips(actor=CLI, key=key, allowed_ips=[])
    assert me(api_client, token, "127.0.0.1").status_code == 200
    kinds = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.KEY_ALLOWED_IPS_CHANGED)
    assert kinds.count() == 2


@pytest.mark.parametrize(
    "bad",
    [["not-an-ip"], ["10.0.0.0/33"], ["::1/129"], [""], [42], "10.0.0.0/8 nonsense", {"a": 1}],
)
def test_bad_lists_are_refused_and_change_nothing(user, bad):
    key, _ = api_key_make(user, "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    with pytest.raises(ValidationError) as caught:
        services.key_set_allowed_ips(actor=CLI, key=key, allowed_ips=bad)
    assert "allowed_ips" in caught.value.message_dict
    assert ApiKey.objects.get(pk=key.pk).allowed_ips == ["10.0.0.0/8"]


def test_at_most_fifty_entries(user):
    many = [f"10.0.{i}.0/24" for i in range(51)]
    with pytest.raises(ValidationError):
        api_key_make(user, "playgrounds:read", allowed_ips=many)
    assert len(allowlist.normalize(many[:50])) == 50


def test_a_key_without_a_list_makes_no_query_on_the_cached_path(
    user, api_client, django_assert_num_queries
):
    _, token = api_key_make(user, "playgrounds:read")
    me(api_client, token, "127.0.0.1")
    me(api_client, token, "127.0.0.1")
    with django_assert_num_queries(0):
        from keys.auth import key_authenticate

        key_authenticate(token, ip="127.0.0.1")


def test_a_key_with_a_list_makes_no_query_on_the_cached_path_either(
    user, api_client, django_assert_num_queries
):
    _, token = api_key_make(user, "playgrounds:read", allowed_ips=["127.0.0.0/8", "::1/128"])
    me(api_client, token, "127.0.0.1")
    with django_assert_num_queries(0):
        from keys.auth import key_authenticate

        key_authenticate(token, ip="127.0.0.1")


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(user, api_client):
    _, token = api_key_make(user, "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    response = api_client(token).get(
        "/api/v1/me", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3"
    )
    assert response.status_code == 403 and response.json()["code"] == "ip_not_allowed"


def test_mcp_refuses_an_address_outside_the_list_the_same_way(user):
    import json

    from django.test import Client

    _, token = api_key_make(user, "mcp:access", "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json, text/event-stream",
    }
    refused = Client().post(
        "/mcp", body, content_type="application/json", REMOTE_ADDR="192.0.2.1", **headers
    )
    assert refused.status_code == 403 and refused.json()["code"] == "ip_not_allowed"
    served = Client().post(
        "/mcp", body, content_type="application/json", REMOTE_ADDR="10.9.9.9", **headers
    )
    assert served.status_code == 200
