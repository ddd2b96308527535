"""Write-only fields from the command line: every field the API schema marks ``writeOnly`` (a
Secret's value, a webhook's signing secret) takes ``-`` to read it from standard input and is
never echoed; a Secret's value is sealed at rest. And the key is never sent over plain http://
to another machine without a warning first."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Secret
from fibe_access.resources.registry import FAMILIES
from fibe_cli import config
from fibe_cli.spec import load
from tests.resources.plaintext import assert_nowhere_in_the_database

from .conftest import assert_clean_failure

PIPED = "piped-vault-value-0123456789"


def _json(result):
    assert result.code == 0, result
    return json.loads(result.out)


def test_a_secret_value_read_from_stdin_is_stored_sealed_and_never_shown(fibe, make_token, owner):
    fibe.login(make_token("secrets:manage"))
    # given a value piped in, so it is in no argument list (`ps`) and no shell history
    made = fibe("secrets", "create", "--name", "db", "--value", "-", "--json", input=PIPED + "\n")
    created = _json(made)
    secret = Secret.objects.get(pk=created["id"], owner=owner)
    # then the stored value is stdin's (not a literal "-"), sealed: no plain text in the database
    assert secret.revealed_value() == PIPED
    assert PIPED not in made.text
    assert_nowhere_in_the_database(PIPED)
    # an update takes it from stdin too
    updated = fibe("secrets", "update", str(secret.pk), "--value", "-", input="next-value-42\n")
    assert updated.code == 0, updated
    assert "next-value-42" not in updated.text
    assert Secret.objects.get(pk=secret.pk).revealed_value() == "next-value-42"
    assert_nowhere_in_the_database(PIPED, "next-value-42")
    # an update the API refuses (a name too long) never echoes the value it carried
    refused = fibe(
        "secrets", "update", str(secret.pk), "--name", "n" * 201, "--value", "-",
        input="refused-value-0123456789\n",
    )  # fmt: skip
    assert_clean_failure(refused, 1, "refused-value-0123456789")
    assert Secret.objects.get(pk=secret.pk).revealed_value() == "next-value-42"
    # nothing piped in is a usage error, not an empty value
    assert_clean_failure(fibe("secrets", "create", "--name", "x", "--value", "-", input=""), 2)
    assert Secret.objects.count() == 1
    assert "standard input" in fibe("secrets", "create", "--help").out


def test_every_write_only_field_is_marked_in_the_schema_and_takes_stdin_in_the_cli():
    schema_write_only = set()
    for op in REGISTRY.values():
        if op.body is None:
            continue
        for name, prop in op.body.model_json_schema().get("properties", {}).items():
            if prop.get("writeOnly"):
                schema_write_only.add((op.name, name))
    declared = {
        (f"{fam.name}.{action}", name)
        for fam in FAMILIES.values()
        for name in fam.write_only
        for action in ("create", "update")
    }
    assert declared <= schema_write_only
    assert {("webhooks.create", "secret"), ("webhooks.update", "secret")} <= schema_write_only
    cli_secret = {
        (op["name"], field["name"])
        for op in load()["operations"]
        for field in op["body"] or ()
        if field.get("secret")
    }
    assert cli_secret == schema_write_only


# --- plain http:// ---------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.headers.get("Authorization", ""))
        body = b'{"items": [], "count": 0, "limit": 20, "offset": 0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def any_address_server():
    """An HTTP server on every address of this machine; yields (port, requests' auth headers)."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("0.0.0.0", 0), _Recorder)  # noqa: S104
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.seen
    server.shutdown()
    server.server_close()


def _own_address() -> str:
    """This machine's address on its network (the source of its default route): not loopback,
    yet reachable here. No packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    return address if address and not address.startswith("127.") else "0.0.0.0"  # noqa: S104


TOKEN = "fibe_" + "A" * 43 + "abcdef"


def test_the_key_sent_over_plain_http_to_another_machine_is_warned_about_first(
    offline_fibe, any_address_server
):
    port, seen = any_address_server
    remote = f"http://{_own_address()}:{port}"
    env = {"FIBE_API_KEY": TOKEN}
    sent = offline_fibe("playrooms", "list", "--json", env={**env, "FIBE_API_URL": remote})
    assert sent.code == 0, sent
    assert "warning: sending the API key over plain http://" in sent.err
    assert "Use https://" in sent.err
    assert TOKEN not in sent.text and TOKEN[-10:] not in sent.text
    assert seen == [f"Bearer {TOKEN}"]  # a warning, not a refusal
    # this machine over http (127.0.0.1, localhost) is not warned about
    for local in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        quiet = offline_fibe("playrooms", "list", "--json", env={**env, "FIBE_API_URL": local})
        assert quiet.code == 0, quiet
        assert "warning" not in quiet.err
    # and the login checks the key against the server first: warned before it is sent there too
    login = offline_fibe("auth", "login", "--with-token", "--url", remote, input=TOKEN + "\n")
    assert "warning: sending the API key over plain http://" in login.err


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://example.com", True),
        ("http://10.0.0.5:8000", True),
        ("http://[2001:db8::1]:8000", True),
        ("http://fibe.example.localhost.evil.com", True),
        ("https://example.com", False),
        ("http://127.0.0.1:8000", False),
        ("http://127.8.9.10", False),
        ("http://LOCALHOST:8000", False),
        ("http://api.localhost", False),
        ("http://[::1]:8000", False),
        ("http://[::ffff:127.0.0.1]:8000", False),
    ],
)
def test_which_urls_are_warned_about(url, warned):
    assert bool(config.plain_http_warning(url)) is warned
