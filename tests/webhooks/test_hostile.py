"""Hostile receivers against the send task's pipeline in this process: whatever a receiver
answers, a test delivery is sent once and leaves exactly one attempt row, with a reason when it
failed; a lost attempt is recorded by the beat scan, counted and capped."""

import threading
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from webhooks import services
from webhooks.engine import scan, transport
from webhooks.engine.pipeline import deliveries_send
from webhooks.engine.retry import MAX_ATTEMPTS
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event

from .hostile import BOMB_BYTE, BOMB_SIZE, MODES, HostileReceiver, gzip_bomb
from .sending import deliver

DATA = {"id": 1, "name": "pg", "status": "running"}
SUCCEED = {"nul_body", "invalid_utf8", "oversize", "nul_header", "gzip_bomb"}


@pytest.fixture
def hostile():
    started = []

    def start(mode, **kwargs):
        server = HostileReceiver(mode, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def short_budget(settings):
    settings.WEBHOOKS_ATTEMPT_BUDGET = 2.0
    settings.WEBHOOKS_READ_TIMEOUT = 1.0


def _test_send(endpoint) -> Delivery:
    return services.endpoint_test(actor=Actor.system(), endpoint=endpoint)


@pytest.mark.parametrize("mode", MODES)
def test_a_test_delivery_is_sent_once_and_logged_once(
    mode, hostile, short_budget, make_endpoint, settings
):
    server = hostile(mode)
    delivery = _test_send(make_endpoint(server.url))

    attempt = deliver(delivery)
    # the message sent again, and the beat scan long after: nothing is sent twice
    assert deliver(delivery) is None
    settings.WEBHOOKS_STUCK_AFTER = timedelta(0)
    scan.deliveries_enqueue_due()
    assert deliver(delivery) is None

    assert server.count == 1
    delivery.refresh_from_db()
    assert delivery.in_flight_since is None and delivery.attempt_count == 1
    (stored,) = Attempt.objects.filter(delivery=delivery)
    assert stored.pk == attempt.pk and stored.number == 1 and stored.trigger == "test"
    assert "\x00" not in stored.response_body + str(stored.response_headers)
    assert len(stored.response_body) <= Attempt.RESPONSE_BODY_LIMIT
    assert stored.duration_ms < 4000  # the 2 s budget (or 1 s read timeout) cut it
    if mode in SUCCEED and stored.failure_reason == "":
        assert delivery.status == "succeeded" and stored.response_status == 200
    else:
        assert delivery.status == "failed" and stored.failure_reason, stored.failure_reason
    if mode in ("dribble_headers", "dribble_body"):
        assert "attempt budget" in stored.failure_reason
    if mode == "cut_short":
        assert stored.failure_reason.startswith("Response cut short after HTTP 200")


def test_a_nested_gzip_bomb_is_cut_at_the_body_limit_and_recorded(hostile, make_endpoint):
    # given a receiver answering 200 with a body gzipped twice that expands to 256 MiB
    server = hostile("gzip_bomb")
    delivery = _test_send(make_endpoint(server.url))
    assert len(gzip_bomb()) < 10_000  # (built before measuring)

    tracemalloc.start()
    try:
        attempt = deliver(delivery)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then it was decoded no further than the log keeps, and recorded like any answer
    assert server.count == 1 and attempt.response_status == 200
    assert attempt.failure_reason == ""
    assert attempt.response_body == BOMB_BYTE.decode() * Attempt.RESPONSE_BODY_LIMIT
    assert attempt.response_headers["Content-Encoding"] == "gzip, gzip"
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert peak < 8 * 1024 * 1024 < BOMB_SIZE  # this whole process, sending thread included


@pytest.mark.parametrize("in_thread", [False, True])
@pytest.mark.parametrize("mode", ["dribble_headers", "dribble_body"])
def test_the_attempt_deadline_holds_in_any_thread_without_a_signal(
    mode, in_thread, hostile, short_budget
):
    # given a receiver dribbling a byte every 0.3 s (never a read timeout), sent to from the
    # main thread or a thread of its own: no SIGALRM, no caller sweeping sockets
    server = hostile(mode)
    got = []

    def send():
        got.append(transport.post(server.url, body=b"{}", headers={}))

    if in_thread:
        thread = threading.Thread(target=send)
        thread.start()
        thread.join(10)
    else:
        send()

    (response,) = got
    assert "attempt budget" in response.failure_reason and not response.ok
    assert response.duration_ms < 3500  # the 2 s budget, and a margin for this busy machine


@pytest.mark.parametrize("mode", ["retry_after_huge", "retry_after_arabic", "retry_after_date"])
def test_a_hostile_retry_after_keeps_the_schedule_bounded(mode, hostile, user, make_endpoint):
    server = hostile(mode)
    make_endpoint(server.url)
    publish_event(owner=user, event="playground.created", data=DATA)
    delivery = Delivery.objects.get()

    attempt = deliver(delivery)

    delivery.refresh_from_db()
    assert delivery.status == "retrying" and attempt.response_status in (429, 503)
    # at most twice the first scheduled delay (5 s + 20 % jitter)
    assert delivery.next_attempt_at - attempt.created_at <= timedelta(seconds=12.1)


def test_a_body_the_database_refuses_still_leaves_one_attempt(hostile, make_endpoint, monkeypatch):
    # given storage that would hand PostgreSQL the receiver's NUL bytes as they came
    monkeypatch.setattr(transport, "storable", lambda text, limit: text)
    server = hostile("nul_body")
    delivery = _test_send(make_endpoint(server.url))

    attempt = deliver(delivery)

    delivery.refresh_from_db()
    assert server.count == 1 and delivery.in_flight_since is None
    assert delivery.status == "succeeded"  # the receiver took it; only its answer is lost
    assert attempt.response_status == 200 and attempt.response_body == ""
    assert "could not be stored" in attempt.failure_reason


def _stuck(delivery, *, count):
    Delivery.objects.filter(pk=delivery.pk).update(
        in_flight_since=timezone.now() - timedelta(hours=1), attempt_count=count
    )


@pytest.mark.parametrize(
    ("count", "test", "expected"),
    [(1, False, "retrying"), (MAX_ATTEMPTS, False, "failed"), (1, True, "failed")],
)
def test_a_lost_attempt_is_recorded_counted_and_capped(
    count, test, expected, user, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url)
    if test:
        delivery = _test_send(endpoint)
    else:
        publish_event(owner=user, event="playground.created", data=DATA)
        delivery = Delivery.objects.get()
    _stuck(delivery, count=count)

    assert scan.deliveries_close_lost() == 1
    assert scan.deliveries_close_lost() == 0

    delivery.refresh_from_db()
    assert delivery.status == expected and delivery.in_flight_since is None
    (lost,) = delivery.attempts.all()
    assert lost.number == count and lost.failure_reason == scan.LOST_REASON
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver(delivery)
    assert len(receiver.received) == (1 if expected == "retrying" else 0)


@pytest.mark.django_db(transaction=True)  # the scan runs in the sending thread, on its own
def test_an_outcome_arriving_after_the_scan_recorded_it_lost_changes_nothing(
    user, make_endpoint, receiver, monkeypatch, settings
):
    make_endpoint(receiver.url)
    publish_event(owner=user, event="playground.created", data=DATA)
    delivery = Delivery.objects.get()
    real_post = transport.post

    def slow_post(url, **kwargs):  # the scan runs while the receiver is being answered
        response = real_post(url, **kwargs)
        settings.WEBHOOKS_STUCK_AFTER = timedelta(0)
        try:
            assert scan.deliveries_close_lost() == 1
        finally:
            connection.close()  # this sending thread's own connection
        return response

    monkeypatch.setattr(transport, "post", slow_post)

    assert deliveries_send(delivery_ids=[delivery.pk]) == 1

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    (only,) = delivery.attempts.all()  # the scan's; the late 200 changed nothing
    assert only.failure_reason == scan.LOST_REASON and only.response_status is None
    assert delivery.status == "retrying" and delivery.attempt_count == 1


def test_a_cookie_a_receiver_sets_is_never_sent_on():
    """One sending thread delivers to many endpoints of one host, of any account: a receiver's
    Set-Cookie must not ride along to the next endpoint it sends to."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Set-Cookie", "session=account-a; Path=/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        first = transport.post(f"{base}/account-a", body=b"{}", headers={})
        second = transport.post(f"{base}/account-b", body=b"{}", headers={})
    finally:
        server.shutdown()
        server.server_close()
    assert first.ok and second.ok
    assert first.headers.get("Set-Cookie") == "session=account-a; Path=/"
    assert seen == [None, None]
