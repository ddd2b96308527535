"""A receiver answering 410 to test sends cannot make Fibe mail in a loop: the owner hears about
one endpoint's disabling once a day, and at most a few notices an hour in all."""

import pytest

from fibe_access.accounts.models import SecurityEvent
from tests.support.servers import Receiver, Reply
from webhooks.models import Delivery, WebhookEndpoint

from ..sending import deliver


@pytest.fixture
def gone_receiver():
    server = Receiver()
    server.default = Reply(status=410)
    yield server
    server.stop()


def _test_send_and_deliver(client, endpoint, capture):
    with capture(execute=False):  # no broker: the send task's body runs here
        assert client.post(f"/profile/webhooks/{endpoint.pk}/test/").status_code == 302
    delivery = Delivery.objects.filter(endpoint=endpoint, is_test=True).latest("id")
    with capture(execute=True):
        deliver(delivery)


def test_test_webhook_answered_410_and_re_enabled_ten_times_mails_once(
    user, stepped_up_client, gone_receiver, mailoutbox, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url=gone_receiver.url, events=["playground.created"]
    )
    for _ in range(10):
        _test_send_and_deliver(stepped_up_client, endpoint, django_capture_on_commit_callbacks)
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert stepped_up_client.post(f"/profile/webhooks/{endpoint.pk}/enable/").status_code == 302
    assert len(gone_receiver.received) == 10
    assert SecurityEvent.objects.filter(user=user, kind="webhook_disabled").count() == 10
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Your Fibe webhook endpoint was disabled"
    assert SecurityEvent.objects.filter(user=user, kind="notice_sent").count() == 1


def test_many_endpoints_answering_410_mail_at_most_the_hourly_limit(
    user, stepped_up_client, gone_receiver, mailoutbox, django_capture_on_commit_callbacks
):
    endpoints = [
        WebhookEndpoint.objects.create(
            owner=user, url=f"{gone_receiver.url}/{i}", events=["playground.created"]
        )
        for i in range(8)
    ]
    for endpoint in endpoints:
        _test_send_and_deliver(stepped_up_client, endpoint, django_capture_on_commit_callbacks)
    assert not WebhookEndpoint.objects.filter(is_active=True).exists()
    assert len(mailoutbox) == 5
