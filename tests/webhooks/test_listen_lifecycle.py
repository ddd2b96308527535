"""A listen session's life in the security log and the beat: opening, ending (DELETE) and lapsing
each leave a row naming the key and the host; the beat task ends lapsed sessions with their
queued events; ending one's own session needs no person's approval even on a key with
"Confirm destructive actions" on."""

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from fibe_access.accounts.models import SecurityEvent
from fibe_access.celery import app as celery_app
from fibe_access.resources.models import Playspec
from keys.models import Confirmation
from tests.support.factories import api_key_make, resource_make
from webhooks.listen_tasks import sessions_expire
from webhooks.models import ListenDelivery, ListenEvent, ListenSession
from webhooks.publish import publish_event

from .listening import open_session

Kind = SecurityEvent.Kind
DATA = {"id": 1, "name": "pg", "status": "running", "playspec_id": None}


def lapse(session_id: int) -> None:
    ListenSession.objects.filter(pk=session_id).update(
        last_polled_at=timezone.now() - timedelta(seconds=django_settings.WEBHOOKS_LISTEN_TTL + 1)
    )


def listen_rows(user):
    return list(
        SecurityEvent.objects.filter(
            user=user, kind__in=[Kind.LISTEN_STARTED, Kind.LISTEN_ENDED]
        ).order_by("id")
    )


def test_opening_and_ending_are_logged_naming_the_key_and_host(user, api_client):
    key, token = api_key_make(user, "webhooks:read", label="laptop key")
    client = api_client(token)
    session = open_session(client)

    assert client.delete(f"/api/v1/webhooks/sessions/{session['id']}").status_code == 204

    started, ended = listen_rows(user)
    for row in (started, ended):
        assert row.detail["label"] == "laptop key"
        assert row.detail["key_id"] == key.pk
        assert row.detail["host"] == "laptop.local"
        assert row.detail["session_id"] == session["id"]
        assert row.detail["source"] == "api"
    assert started.kind == Kind.LISTEN_STARTED
    assert ended.kind == Kind.LISTEN_ENDED
    assert "laptop.local" in started.detail["reason"]
    assert "ended by its client" in ended.detail["reason"]
    assert session["secret"] not in str(started.detail) + str(ended.detail)


def test_the_security_page_shows_them(user, api_client, stepped_up_client):
    client = api_client(api_key_make(user, "webhooks:read", label="laptop key")[1])
    open_session(client)

    page = stepped_up_client.get("/profile/security/").content.decode()

    assert "CLI listen session started: on laptop.local" in page
    assert "laptop key" in page


def test_the_beat_task_ends_lapsed_sessions_with_their_events_and_logs_the_lapse(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read", label="laptop key")[1])
    lapsed, live = open_session(client), open_session(client, host="desk")
    publish_event(owner=user, event="playground.created", data=DATA)
    client.get(f"/api/v1/webhooks/sessions/{lapsed['id']}/events", {"wait": 0})  # logged
    lapse(lapsed["id"])

    result = sessions_expire()

    assert result["ended"] == 1
    assert list(ListenSession.objects.values_list("pk", flat=True)) == [live["id"]]
    assert not ListenEvent.objects.filter(session_id=lapsed["id"]).exists()
    assert ListenEvent.objects.filter(session_id=live["id"]).count() == 1
    # the log of what it was handed stays (purged with the delivery-log retention)
    assert ListenDelivery.objects.filter(session_ref=lapsed["id"]).count() == 1
    ended = listen_rows(user)[-1]
    assert ended.kind == Kind.LISTEN_ENDED
    assert ended.detail["source"] == "system"
    assert ended.detail["host"] == "laptop.local" and ended.detail["label"] == "laptop key"
    assert "not polled" in ended.detail["reason"]
    assert sessions_expire()["ended"] == 0  # logged once


def test_opening_a_session_ends_the_owners_lapsed_ones_logged(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read")[1])
    old = open_session(client, host="old")
    lapse(old["id"])

    open_session(client, host="new")

    assert not ListenSession.objects.filter(pk=old["id"]).exists()
    lapsed = [r for r in listen_rows(user) if r.kind == Kind.LISTEN_ENDED]
    assert [r.detail["host"] for r in lapsed] == ["old"]


def test_the_beat_schedule_runs_the_task_on_a_real_worker(user, api_client, start_worker):
    client = api_client(api_key_make(user, "webhooks:read")[1])
    session = open_session(client)
    lapse(session["id"])
    [entry] = [
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "webhooks.listen_tasks.sessions_expire"
    ]
    assert entry["schedule"].run_every <= timedelta(seconds=django_settings.WEBHOOKS_LISTEN_TTL)
    start_worker()

    celery_app.send_task(entry["task"])  # what beat sends
    deadline = time.monotonic() + 30
    while ListenSession.objects.filter(pk=session["id"]).exists():
        assert time.monotonic() < deadline, "the worker did not end the lapsed session"
        time.sleep(0.1)

    assert listen_rows(user)[-1].kind == Kind.LISTEN_ENDED


@pytest.mark.parametrize("confirm", [True, False])
def test_ending_ones_own_session_needs_no_approval_even_with_confirm_destructive(
    user, api_client, confirm
):
    token = api_key_make(user, "webhooks:read", "playspecs:delete", confirm_destructive=confirm)[1]
    client = api_client(token)
    session = open_session(client)
    spec = resource_make(Playspec, user)

    ended = client.delete(f"/api/v1/webhooks/sessions/{session['id']}")
    deleted = client.delete(f"/api/v1/playspecs/{spec.pk}")

    assert ended.status_code == 204, ended.content
    assert not ListenSession.objects.filter(pk=session["id"]).exists()
    # the switch is on for this key: a real destructive call still waits for a person
    assert deleted.status_code == (403 if confirm else 204), deleted.content
    assert Confirmation.objects.filter(operation="webhooks.listen_end").count() == 0
