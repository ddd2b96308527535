from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from webhooks import services
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

URL = "http://127.0.0.1:9/fibe"  # loopback: allowed in tests, never resolved


def _endpoint(user, **kw):
    kw.setdefault("url", URL)
    kw.setdefault("events", ["playground.created"])
    return services.endpoint_create(actor=Actor(user=user, source=Source.API), **kw)


def _deliveries(endpoint, n, status="succeeded"):
    event = Event.objects.create(type="playground.created", owner=endpoint.owner, body=b"{}")
    ds = Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint, status=status, attempt_count=1) for _ in range(n)
    )
    Attempt.objects.bulk_create(
        Attempt(
            delivery=d,
            number=1,
            trigger="scheduled",
            request_url=endpoint.url,
            request_body=b"{}",
            response_status=200 if status == "succeeded" else 500,
            duration_ms=12,
        )
        for d in ds
    )
    return ds


def _post_new(client, **data):
    payload = {
        "url": URL,
        "events": ["playground.created", "playroom.deleted"],
        "secret": "",
        "description": "CI notifier",
        "is_active": "on",
    }
    payload.update(data)
    return client.post("/profile/webhooks/new/", payload)


def test_empty_state_explains_webhooks_and_signatures(stepped_up_client):
    page = stepped_up_client.get("/profile/webhooks/")
    assert b"No webhooks yet" in page.content
    assert b"X-Playground-Signature" in page.content
    assert b"hmac.compare_digest" in page.content


def test_create_shows_the_secret_once_then_only_its_end(stepped_up_client, user):
    response = _post_new(stepped_up_client, secret="s3cr3t-value-abcd")
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(owner=user)
    assert endpoint.events == ["playground.created", "playroom.deleted"]
    first = stepped_up_client.get(response["Location"])
    assert b"s3cr3t-value-abcd" in first.content
    second = stepped_up_client.get(response["Location"])
    assert b"s3cr3t-value-abcd" not in second.content
    assert "••••abcd".encode() in second.content
    assert SecurityEvent.objects.filter(user=user, kind="webhook_created").exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"url": "http://hooks.example.com/x"}, b"HTTPS"),
        ({"url": "https://127.0.0.1/x"}, b"127.0.0.1"),
        ({"url": "https://10.0.0.8/x"}, b"10.0.0.8"),
        ({"url": "https://169.254.169.254/latest"}, b"169.254.169.254"),
        ({"url": "not a url"}, b"URL"),
        ({"events": []}, b"Choose at least one event."),
        ({"events": ["playground.exploded"]}, b"Unknown event"),
        ({"description": "bad\x07bell"}, b"Control characters"),
    ],
)
def test_bad_or_unsafe_targets_are_refused_clearly(stepped_up_client, settings, data, message):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = _post_new(stepped_up_client, **data)
    assert response.status_code == 200
    assert message in response.content, response.content.decode()[-3000:]
    assert not WebhookEndpoint.objects.exists()


def test_hostile_description_is_escaped(stepped_up_client, user):
    _endpoint(user, description="<img src=x onerror=alert(1)>")
    page = stepped_up_client.get("/profile/webhooks/")
    assert b"<img src=x" not in page.content


def test_edit_keeps_secret_when_blank_and_logs_changes(stepped_up_client, user):
    endpoint = _endpoint(user, secret="original-secret")
    response = stepped_up_client.post(
        f"/profile/webhooks/{endpoint.pk}/edit/",
        {"url": URL + "/v2", "events": ["playspec.created"], "secret": "", "is_active": "on"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "original-secret"
    assert endpoint.url == URL + "/v2"
    stepped_up_client.post(
        f"/profile/webhooks/{endpoint.pk}/edit/",
        {"url": endpoint.url, "events": ["playspec.created"], "secret": "new-secret-9999"},
    )
    endpoint.refresh_from_db()
    assert endpoint.secret == "new-secret-9999"
    assert not endpoint.is_active
    kinds = list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    for kind in ("webhook_updated", "webhook_secret_changed", "webhook_disabled"):
        assert kind in kinds


def test_disabled_endpoint_shows_reason_and_can_be_re_enabled(stepped_up_client, user):
    endpoint = _endpoint(user)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="The endpoint answered 410 Gone."
    )
    page = stepped_up_client.get("/profile/webhooks/")
    assert b"410 Gone" in page.content and b"Re-enable" in page.content
    stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert SecurityEvent.objects.filter(user=user, kind="webhook_enabled").exists()


def test_test_webhook_button_creates_a_test_delivery(stepped_up_client, user):
    endpoint = _endpoint(user)
    response = stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.is_test and delivery.event.type == "playground.created"


def test_log_filters_and_detail(stepped_up_client, user):
    endpoint = _endpoint(user)
    ok = _deliveries(endpoint, 2)
    bad = _deliveries(endpoint, 1, status="failed")
    page = stepped_up_client.get(f"/profile/webhooks/{endpoint.pk}/?status=failed")
    assert page.content.count(b"/profile/webhooks/deliveries/") == 2  # link + details button
    assert f"/deliveries/{bad[0].pk}/".encode() in page.content
    assert f"/deliveries/{ok[0].pk}/".encode() not in page.content
    detail = stepped_up_client.get(f"/profile/webhooks/deliveries/{bad[0].pk}/")
    assert b"HTTP 500" in detail.content and b"Attempt 1" in detail.content


def test_bad_filter_values_are_ignored_not_500(stepped_up_client, user):
    endpoint = _endpoint(user)
    page = stepped_up_client.get(f"/profile/webhooks/{endpoint.pk}/?status=%00&event=x&page=zz")
    assert page.status_code == 200


def test_redeliver_and_recover(stepped_up_client, user):
    endpoint = _endpoint(user)
    failed = _deliveries(endpoint, 3, status="failed")
    stepped_up_client.post(f"/profile/webhooks/deliveries/{failed[0].pk}/redeliver/")
    assert Delivery.objects.get(pk=failed[0].pk).status == "pending"
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/recover/", {"since": since})
    assert not Delivery.objects.filter(endpoint=endpoint, status="failed").exists()
    bad = stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/recover/", {"since": "soon"})
    assert bad.status_code == 302


def test_delete_endpoint(stepped_up_client, user):
    endpoint = _endpoint(user)
    stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert SecurityEvent.objects.filter(user=user, kind="webhook_deleted").exists()


@pytest.mark.parametrize("path", ["", "edit/", "test/", "enable/", "delete/"])
def test_one_user_cannot_see_or_act_on_anothers_endpoint(stepped_up_client, other_user, path):
    theirs = _endpoint(other_user, description="their endpoint")
    assert stepped_up_client.get(f"/profile/webhooks/{theirs.pk}/{path}").status_code == 404
    assert stepped_up_client.post(f"/profile/webhooks/{theirs.pk}/{path}").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()
    assert not Delivery.objects.filter(endpoint=theirs).exists()


def test_one_user_cannot_see_or_redeliver_anothers_delivery(stepped_up_client, other_user):
    theirs = _deliveries(_endpoint(other_user), 1, status="failed")[0]
    for path in ("", "redeliver/"):
        url = f"/profile/webhooks/deliveries/{theirs.pk}/{path}"
        assert stepped_up_client.get(url).status_code == 404
        assert stepped_up_client.post(url).status_code == 404
    assert Delivery.objects.get(pk=theirs.pk).status == "failed"
    assert b"their" not in stepped_up_client.get("/profile/webhooks/").content


def test_csrf_is_enforced_on_endpoint_creation(user, make_stepped_up_client):
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = make_stepped_up_client(user).cookies
    response = strict.post("/profile/webhooks/new/", {"url": URL, "events": ["playroom.created"]})
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_page_query_counts_do_not_grow_with_deliveries(stepped_up_client, user):
    endpoint = _endpoint(user)
    _endpoint(user, url=URL + "/second")
    _deliveries(endpoint, 3)
    few_list = _queries(stepped_up_client, "/profile/webhooks/")
    few_log = _queries(stepped_up_client, f"/profile/webhooks/{endpoint.pk}/")
    _deliveries(endpoint, 120)
    _deliveries(endpoint, 30, status="failed")
    assert _queries(stepped_up_client, "/profile/webhooks/") == few_list
    assert _queries(stepped_up_client, f"/profile/webhooks/{endpoint.pk}/") == few_log


def test_recent_outcomes_union_and_window_paths_agree(user, monkeypatch):
    from webhooks import presenters

    first, second = _endpoint(user), _endpoint(user, url=URL + "/2")
    _deliveries(first, 60)
    _deliveries(second, 3, status="failed")
    union = presenters.recent_outcomes([first.pk, second.pk])
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    window = presenters.recent_outcomes([first.pk, second.pk])
    assert union == window
    assert len(union[first.pk]) == presenters.STRIP_LENGTH
    assert [r["status"] for r in union[second.pk]] == ["failed"] * 3
