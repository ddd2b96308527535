"""Test sends, redeliveries and recoveries are limited per endpoint per minute (a few stalling
endpoints must not keep every worker busy): past the limit the API answers 429 in its error
shape with Retry-After, and the pages a 429 that says so. Counted in the shared Redis."""

import time

import pytest

from webhooks.models import Delivery

from .test_api import token_for  # noqa: F401 - a fixture, used by name

LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.WEBHOOKS_SENDS_PER_MINUTE = LIMIT
    if time.time() % 60 > 55:  # stay inside one one-minute window
        time.sleep(61 - time.time() % 60)


def test_api_test_and_redeliver_share_a_per_endpoint_limit(
    user,
    token_for,  # noqa: F811
    api_client,
    make_endpoint,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    endpoint, other = make_endpoint("http://127.0.0.1:9/a"), make_endpoint("http://127.0.0.1:9/b")
    client = api_client(token_for("webhooks:read", "webhooks:write"))

    with django_capture_on_commit_callbacks(execute=False):
        sent = [client.post(f"/api/v1/webhooks/{endpoint.pk}/test") for _ in range(LIMIT)]
        delivery = Delivery.objects.filter(endpoint=endpoint).first()
        Delivery.objects.filter(pk=delivery.pk).update(status="failed")
        refused = client.post(f"/api/v1/webhooks/{endpoint.pk}/test")
        redeliver = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver")
        elsewhere = client.post(f"/api/v1/webhooks/{other.pk}/test")

    assert [r.status_code for r in sent] == [202] * LIMIT
    for response in (refused, redeliver):
        assert response.status_code == 429, response.content
        body = response.json()
        assert body["code"] == "rate_limited"
        assert f"at most {LIMIT} a minute" in body["message"]
        assert 1 <= int(response["Retry-After"]) <= 60
    assert elsewhere.status_code == 202
    assert Delivery.objects.filter(endpoint=endpoint, is_test=True).count() == LIMIT
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"  # not sent again


def test_pages_answer_429_with_the_reason(stepped_up_client, user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9/a")
    for _ in range(LIMIT):
        assert stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/test/").status_code == 302

    refused = stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/test/")

    assert refused.status_code == 429 and refused["Retry-After"]
    assert b"Too many test sends and redeliveries for this endpoint" in refused.content
    assert Delivery.objects.filter(endpoint=endpoint).count() == LIMIT
