"""HSTS and the SSL redirect in production, a strict Content-Security-Policy with no inline
script or style, no caching of the pages that show secrets, and no shown-once secret in plain
text in the session table."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from qsessions.models import Session

from ..conftest import current_totp

BASE = Path(__file__).resolve().parents[2]


def _setting(name: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_KEY_"))}
    env = {"DJANGO_SECRET_KEY": "s" * 50, "API_KEY_ENCRYPTION_KEY": "A" * 43 + "=", **env}
    code = f"import fibe_access.settings as s; print(s.{name})"
    run = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=BASE, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_production_redirects_to_https_and_sends_hsts_by_default():
    assert _setting("SECURE_SSL_REDIRECT", DJANGO_DEBUG="0") == "True"
    assert _setting("SECURE_HSTS_SECONDS", DJANGO_DEBUG="0") == "31536000"
    assert _setting("SECURE_SSL_REDIRECT", DJANGO_DEBUG="1") == "False"
    assert _setting("SECURE_HSTS_SECONDS", DJANGO_DEBUG="1") == "0"
    assert _setting("SECURE_SSL_REDIRECT", DJANGO_DEBUG="0", DJANGO_SECURE_SSL_REDIRECT="0") == (
        "False"
    )


def test_plain_http_is_redirected_and_https_carries_hsts(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/profile/security/"])
def test_pages_carry_a_strict_content_security_policy(logged_in_client, url):
    policy = logged_in_client.get(url, follow=True)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_no_template_carries_inline_script_or_style():
    offenders = []
    for path in (BASE / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"<style\b", text):
            offenders.append(f"{path}: inline <script> or <style>")
        if re.search(r"\sstyle=|\son[a-z]+=|javascript:", text):
            offenders.append(f"{path}: style= / on*= / javascript:")
    assert offenders == []


def test_enrolment_and_backup_code_pages_are_never_cached(logged_in_client, user):
    enrol = logged_in_client.get("/profile/totp/")
    assert "no-store" in enrol["Cache-Control"]
    device = TOTPDevice.objects.get(user=user)
    shown = logged_in_client.post("/profile/totp/", {"otp_token": current_totp(device)})
    codes_page = logged_in_client.get(shown["Location"])
    assert codes_page.status_code == 200
    assert "no-store" in codes_page["Cache-Control"]


def _session_tables_text() -> str:
    return "\n".join(f"{row.session_data}\n{row.get_decoded()}" for row in Session.objects.all())


def test_a_new_api_token_never_sits_in_the_session_table(stepped_up_client, user):
    response = stepped_up_client.post(
        "/profile/api-keys/new/", {"label": "CI", "scopes": ["playgrounds:read"], "expiry": "30"}
    )
    assert response.status_code == 302
    between = _session_tables_text()  # after the POST, before the token page
    page = stepped_up_client.get(response["Location"])
    token = re.search(rb'id="new-token"[^>]*>(fibe_\w+)<', page.content)[1].decode()
    assert token not in between
    assert token not in _session_tables_text()
    assert token not in stepped_up_client.cookies.output()  # the cookie holds only a key
    assert token.encode() not in stepped_up_client.get(response["Location"], follow=True).content


def test_a_new_webhook_secret_never_sits_in_the_session_table(stepped_up_client):
    secret = "whsec-very-secret-value-1234567890"
    response = stepped_up_client.post(
        "/profile/webhooks/new/",
        {
            "url": "http://127.0.0.1:9/hook",
            "events": ["playground.created"],
            "secret": secret,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert secret not in _session_tables_text()
    assert secret.encode() in stepped_up_client.get(response["Location"]).content
    assert secret not in _session_tables_text()
    assert secret.encode() not in stepped_up_client.get(response["Location"]).content


def test_backup_codes_never_sit_in_the_session_table(logged_in_client, user):
    logged_in_client.get("/profile/totp/")
    device = TOTPDevice.objects.get(user=user)
    response = logged_in_client.post("/profile/totp/", {"otp_token": current_totp(device)})
    stored = _session_tables_text()
    page = logged_in_client.get(response["Location"])
    codes = re.findall(r"<span>([0-9a-f]{8})</span>", page.content.decode())
    assert len(codes) == 10
    assert not any(code in stored or code in _session_tables_text() for code in codes)
