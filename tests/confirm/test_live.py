"""Confirm destructive actions end to end (issue 22): the official MCP SDK client and the
`fibe` CLI against the project under gunicorn; the owner approves or denies in Chromium,
after the TOTP step-up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError
from mcp_types import URL_ELICITATION_REQUIRED

from fibe_access.resources.models import Playspec
from keys.models import Confirmation
from tests.cli.conftest import FIBE
from tests.mcp import client as mcp
from tests.support.factories import api_key_make, resource_make

from .browser import DESKTOP, PHONE, browser_page, open_and_decide

pytestmark = pytest.mark.django_db(transaction=True)
SCOPES = ("mcp:access", "playspecs:read", "playspecs:write", "playspecs:delete")


def call(site: str, token: str, name: str, arguments: dict):
    """(is_error, answer) of one tool call with the official SDK client; the elicitation error
    is raised as the SDK's UrlElicitationRequiredError."""

    async def main():
        try:
            async with mcp.connect(site, token) as session:
                try:
                    result = await session.call_tool(name, arguments)
                except MCPError as exc:
                    return exc
                return result.is_error, json.loads(result.content[0].text)
        except BaseExceptionGroup as group:  # the session's task group wraps what it raised
            return group.exceptions[0]

    outcome = mcp.run(main)
    if isinstance(outcome, MCPError) and outcome.code == URL_ELICITATION_REQUIRED:
        raise UrlElicitationRequiredError.from_error(outcome.error)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def asked(site: str, token: str, name: str, arguments: dict) -> str:
    """Call, expect the URL elicitation; its URL."""
    with pytest.raises(UrlElicitationRequiredError) as raised:
        call(site, token, name, arguments)
    (elicitation,) = raised.value.elicitations
    assert raised.value.code == -32042
    assert elicitation.url in elicitation.message and "playspec" in elicitation.message
    return elicitation.url


def test_mcp_delete_waits_for_the_owner_then_passes_exactly_once(confirm_server, owner, browser):
    site = confirm_server.url + "/mcp"
    _, token = api_key_make(owner.user, *SCOPES, is_agent=True)  # agent keys: on by default
    spec = resource_make(Playspec, owner.user, name="nightly build")
    url = asked(site, token, "playspecs_delete", {"id": spec.pk})
    assert url.startswith(confirm_server.url + "/profile/api-keys/confirmations/")
    assert Playspec.objects.filter(pk=spec.pk).exists()
    with browser_page(browser, confirm_server.url, PHONE) as page:
        open_and_decide(page, owner, url, "Approve", shot="confirmation-phone")
    assert call(site, token, "playspecs_delete", {"id": spec.pk}) == (False, {"status": 204})
    assert not Playspec.objects.filter(pk=spec.pk).exists()
    # a second identical call asks again (and finds nothing left to delete only once approved)
    asked(site, token, "playspecs_delete", {"id": spec.pk})


def test_mcp_approval_is_bound_to_arguments_and_key(confirm_server, owner, browser):
    site = confirm_server.url + "/mcp"
    _, token = api_key_make(owner.user, *SCOPES, is_agent=True)
    _, other = api_key_make(owner.user, *SCOPES, is_agent=True, label="other agent")
    one, two = resource_make(Playspec, owner.user), resource_make(Playspec, owner.user)
    url = asked(site, token, "playspecs_delete", {"id": one.pk})
    with browser_page(browser, confirm_server.url, DESKTOP) as page:
        open_and_decide(page, owner, url, "Approve", shot="confirmation-desktop")
    asked(site, token, "playspecs_delete", {"id": two.pk})  # other arguments
    asked(site, other, "playspecs_delete", {"id": one.pk})  # another key
    assert Playspec.objects.filter(pk__in=[one.pk, two.pk]).count() == 2
    # non-destructive calls with the switch on are unaffected
    is_error, answer = call(site, token, "playspecs_get", {"id": one.pk})
    assert not is_error and answer["id"] == one.pk
    # the exact call still passes
    assert call(site, token, "playspecs_delete", {"id": one.pk})[0] is False


def test_mcp_deny_and_expiry_refuse(confirm_server, owner, browser):
    site = confirm_server.url + "/mcp"
    _, token = api_key_make(owner.user, *SCOPES, is_agent=True)
    spec = resource_make(Playspec, owner.user)
    url = asked(site, token, "playspecs_delete", {"id": spec.pk})
    with browser_page(browser, confirm_server.url) as page:
        open_and_decide(page, owner, url, "Deny")
    assert asked(site, token, "playspecs_delete", {"id": spec.pk}) != url
    # approved, then time moves past its 10 minutes
    url = asked(site, token, "playspecs_delete", {"id": spec.pk})
    with browser_page(browser, confirm_server.url) as page:
        open_and_decide(page, owner, url, "Approve")
    past = timezone.now() - timedelta(minutes=10, seconds=1)
    Confirmation.objects.filter(status="approved").update(
        created_at=past, expires_at=past + timedelta(minutes=10)
    )
    asked(site, token, "playspecs_delete", {"id": spec.pk})
    assert Playspec.objects.filter(pk=spec.pk).exists()


def test_eight_concurrent_mcp_retries_exactly_one_passes(confirm_server, owner):
    site = confirm_server.url + "/mcp"
    _, token = api_key_make(owner.user, *SCOPES, is_agent=True)
    spec = resource_make(Playspec, owner.user, name="before")
    url = asked(site, token, "playspecs_update", {"id": spec.pk, "name": "after"})
    pk = int(url.rstrip("/").rsplit("/", 1)[1])
    Confirmation.objects.filter(pk=pk).update(status="approved")  # as the page does
    from concurrent.futures import ThreadPoolExecutor

    def retry(_):
        try:
            return call(site, token, "playspecs_update", {"id": spec.pk, "name": "after"})[0]
        except UrlElicitationRequiredError:
            return "asked"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(retry, range(8)))
    assert sorted(map(str, outcomes)) == ["False"] + ["asked"] * 7, outcomes
    assert Confirmation.objects.get(pk=pk).status == "used"


def fibe(url: str, token: str, *args: str) -> subprocess.Popen:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/nonexistent",
        "FIBE_API_URL": url,
        "FIBE_API_KEY": token,
        "FIBE_CONFIRM_POLL_SECONDS": "0.5",
        "LANG": "C.UTF-8",
        # this checkout's fibe_cli, whichever checkout the shared virtualenv was installed from
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    return subprocess.Popen(
        [str(FIBE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )


def wait_for_url(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        found = re.search(r"(http://\S+/confirmations/\d+/)", line)
        if found:
            return found[1]
    raise AssertionError(f"no confirmation URL in: {seen}")


def test_cli_delete_prints_the_url_waits_and_deletes_once_approved(confirm_server, owner, browser):
    _, token = api_key_make(owner.user, *SCOPES[1:], confirm_destructive=True)
    spec = resource_make(Playspec, owner.user)
    proc = fibe(confirm_server.url, token, "playspecs", "delete", str(spec.pk), "--yes")
    try:
        url = wait_for_url(proc)
        assert proc.poll() is None  # waiting
        with browser_page(browser, confirm_server.url) as page:
            open_and_decide(page, owner, url, "Approve")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Done" in out + err
    assert not Playspec.objects.filter(pk=spec.pk).exists()


def test_cli_delete_denied_exits_9(confirm_server, owner, browser):
    _, token = api_key_make(owner.user, *SCOPES[1:], confirm_destructive=True)
    spec = resource_make(Playspec, owner.user)
    proc = fibe(confirm_server.url, token, "playspecs", "delete", str(spec.pk), "--yes")
    try:
        url = wait_for_url(proc)
        with browser_page(browser, confirm_server.url) as page:
            open_and_decide(page, owner, url, "Deny")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 9, err
    assert "denied or lapsed" in err and "Traceback" not in err
    assert Playspec.objects.filter(pk=spec.pk).exists()


def test_cli_no_wait_prints_the_url_and_exits_9(confirm_server, owner):
    _, token = api_key_make(owner.user, *SCOPES[1:], confirm_destructive=True)
    spec = resource_make(Playspec, owner.user)
    proc = fibe(
        confirm_server.url, token, "playspecs", "delete", str(spec.pk), "--yes", "--no-wait"
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 9
    assert re.search(r"http://\S+/confirmations/\d+/", err)
    assert token not in out + err
    assert Playspec.objects.filter(pk=spec.pk).exists()
