"""The send task's pipeline (claim → send → record) in this process, one delivery named per
call, against a real HTTP server on loopback: what a delivery sends, how its outcome is
recorded, the retry schedule, 410, and the beat's upkeep."""

import base64
import json
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from fibe_access.accounts.models import SecurityEvent
from tests.support.fixtures import SECRET
from tests.support.servers import Reply, free_port
from webhooks.engine import upkeep
from webhooks.engine.pipeline import deliveries_send
from webhooks.engine.retry import RETRY_SCHEDULE, parse_retry_after, retry_delay
from webhooks.models import Delivery
from webhooks.publish import publish_event
from webhooks.signing import github_signature

from .sending import deliver

DATA = {"id": 9, "name": "My Playground", "status": "running"}


def _publish(user, event="playground.created"):
    publish_event(owner=user, event=event, data=DATA)
    return Delivery.objects.select_related("event").latest("pk")


def test_delivery_sends_one_signed_post(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    delivery = _publish(user)

    attempt = deliver(delivery)

    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.body == bytes(delivery.event.body)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Playground-Event"] == "playground.created"
    assert got.headers["X-Playground-Delivery"] == str(delivery.uid)
    assert got.headers["X-Playground-Signature"] == github_signature(SECRET, got.body)
    verified = Webhook(base64.b64encode(SECRET.encode()).decode()).verify(got.body, got.headers)
    assert verified["data"] == DATA
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.in_flight_since is None
    assert (attempt.number, attempt.trigger, attempt.response_status) == (1, "scheduled", 200)
    assert attempt.response_body == "ok" and attempt.failure_reason == ""


def test_500_then_200_is_two_attempts_and_one_success(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    receiver.reply(Reply(status=500, body=b"boom"))
    delivery = _publish(user)

    first = deliver(delivery)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING
    assert (
        timedelta(seconds=3.9)
        < delivery.next_attempt_at - first.created_at
        < timedelta(seconds=6.1)
    )
    assert deliver(delivery) is None  # not due yet

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    second = deliver(delivery)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.attempt_count == 2
    assert [a.response_status for a in delivery.attempts.all()] == [500, 200]
    assert first.failure_reason == "Receiver answered HTTP 500."
    assert second.number == 2
    first_req, second_req = receiver.received
    assert first_req.body == second_req.body
    assert first_req.headers["X-Playground-Delivery"] == second_req.headers["X-Playground-Delivery"]


def test_retries_exhausted_fail_the_delivery_and_start_the_endpoint_clock(
    user, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url)
    receiver.default = Reply(status=503)
    delivery = _publish(user)

    for _ in range(len(RETRY_SCHEDULE) + 1):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        deliver(delivery)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempt_count == 8
    assert endpoint.failing_since is not None and endpoint.is_active


def test_retry_schedule_and_retry_after_bounds():
    for n, base in enumerate(RETRY_SCHEDULE, start=1):
        delay = retry_delay(n)
        assert base * 0.8 <= delay <= base * 1.2
    assert retry_delay(len(RETRY_SCHEDULE) + 1) is None
    # Retry-After may lengthen the wait up to twice the schedule, never shorten it.
    assert retry_delay(2, timedelta(hours=5)) <= timedelta(minutes=12)
    assert retry_delay(2, timedelta(seconds=1)) >= timedelta(minutes=4)
    assert retry_delay(2, timedelta(minutes=7)) == timedelta(minutes=7)
    assert parse_retry_after("120") == timedelta(seconds=120)
    assert parse_retry_after("soon") is None


def test_retry_after_header_is_honoured(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    # 7 s lies within [1x, 2x] of the first scheduled delay (5 s ± 20 %), so it is used as is.
    receiver.reply(Reply(status=429, headers={"Retry-After": "7"}))
    delivery = _publish(user)

    attempt = deliver(delivery)

    delivery.refresh_from_db()
    wait = delivery.next_attempt_at - attempt.created_at
    assert timedelta(seconds=6.9) < wait < timedelta(seconds=7.5)


def test_read_timeout_is_a_clear_failure(user, make_endpoint, receiver, settings):
    settings.WEBHOOKS_READ_TIMEOUT = 0.5
    make_endpoint(receiver.url)
    receiver.reply(Reply(delay=2))
    delivery = _publish(user)

    attempt = deliver(delivery)

    assert attempt.response_status is None
    assert attempt.failure_reason == "No response within 0.5 s (read timeout)."
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING


def test_connection_refused_is_a_clear_failure(user, make_endpoint):
    make_endpoint(f"http://127.0.0.1:{free_port()}/hook")
    delivery = _publish(user)

    attempt = deliver(delivery)

    assert attempt.response_status is None
    assert attempt.failure_reason == "Connection refused."


def test_410_disables_the_endpoint_and_tells_the_owner(user, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url)
    receiver.reply(Reply(status=410))
    delivery = _publish(user)

    deliver(delivery)

    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert delivery.status == Delivery.Status.FAILED and delivery.next_attempt_at is None
    log = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.WEBHOOK_DISABLED)
    assert log.detail["url"] == receiver.url
    assert publish_event(owner=user, event="playground.created", data=DATA) is None


def test_redirect_to_a_private_address_is_not_followed(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    receiver.reply(Reply(status=302, headers={"Location": "http://169.254.169.254/latest/"}))
    delivery = _publish(user)

    attempt = deliver(delivery)

    assert len(receiver.received) == 1
    assert attempt.response_status == 302
    assert attempt.failure_reason.startswith("Redirect (302) not followed")


def test_name_resolving_to_loopback_is_refused_at_send(user, make_endpoint, receiver, settings):
    make_endpoint(f"https://localhost:{receiver.port}/hook")
    delivery = _publish(user)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    attempt = deliver(delivery)

    assert receiver.received == []
    assert attempt.response_status is None
    assert attempt.failure_reason.startswith("Refused: The host localhost resolves to a loopback")


def test_plain_http_is_refused_at_send_when_private_targets_are_off(
    user, make_endpoint, receiver, settings
):
    make_endpoint(receiver.url)
    delivery = _publish(user)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    attempt = deliver(delivery)

    assert receiver.received == []
    assert attempt.failure_reason == "Refused: The URL must use HTTPS."


def test_finished_delivery_is_not_sent_again(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    delivery = _publish(user)
    deliver(delivery)

    assert deliver(delivery) is None
    assert len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_same_delivery_run_twice_at_once_sends_one_request(user, make_endpoint, receiver, broker):
    make_endpoint(receiver.url)
    receiver.default = Reply(delay=0.5)
    delivery = _publish(user)
    start = threading.Barrier(2)
    results = []

    def run():
        start.wait()
        try:
            results.append(deliveries_send(delivery_ids=[delivery.pk]))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(receiver.received) == 1
    assert sorted(results) == [0, 1]  # how many each call sent
    assert Delivery.objects.get(pk=delivery.pk).attempts.count() == 1


def test_disable_failing_endpoints_after_the_window(user, make_endpoint, settings):
    settings.WEBHOOKS_DISABLE_AFTER = timedelta(days=5)
    old = make_endpoint(
        "https://old.example/hook", failing_since=timezone.now() - timedelta(days=6)
    )
    recent = make_endpoint(
        "https://new.example/hook", failing_since=timezone.now() - timedelta(days=1)
    )

    assert upkeep.endpoints_disable_failing() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.is_active and recent.is_active
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.WEBHOOK_DISABLED, detail__url=old.url
        ).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_disabling_emails_the_owner(user, make_endpoint):
    make_endpoint("https://old.example/hook", failing_since=timezone.now() - timedelta(days=9))

    upkeep.endpoints_disable_failing()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "https://old.example/hook" in mail.outbox[0].body
    assert SECRET not in mail.outbox[0].body


def test_success_resets_the_failure_clock(user, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url, failing_since=timezone.now() - timedelta(days=2))
    delivery = _publish(user)

    deliver(delivery)

    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_purge_removes_logs_older_than_retention(user, make_endpoint, receiver, settings):
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    make_endpoint(receiver.url)
    old, new = _publish(user), _publish(user)
    deliver(old)
    old.event.__class__.objects.filter(pk=old.event_id).update(
        created_at=timezone.now() - timedelta(days=31)
    )

    assert upkeep.deliveries_purge_old() >= 1

    assert list(Delivery.objects.values_list("pk", flat=True)) == [new.pk]


def test_body_is_stored_once_and_is_valid_json(user, make_endpoint):
    make_endpoint("https://a.example/hook", events=["playground.stopped"])
    delivery = _publish(user, event="playground.stopped")

    body = json.loads(bytes(delivery.event.body))

    assert body["event"] == "playground.stopped"
