"""One client address for every per-IP control (fibe_access.accounts.actor.client_ip): behind a
proxy listed in TRUSTED_PROXIES, the right-most X-Forwarded-For hop that is not a trusted proxy;
from any other peer, REMOTE_ADDR whatever the header says. Per-IP limits count IPv6 per /64."""

import pytest
from django.test import Client, RequestFactory

from fibe_access.accounts.actor import client_ip, ip_bucket
from fibe_access.accounts.models import SecurityEvent, User
from keys.models import ApiKey
from tests.support.factories import api_key_make

from ..conftest import PASSWORD

PROXY = "10.0.0.2"  # the TLS proxy in front of the web processes
LIMIT = 10


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/64"]


def seen(remote: str, forwarded: str | None = None) -> str | None:
    extra = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def through(forwarded: str, remote: str = PROXY) -> Client:
    """A browser whose requests reach us through a proxy that says ``forwarded``."""
    return Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # the proxy appends the peer it saw; what the client wrote to its left is ignored
        (PROXY, "198.51.100.7", "198.51.100.7"),
        (PROXY, "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (PROXY, "198.51.100.7, 10.0.0.3", "198.51.100.7"),  # two trusted proxies
        (PROXY, "10.0.0.9, 10.0.0.3", "10.0.0.9"),  # from inside: the left-most hop
        (PROXY, "6.6.6.6, not-an-address", PROXY),  # nothing left of garbage is believed
        (PROXY, "", PROXY),
        (PROXY, "[2001:db8::7]:4711", "2001:db8::7"),
        (PROXY, "198.51.100.7:4711", "198.51.100.7"),
        ("fd00::1", "::ffff:198.51.100.7", "198.51.100.7"),
        # from a peer that is not a trusted proxy, the header is the client's own word
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),
        ("10.0.1.2", "198.51.100.7", "10.0.1.2"),
    ],
)
def test_the_client_is_the_right_most_hop_no_trusted_proxy_wrote(
    behind_proxy, remote, forwarded, client
):
    assert seen(remote, forwarded) == client


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert seen(PROXY, "198.51.100.7") == PROXY


def test_ipv6_clients_are_counted_per_64():
    assert ip_bucket("2001:db8:1:2:aaaa::1") == ip_bucket("2001:db8:1:2:ffff::9")
    assert ip_bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert ip_bucket("2001:db8:1:3::1") != ip_bucket("2001:db8:1:2::1")
    assert ip_bucket("198.51.100.7") == "198.51.100.7"
    assert ip_bucket(None) == "unknown"


def sign_in(client: Client, email: str, password: str = "wrong") -> int:
    return client.post("/accounts/login/", {"username": email, "password": password}).status_code


def test_ten_failures_from_one_client_behind_the_proxy_do_not_lock_another(behind_proxy, db):
    # given a client behind the proxy spraying one password at ten accounts
    for i in range(LIMIT):
        sign_in(through("198.51.100.7"), f"victim{i}@example.com")
    assert sign_in(through("198.51.100.7"), "someone@example.com") == 429
    # then another client behind the same proxy signs in as usual
    User.objects.create_user("admin@example.com", PASSWORD)
    assert sign_in(through("198.51.100.8"), "admin@example.com", PASSWORD) == 302
    # and the failures are on the log with the client's address, not the proxy's
    assert set(SecurityEvent.objects.values_list("ip", flat=True)) <= {"198.51.100.8", None}


def test_a_spoofed_header_from_an_untrusted_peer_does_not_escape_the_lockout(behind_proxy, db):
    for i in range(LIMIT):
        sign_in(through(f"192.0.2.{i}", remote="203.0.113.9"), f"victim{i}@example.com")
    assert sign_in(through("192.0.2.99", remote="203.0.113.9"), "other@example.com") == 429


def test_an_ipv6_client_is_locked_out_per_64(db):
    for i in range(LIMIT):
        sign_in(Client(REMOTE_ADDR=f"2001:db8:5:6::{i + 1:x}"), f"victim{i}@example.com")
    assert sign_in(Client(REMOTE_ADDR="2001:db8:5:6:ffff::1"), "x@example.com") == 429
    assert sign_in(Client(REMOTE_ADDR="2001:db8:5:7::1"), "x@example.com") == 200


def signup(client: Client, email: str) -> int:
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/", data).status_code


def test_sign_up_limits_count_each_client_behind_the_proxy(behind_proxy, db, settings):
    settings.ACCOUNT_REQUESTS_PER_IP_HOUR = 2
    assert [signup(through("198.51.100.7"), f"a{i}@example.com") for i in range(3)] == [
        302,
        302,
        429,
    ]
    assert signup(through("198.51.100.8"), "b@example.com") == 302
    # an IPv6 client cannot get more by moving within its /64
    assert [signup(through(f"2001:db8::{i + 1}"), f"c{i}@example.com") for i in range(3)] == [
        302,
        302,
        429,
    ]


def test_a_keys_last_used_address_is_the_client_behind_the_proxy(behind_proxy, user):
    key, token = api_key_make(user, "playgrounds:read")
    response = through("198.51.100.7").get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_ip == "198.51.100.7"


def test_with_redis_stopped_sign_up_limits_still_hold_per_process(
    behind_proxy, db, settings, own_redis
):
    # given the shared cache gone
    settings.ACCOUNT_REQUESTS_PER_IP_HOUR = 2
    own_redis.stop()
    # then sign-ups are neither a 500 nor unlimited: this process counts them itself
    assert [signup(through("198.51.100.7"), f"d{i}@example.com") for i in range(3)] == [
        302,
        302,
        429,
    ]
    assert signup(through("198.51.100.8"), "e@example.com") == 302
