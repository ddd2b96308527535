"""The sign-in throttle is shared by every gunicorn worker (it lives in Redis): 30 wrong
passwords over fresh connections, spread across two workers, are refused past the limit."""

import re

import pytest
import requests

from fibe_access.accounts.models import User

pytestmark = pytest.mark.reliability


def _attempt(base: str, email: str, password: str) -> int:
    session = requests.Session()  # a fresh session, cookies and connection each time
    form = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    response = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": email, "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    session.close()
    return response.status_code


def test_thirty_wrong_passwords_across_workers_are_refused_past_the_limit(app_server):
    User.objects.create_user("target@example.com", "the real passphrase 12")
    server = app_server(SIGN_IN_FAILURE_LIMIT=10)
    statuses = [_attempt(server.url, "target@example.com", f"guess {i}") for i in range(30)]
    assert statuses[:9] == [200] * 9
    assert statuses[9:] == [429] * 21
    assert _attempt(server.url, "target@example.com", "the real passphrase 12") == 429
