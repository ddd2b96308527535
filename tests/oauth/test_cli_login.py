"""`fibe auth login --web` as a person runs it: the installed CLI in a subprocess opens the
consent page (its URL on stderr; BROWSER does nothing), the person approves in Chromium, the
CLI's loopback listener takes the code, the token is stored like a key and refreshed when it
expires."""

import json
import os
import re
import subprocess

import pytest

from tests.mcp.client import run
from tests.support.servers import VENV_BIN

from . import live

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _env(home):
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "BROWSER": "true",  # the test's Chromium opens the page instead
        # this checkout's fibe_cli when the installed one is another's (a shared venv)
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}),
    }


def _fibe(env, *args):
    return subprocess.run(
        [str(VENV_BIN / "fibe"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_login_web_stores_an_oauth_token_and_refreshes_it(app, owner, tmp_path):
    user, device = owner
    env = _env(tmp_path)
    proc = subprocess.Popen(
        [str(VENV_BIN / "fibe"), "auth", "login", "--web", "--url", app.url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, said = None, []
        for line in proc.stderr:
            said.append(line)
            if line.startswith(app.url + "/oauth/authorize?"):
                url = line.strip()
                break
        assert url, f"the CLI printed no consent URL: {said}"

        async def main():
            from playwright.async_api import async_playwright

            async with async_playwright() as pw:
                browser, page = await live.launch(pw, app.url)
                person = live.Person(page, user.email, device.bin_key)
                person.intercept = False

                async def approve(page):
                    await page.get_by_label(re.compile(r"^Playspecs: read")).check()
                    await page.get_by_role("button", name="Approve").click()

                person.on_consent = approve
                await person.authorize(url)
                text = await page.inner_text("body")
                await browser.close()
            return text

        page_text = run(main)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "close this window" in page_text
    assert "through the browser (OAuth" in out + err

    stored = json.loads((tmp_path / "config" / "fibe" / "config.json").read_text())
    assert stored["key"].startswith("fibe_") and stored["oauth"]["refresh_token"]
    status = _fibe(env, "auth", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["kind"] == "OAuth"
    assert stored["key"] not in status.stdout + status.stderr

    # the token lapses: the next command refreshes it first, and the pair rotates
    stored["oauth"]["expires_at"] = 0
    path = tmp_path / "config" / "fibe" / "config.json"
    path.write_text(json.dumps(stored))
    listed = _fibe(env, "playspecs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    fresh = json.loads(path.read_text())
    assert fresh["key"] != stored["key"]
    assert fresh["oauth"]["refresh_token"] != stored["oauth"]["refresh_token"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
