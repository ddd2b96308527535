"""Every failure is one message on stderr and a documented exit code: never a traceback,
never the key. Servers that are not the API are real HTTP servers on loopback."""

import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.servers import free_port

from .conftest import FIBE, TRACEBACK, assert_clean_failure

KEY = "fibe_" + "k" * 40 + "abcdef"  # well formed; the fake servers never check it


class FakeServer:
    """Answers every GET with ``status``, ``content_type`` and ``body`` (after ``delay``)
    and records the headers it was sent."""

    def __init__(self, status=200, body=b"", content_type="text/html", headers=None, delay=0):
        self.seen: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.seen.append(dict(self.headers))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    servers = []

    def start(**kwargs) -> FakeServer:
        servers.append(FakeServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_a_500_html_page_is_one_line_and_exit_1(fibe, fake):
    server = fake(status=500, body=b"<h1>Server Error (500)</h1>")

    result = fibe("playspecs", "list", env={"FIBE_API_URL": server.url, "FIBE_API_KEY": KEY})

    assert_clean_failure(result, 1, KEY)
    assert "500" in result.err and "<h1>" not in result.err


def test_a_server_that_is_not_the_api_is_said_so(fibe, fake):
    html = fake(status=200, body=b"<html>welcome</html>")
    missing = fake(status=404, body=b"<html>no such page</html>")

    for server in (html, missing):
        result = fibe("whoami", env={"FIBE_API_URL": server.url, "FIBE_API_KEY": KEY})
        assert_clean_failure(result, 3, KEY)
        assert "Fibe server" in result.err


def test_nothing_listening_is_a_one_line_network_error(fibe):
    url = f"http://127.0.0.1:{free_port()}"

    result = fibe("playspecs", "list", env={"FIBE_API_URL": url, "FIBE_API_KEY": KEY})

    assert_clean_failure(result, 3, KEY)
    assert "Connection refused" in result.err and url in result.err


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/", "http://", "127.0.0.1:8000"])
def test_a_bad_fibe_api_url_is_named(fibe, url):
    result = fibe("whoami", env={"FIBE_API_URL": url, "FIBE_API_KEY": KEY})

    assert_clean_failure(result, 3, KEY)
    assert "FIBE_API_URL" in result.err


def test_a_redirect_is_not_followed_with_the_key(fibe, fake):
    elsewhere = fake(status=200, body=b"{}", content_type="application/json")
    server = fake(status=302, headers={"Location": elsewhere.url + "/api/v1/me"})

    result = fibe("whoami", env={"FIBE_API_URL": server.url, "FIBE_API_KEY": KEY})

    assert_clean_failure(result, 3, KEY)
    assert "redirected" in result.err
    assert elsewhere.seen == []
    assert server.seen[0]["Authorization"] == f"Bearer {KEY}"


def test_rate_limited_says_when_to_retry(fibe, make_token):
    token = make_token("playspecs:read", rate_limit_per_minute=1)
    fibe.login(token)  # the login's check spends the minute's only request

    # (two more, in case a one-minute window ended between two of them)
    results = [fibe("playspecs", "list") for _ in range(2)]

    limited = [r for r in results if r.code == 7]
    assert limited, results
    for result in limited:
        assert_clean_failure(result, 7, token)
        assert "Retry after" in result.err


def test_ctrl_c_exits_130_quietly(fibe, fake):
    slow = fake(status=200, body=b"{}", content_type="application/json", delay=30)
    env = {**fibe.env, "FIBE_API_URL": slow.url, "FIBE_API_KEY": KEY}
    proc = subprocess.Popen(
        [str(FIBE), "whoami"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while not slow.seen and time.monotonic() < deadline:
        time.sleep(0.05)

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)

    assert slow.seen, "the request never arrived"
    assert proc.returncode == 130
    assert out == b"" and TRACEBACK.encode() not in err and KEY.encode() not in err


def test_a_damaged_config_file_is_reported_not_raised(fibe, make_token):
    fibe.config.parent.mkdir(parents=True, mode=0o700)
    fibe.config.write_text("{not json")
    fibe.config.chmod(0o600)

    result = fibe("whoami")
    from_env = fibe("whoami", "--json", env={"FIBE_API_KEY": make_token("playspecs:read")})

    assert_clean_failure(result, 1)
    assert str(fibe.config) in result.err and "fibe auth login" in result.err
    assert from_env.code == 0, from_env  # with URL and key in the environment it is not read


def test_usage_errors_exit_2(fibe):
    for args in (["nope"], ["playspecs", "launch"], ["playspecs", "list", "--limit", "x"]):
        result = fibe(*args)
        assert_clean_failure(result, 2)


def test_a_conflict_is_its_own_exit_code_with_the_apis_message(fibe, fake):
    body = b'{"code": "conflict", "message": "A running playground cannot be started."}'
    server = fake(status=409, body=body, content_type="application/json")
    # this checkout's CLI, whichever the shared virtualenv has installed
    here = {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    env = {"FIBE_API_URL": server.url, "FIBE_API_KEY": KEY, **here}
    result = fibe("playspecs", "list", env=env)

    assert_clean_failure(result, 8, KEY)
    assert "A running playground cannot be started." in result.err
