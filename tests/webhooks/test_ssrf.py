import ipaddress

import pytest
from django.core.exceptions import ValidationError

from webhooks.services import endpoint_create
from webhooks.transport import address_refusal, url_refusal


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",  # noqa: S104
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "255.255.255.255",
    ],
)
def test_private_and_special_addresses_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=False)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=False) is None


def test_allow_setting_allows_loopback_but_not_metadata():
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert address_refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://example.com/hook", "The URL must use HTTPS."),
        ("https://127.0.0.1/hook", "The host 127.0.0.1 resolves to a loopback address"),
        ("https://localhost:8443/hook", "The host localhost resolves to a loopback address"),
        ("https://[::ffff:169.254.169.254]/", "resolves to a cloud metadata address"),
        ("https://10.0.0.5/hook", "resolves to a private or reserved address"),
        ("https://user:pw@example.com/", "The URL must not contain credentials."),
        ("ftp://example.com/", "The URL must use HTTPS."),
    ],
)
def test_urls_refused_at_save_when_private_targets_are_off(settings, url, reason):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert reason in url_refusal(url)


def test_endpoint_create_refuses_a_private_target(settings, api_actor):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    with pytest.raises(ValidationError) as error:
        endpoint_create(
            actor=api_actor, url="https://localhost/hook", events=["playground.created"]
        )

    assert "loopback" in str(error.value.message_dict["url"])


def test_allow_setting_permits_loopback_http(settings, api_actor):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    endpoint = endpoint_create(
        actor=api_actor, url="http://127.0.0.1:9/hook", events=["playground.created"]
    )

    assert endpoint.pk
