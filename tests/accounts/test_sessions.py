"""Security & Sessions: every signed-in session of the account is listed (browser and system
from its user agent, IP address, signed in, last active, this one marked); any other one can be
signed out, after a step-up and a POST, and that is logged. The store knows each session's
account: the list is read by its user, never by scanning every session."""

import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from qsessions.models import Session

from fibe_access.accounts import sessions as account_sessions
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.sessions import public_id
from tests.support.factories import UserFactory

from ..conftest import PASSWORD

FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)


def _signed_in(user, *, agent: str = FIREFOX_LINUX, ip: str = "198.51.100.7") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _is_signed_in(client) -> bool:
    return client.get("/profile/security/").status_code == 200


def _key(client) -> str:
    return client.cookies["sessionid"].value


def _listed(page) -> str:
    html = page.content.decode()
    start = html.index('<table class="sessions stack"')
    return html[start : html.index("</table>", start)]


@pytest.fixture
def mine(user, make_stepped_up_client):
    """This browser, stepped up, and another one of the same account (Safari on a Mac)."""
    return make_stepped_up_client(user), _signed_in(user, agent=SAFARI_MAC, ip="203.0.113.9")


def test_the_security_page_lists_each_signed_in_session_and_marks_this_one(user, mine):
    client, other = mine
    firefox = _signed_in(user)
    page = client.get("/profile/security/")
    listed = _listed(page)
    assert "Safari 17</strong> on Mac OS X" in listed and "203.0.113.9" in listed
    assert "Firefox 132</strong> on Ubuntu" in listed and "198.51.100.7" in listed
    assert listed.count("This one") == 1
    assert listed.count("End session") == 2  # every session but this one
    assert listed.count("<time") == 6  # signed in and last active, relative, for each
    assert "now" in listed
    # the page names sessions by an id that is not their key (the key is the cookie)
    for c in (client, other, firefox):
        assert _key(c) not in page.content.decode()
    assert f"/profile/sessions/{public_id(_key(other))}/end/" in listed


def test_the_list_is_read_by_its_account_not_by_scanning_every_session(user, mine):
    client, _ = mine
    for _ in range(3):
        _signed_in(UserFactory())  # other accounts' sessions
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/profile/security/")
    listing = [q["sql"] for q in queries if 'FROM "qsessions_session"' in q["sql"]]
    assert any('"qsessions_session"."user_id" = ' in sql for sql in listing), listing
    assert all('"qsessions_session"."user_id" = ' in sql or "session_key" in sql for sql in listing)
    assert _listed(page).count("<tr") == 3  # header, this one, the Safari one


def test_ending_another_session_needs_a_step_up_then_a_post_and_is_logged(user, totp_device):
    other = _signed_in(user, agent=SAFARI_MAC, ip="203.0.113.9")
    client = _signed_in(user)
    url = f"/profile/sessions/{public_id(_key(other))}/end/"
    # without a step-up: sent to verify, nothing ended
    response = client.post(url)
    assert response.status_code == 302 and "/profile/verify/" in response["Location"]
    assert _is_signed_in(other)
    # stepped up: a GET is a confirmation page, still nothing ended
    session = client.session
    session["fibe_step_up_at"] = time.time()
    session.save()
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert b"Safari 17 on Mac OS X from 203.0.113.9" in confirm.content
    assert _is_signed_in(other)
    # the POST ends it: its next page asks to sign in; this one stays
    done = client.post(url, follow=True)
    assert b"Signed out Safari 17 on Mac OS X" in done.content
    assert not _is_signed_in(other)
    page = other.get("/profile/security/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert _is_signed_in(client)
    assert not Session.objects.filter(session_key=_key(other)).exists()
    event = SecurityEvent.objects.get(user=user, kind="session_ended")
    assert event.detail["label"] == "Safari 17 on Mac OS X, 203.0.113.9"
    assert event.ip == "198.51.100.7"
    assert b"Signed out one session" in client.get("/profile/security/").content


def test_another_accounts_session_cannot_be_ended(user, mine):
    client, _ = mine
    stranger = _signed_in(UserFactory())
    response = client.post(f"/profile/sessions/{public_id(_key(stranger))}/end/", follow=True)
    assert b"That session has already ended." in response.content
    assert _is_signed_in(stranger)
    assert not SecurityEvent.objects.filter(kind="session_ended").exists()


def test_this_session_is_not_ended_from_the_list_and_made_up_ids_change_nothing(user, mine):
    client, other = mine
    here = client.post(f"/profile/sessions/{public_id(_key(client))}/end/", follow=True)
    assert b"That is the session you are using" in here.content
    assert _is_signed_in(client)
    for made_up in ("nope", "0" * 24, _key(other), "%00", "a" * 500):
        response = client.post(f"/profile/sessions/{made_up}/end/")
        assert response.status_code in (302, 404)
    assert _is_signed_in(other)
    assert not SecurityEvent.objects.filter(kind="session_ended").exists()


def test_sessions_ended_by_sign_out_everywhere_or_a_new_password_are_not_listed(user, mine):
    client, other = mine
    assert client.post("/profile/sessions/sign-out/").status_code == 302
    assert not _is_signed_in(other)
    listed = _listed(client.get("/profile/security/"))
    assert listed.count("This one") == 1 and "Safari" not in listed
    _signed_in(user, agent=SAFARI_MAC)
    new = "a completely new passphrase 31"
    changed = client.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    listed = _listed(client.get("/profile/security/"))
    assert "Safari" not in listed and listed.count("This one") == 1


def test_a_session_records_its_client_and_last_activity_at_most_once_a_minute(user):
    client = _signed_in(user, ip="192.0.2.44")
    row = Session.objects.get(session_key=_key(client))
    assert (row.user_id, row.ip, row.user_agent) == (user.pk, "192.0.2.44", FIREFOX_LINUX)
    client.get("/profile/security/")
    client.get("/profile/security/")
    assert Session.objects.get(pk=row.pk).updated_at == row.updated_at  # no write per request
    # a minute on, the next page marks it active
    store = Session.get_session_store_class()(
        session_key=_key(client), ip="192.0.2.44", user_agent=FIREFOX_LINUX
    )
    store[account_sessions.LAST_ACTIVE_KEY] = int(time.time()) - 61
    store.save()
    before = Session.objects.get(pk=row.pk).updated_at
    client.get("/profile/security/")
    assert Session.objects.get(pk=row.pk).updated_at > before
