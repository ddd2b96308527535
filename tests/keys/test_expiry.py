"""Beat and time: expiry warnings (e-mail and api_key.expiring, 7 days and 1 day before, once
each), api_key.expired, the inactivity policy and the maximum lifetime."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys import services
from keys.expiry import keys_lifecycle
from keys.models import ApiKey
from tests.support.factories import api_key_make
from tests.webhooks.sending import deliver
from webhooks.models import Delivery, Event

CLI = Actor(user=None, source=Source.CLI)
KEY_EVENTS = ("api_key.expiring", "api_key.expired")


@pytest.fixture
def beat(django_capture_on_commit_callbacks):
    """Run the beat task at a moment, with what it does on commit (mail; not the broker)."""

    def run(at):
        with time_machine.travel(at, tick=False):
            with django_capture_on_commit_callbacks() as callbacks:
                keys_lifecycle()
            for callback in callbacks:
                if callback.__name__ != "enqueue_deliveries":
                    callback()

    return run


def events_of(user, kind):
    found = Event.objects.filter(owner=user, type=kind).order_by("pk")
    return [json.loads(bytes(e.body)) for e in found]


def test_one_mail_and_one_event_per_threshold_none_twice(user, make_endpoint, beat):
    make_endpoint("https://example.com/hook", events=KEY_EVENTS)
    expires = timezone.now() + timedelta(days=10)
    key, token = api_key_make(user, "playgrounds:read", expires_at=expires)
    beat(expires - timedelta(days=8))  # nothing due yet
    assert mail.outbox == [] and events_of(user, "api_key.expiring") == []
    # seven days before, twice: one mail, one event
    beat(expires - timedelta(days=7) + timedelta(minutes=1))
    beat(expires - timedelta(days=6))
    assert len(mail.outbox) == 1 and "expires in 7 days" in mail.outbox[0].subject
    assert [e["data"]["expires_in_days"] for e in events_of(user, "api_key.expiring")] == [7]
    # one day before, twice: one more of each
    beat(expires - timedelta(hours=23))
    beat(expires - timedelta(hours=2))
    assert len(mail.outbox) == 2 and "expires tomorrow" in mail.outbox[1].subject
    expiring = events_of(user, "api_key.expiring")
    assert [e["data"]["expires_in_days"] for e in expiring] == [7, 1]
    # after the expiry: api_key.expired once, no mail
    beat(expires + timedelta(minutes=5))
    beat(expires + timedelta(hours=1))
    expired = events_of(user, "api_key.expired")
    assert len(expired) == 1 and len(mail.outbox) == 2
    data = expired[0]["data"]
    assert data == {
        "id": key.pk,
        "name": key.label,
        "label": key.label,
        "status": "expired",
        "last4": key.last4,
        "expires_at": data["expires_at"],
    }
    assert data["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))
    bodies = [m.body for m in mail.outbox] + [json.dumps(e) for e in expiring + expired]
    assert all(token not in b and token[5:20] not in b for b in bodies)


def test_a_key_expiring_tomorrow_is_delivered_to_a_subscribed_endpoint(
    user, make_endpoint, receiver, beat
):
    make_endpoint(receiver.url, events=["api_key.expiring"])
    expires = timezone.now() + timedelta(hours=20)
    key, _ = api_key_make(user, "playgrounds:read", expires_at=expires)
    beat(timezone.now())
    (delivery,) = Delivery.objects.filter(event__type="api_key.expiring")
    deliver(delivery.pk)
    got = json.loads(receiver.received[0].body)
    assert got["event"] == "api_key.expiring"
    assert got["data"]["id"] == key.pk and got["data"]["expires_in_days"] == 1
    assert len(mail.outbox) == 1  # straight to the one-day warning: the 7-day one is past


def test_a_moved_expiry_or_a_rotation_is_warned_again(user, beat):
    expires = timezone.now() + timedelta(days=3)
    key, _ = api_key_make(user, "playgrounds:read", expires_at=expires)
    beat(timezone.now())
    assert len(mail.outbox) == 1
    # the expiry moves (e.g. staff in the admin): warned again for the new date
    later = expires + timedelta(days=2)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=later)
    beat(timezone.now())
    assert len(mail.outbox) == 2
    beat(timezone.now())
    assert len(mail.outbox) == 2
    # rotated: the new token is warned again
    services.key_rotate(actor=CLI, key=ApiKey.objects.get(pk=key.pk))
    beat(timezone.now() + timedelta(minutes=1))
    assert len(mail.outbox) == 3


def test_unused_keys_expire_under_the_policy_with_a_warning_first(user, api_client, beat):
    user.key_inactivity_days = 30
    user.save(update_fields=["key_inactivity_days"])
    start = timezone.now()
    idle, _ = api_key_make(user, "playgrounds:read", label="idle")
    busy, busy_token = api_key_make(user, "playgrounds:read", label="busy")
    beat(start + timedelta(days=22))
    assert mail.outbox == []
    with time_machine.travel(start + timedelta(days=20), tick=False):
        assert api_client(busy_token).get("/api/v1/me").status_code == 200
    beat(start + timedelta(days=23, minutes=1))
    beat(start + timedelta(days=24))
    assert [m.subject for m in mail.outbox] == [
        "Your Fibe API key “idle” will expire for being unused"
    ]
    beat(start + timedelta(days=30, minutes=1))
    idle.refresh_from_db()
    busy.refresh_from_db()
    assert idle.status == ApiKey.Status.EXPIRED and busy.status == ApiKey.Status.ACTIVE
    row = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.KEY_EXPIRED)
    assert row.detail["reason"] == "inactive" and row.detail["key_id"] == idle.pk
    # the busy key is warned 7 days before its own idle deadline
    beat(start + timedelta(days=43, minutes=1))
    assert len(mail.outbox) == 2 and "busy" in mail.outbox[1].subject


def test_without_the_policy_unused_keys_stay(user, beat):
    key, _ = api_key_make(user, "playgrounds:read")
    beat(timezone.now() + timedelta(days=400))
    key.refresh_from_db()
    assert key.status == ApiKey.Status.ACTIVE and mail.outbox == []


def test_a_maximum_lifetime_requires_and_caps_the_expiry(user):
    user.key_max_lifetime_days = 90
    user.save(update_fields=["key_max_lifetime_days"])
    with pytest.raises(ValidationError) as no_expiry:
        api_key_make(user, "playgrounds:read")
    assert "expires_at" in no_expiry.value.message_dict
    with pytest.raises(ValidationError):
        api_key_make(user, "playgrounds:read", expires_at=timezone.now() + timedelta(days=91))
    key, _ = api_key_make(user, "playgrounds:read", expires_at=timezone.now() + timedelta(days=90))
    assert key.pk


def test_a_lapsed_overlap_is_cleared_with_a_log_row(user, beat):
    key, _ = api_key_make(user, "playgrounds:read")
    services.key_rotate(actor=CLI, key=key, overlap="1h")
    beat(timezone.now() + timedelta(minutes=30))
    assert ApiKey.objects.get(pk=key.pk).previous_digest
    beat(timezone.now() + timedelta(hours=1, minutes=1))
    assert ApiKey.objects.get(pk=key.pk).previous_digest == ""
    row = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.KEY_OLD_TOKEN_ENDED)
    assert row.detail["reason"] == "lapsed"
