"""Where a webhook may go: one check (``engine.targets.host_refusal``) at save and at send."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from tests.support.factories import api_key_make
from webhooks.engine.targets import address_refusal, url_refusal
from webhooks.models import Delivery
from webhooks.publish import publish_event
from webhooks.services import endpoint_create

from .sending import deliver

# IPv6 spellings of IPv4 loopback and metadata addresses: IPv4-compatible, SIIT, NAT64, 6to4
IPV6_FORMS = {
    "::7f00:1": "a loopback address",
    "::a9fe:a9fe": "a cloud metadata address",
    "::ffff:0:7f00:1": "a loopback address",
    "::ffff:0:a9fe:a9fe": "a cloud metadata address",
    "64:ff9b::7f00:1": "a loopback address",
    "2002:a9fe:a9fe::1": "a cloud metadata address",
}


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
        *IPV6_FORMS,
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


@pytest.mark.parametrize("address", IPV6_FORMS)
def test_ipv6_forms_of_loopback_and_metadata_are_refused_at_save(settings, address):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert url_refusal(f"https://[{address}]/hook") == (
        f"The host {address} resolves to {IPV6_FORMS[address]}, which is not allowed."
    )


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("address", ["::7f00:1", "::a9fe:a9fe", "::ffff:0:7f00:1"])
def test_ipv6_forms_of_loopback_and_metadata_are_refused_at_send(
    settings, user, make_endpoint, address, allow_private
):
    # given an endpoint saved before the rule (as by an older version), on the production path
    make_endpoint(f"https://[{address}]:8443/hook")
    publish_event(
        owner=user, event="playground.created", data={"id": 1, "name": "a", "status": "on"}
    )
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = allow_private

    attempt = deliver(Delivery.objects.get())

    # then the send is refused by the check made at save, before any connection
    assert attempt.response_status is None
    assert attempt.failure_reason.startswith(f"Refused: The host {address} resolves to a"), (
        attempt.failure_reason
    )
    assert Delivery.objects.get().status == "retrying"


def test_a_host_that_does_not_resolve_yet_is_saved_and_its_deliveries_fail_until_it_does(
    settings, user, api_client
):
    # given production's rule, and a key that may create endpoints
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    _, token = api_key_make(user, "webhooks:write")
    client = api_client(token)
    body = {"events": ["playground.created"]}

    # when the endpoint's host does not resolve (.invalid never does: RFC 2606)
    created = client.post(
        "/api/v1/webhooks", {**body, "url": "https://not-yet.invalid/hook"}, "application/json"
    )
    # then it is saved, as Svix and Stripe save it
    assert created.status_code == 201, created.content
    # and its delivery fails, logged, and is retried
    publish_event(
        owner=user, event="playground.created", data={"id": 1, "name": "a", "status": "on"}
    )
    attempt = deliver(Delivery.objects.get())
    assert attempt.response_status is None
    assert attempt.failure_reason == "DNS lookup failed for not-yet.invalid."
    assert Delivery.objects.get().status == "retrying"
    # while a host that resolves to a loopback address is still refused when saved
    refused = client.post(
        "/api/v1/webhooks", {**body, "url": "https://localhost/hook"}, "application/json"
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "url",
            "message": "The host localhost resolves to a loopback address, which is not allowed.",
        }
    ]
