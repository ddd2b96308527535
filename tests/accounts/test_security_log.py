"""The security log page shows no webhook URL, cannot be flooded out of view by failed
sign-ins, and keeps a bounded history with a count of what was dropped."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.securitylog import security_log_sign_in_failure, security_log_trim
from fibe_access.accounts.services import security_log
from fibe_access.accounts.views import SECURITY_LOG_PAGE
from tests.support.pages import NEWER, OLDER, Sql, assert_flat, link, walk
from webhooks import services as webhook_services

SECRET_URL = "https://user:pa55@hooks.example.com:8443/in/tok_live_SECRET123?key=SECRET456#x"


def test_the_page_shows_a_webhook_host_never_its_url(user, logged_in_client, web_actor):
    endpoint = webhook_services.endpoint_create(
        actor=web_actor,
        url="http://127.0.0.1:9/in/tok_live_SECRET123",
        events=["playground.created"],
    )
    webhook_services.endpoint_update(
        actor=web_actor, endpoint=endpoint, url="http://127.0.0.1:9/in/tok_live_SECRET456"
    )
    security_log(actor=web_actor, user=user, kind="webhook_deleted", url=SECRET_URL)
    page = logged_in_client.get("/profile/security/").content.decode()
    assert "SECRET" not in page and "pa55" not in page
    assert "http://127.0.0.1:9/…" in page
    assert "https://hooks.example.com:8443/…" in page


def test_failed_sign_ins_from_a_thousand_addresses_cannot_push_events_out_of_view(
    user, logged_in_client, web_actor
):
    security_log(actor=web_actor, user=user, kind="key_created", label="Deploy bot")
    for i in range(1000):
        actor = Actor(user=None, source=Source.WEB, ip=f"10.{i // 250}.{i % 250}.1")
        security_log_sign_in_failure(actor=actor, user=user, refused=False)
    rows = SecurityEvent.objects.filter(user=user, kind="sign_in_failed")
    assert rows.count() == 11  # ten addresses, then one row for the rest
    assert sum(rows.values_list("count", flat=True)) == 1000
    page = logged_in_client.get("/profile/security/").content.decode()
    assert "Deploy bot" in page
    assert "many addresses" in page and "×990" in page


def test_the_log_pages_through_everything_it_keeps(user, logged_in_client, web_actor):
    for i in range(120):
        security_log(actor=web_actor, user=user, kind="key_created", label=f"key {i:03}")
    # following "Older →" from the newest page reaches the oldest entry, each entry once
    pages = walk(logged_in_client, "/profile/security/")
    assert len(pages) == -(-120 // SECURITY_LOG_PAGE)
    assert "key 119" in pages[0] and "key 000" not in pages[0]
    assert "key 000" in pages[-1] and "key 119" not in pages[-1]
    shown = re.findall(r"key \d{3}", "".join(pages))
    assert shown == [f"key {i:03}" for i in reversed(range(120))]
    # and "← Newer" leads back
    back = logged_in_client.get("/profile/security/" + link(pages[-1], NEWER)).content.decode()
    assert re.findall(r"key \d{3}", back) == re.findall(r"key \d{3}", pages[-2])


def test_a_log_page_reads_one_page_by_position_never_an_offset_or_a_count(
    user, logged_in_client, web_actor
):
    for i in range(120):
        security_log(actor=web_actor, user=user, kind="key_created", label=f"key {i:03}")
    logged_in_client.get("/profile/security/")  # the session's first writes out of the way
    first = Sql(logged_in_client, "/profile/security/")
    assert_flat(first.on("accounts_securityevent"), limit=SECURITY_LOG_PAGE)
    older = link(first.response.content.decode(), OLDER)
    deeper = Sql(logged_in_client, "/profile/security/" + older)
    assert_flat(deeper.on("accounts_securityevent"), limit=SECURITY_LOG_PAGE)
    assert len(deeper) == len(first)


def test_retention_drops_old_and_surplus_rows_and_counts_them(user, logged_in_client, settings):
    settings.SECURITY_LOG_MAX_ROWS = 50
    settings.SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS = 5
    actor = Actor(user=user, source=Source.WEB, ip="127.0.0.1")
    old = security_log(actor=actor, user=user, kind="key_created", label="ancient")
    SecurityEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    for i in range(8):
        SecurityEvent.objects.create(user=user, kind="sign_in_failed", ip=f"192.0.2.{i}")
    for i in range(60):
        security_log(actor=actor, user=user, kind="key_created", label=f"key {i}")
    dropped = security_log_trim()
    user.refresh_from_db()
    assert dropped == user.security_events_dropped == 1 + 3 + 15
    assert SecurityEvent.objects.filter(user=user).count() == 50
    assert not SecurityEvent.objects.filter(pk=old.pk).exists()
    page = logged_in_client.get("/profile/security/").content.decode()
    assert "19</strong> older entries were removed" in page


def test_staff_cannot_delete_security_log_rows(staff_client, user, web_actor):
    event = security_log(actor=web_actor, user=user, kind="key_created", label="x")
    page = staff_client.get("/admin/accounts/securityevent/")
    assert b"delete_selected" not in page.content
    response = staff_client.post(
        f"/admin/accounts/securityevent/{event.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_a_failed_sign_in_page_request_logs_without_a_url(user):
    Client().post("/accounts/login/", {"username": user.email, "password": "nope"})
    assert SecurityEvent.objects.get(user=user, kind="sign_in_failed").count == 1
