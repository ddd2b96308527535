"""`fibe auth login|status|logout`: wire a key into the CLI. A key is read from a hidden
prompt or from stdin (``--with-token``), never from an argument; it is checked with
``GET /api/v1/me`` before it is stored, and never printed (at most its last four characters)."""

from __future__ import annotations

import os
import sys

import click

from .. import config, output
from ..client import Api
from ..errors import AUTH, USAGE, CliError


@click.group("auth")
def command() -> None:
    """Log in with an API key, see which key is in use, log out."""


@command.command()
@click.option(
    "--with-token",
    is_flag=True,
    help="Read the key from standard input, e.g. `fibe auth login --with-token < token.txt`.",
)
@click.option(
    "--url",
    metavar="URL",
    help=f"The server (default: FIBE_API_URL, the stored URL, or {config.DEFAULT_URL}).",
)
@click.option(
    "--web",
    is_flag=True,
    help="Approve the CLI in your browser (OAuth, a loopback redirect): no key to copy.",
)
def login(with_token: bool, url: str | None, web: bool) -> None:
    """Check an API key against the server and store it for later commands.

    The key is stored with the server's URL in $XDG_CONFIG_HOME/fibe/config.json (default
    ~/.config/fibe/), readable only by you. FIBE_API_KEY, when set, still wins over it.
    With --web the browser opens Fibe's consent page; the token it yields is stored the same
    way and refreshed when it expires."""
    server, source = config.resolve_url(url)
    if web and with_token:
        raise CliError("Choose --web or --with-token, not both.", USAGE)
    if web:
        from .. import weblogin

        stored = weblogin.login(server)
        creds = config.Credentials(server, source, stored["key"], "the browser", kind="OAuth")
        me = Api(creds).call("GET", "/me")
        path = config.store(server, stored["key"], oauth=stored["oauth"])
        output.message(
            f"Logged in to {server} as {me['owner_email']} through the browser (OAuth, "
            f"“{me['label']}”); stored in {path}."
        )
        return
    if with_token:
        key, key_source = sys.stdin.readline().strip(), "standard input"
    elif sys.stdin.isatty():
        key = click.prompt("Paste your API key (input hidden)", hide_input=True, err=True)
        key, key_source = key.strip(), "the prompt"
    else:
        raise CliError(
            "No terminal to prompt on.",
            USAGE,
            hint="Pipe the key in: fibe auth login --with-token < token.txt",
        )
    config.check_key(key, key_source)
    creds = config.Credentials(server, source, key, key_source)
    try:
        me = Api(creds).call("GET", "/me")
    except CliError as exc:
        if exc.code == AUTH:
            exc.hint = "Nothing was stored."
        raise
    path = config.store(server, key)
    output.message(
        f"Logged in to {server} as {me['owner_email']} with the key “{me['label']}” "
        f"({creds.key_hint}); stored in {path}."
    )
    if os.environ.get(config.ENV_KEY):
        output.message(f"warning: {config.ENV_KEY} is set in this shell and wins over it.")


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def status(as_json: bool) -> None:
    """Show the key in use: where it comes from, its label, scopes, restrictions and expiry."""
    creds = config.resolve()
    me = Api(creds).call("GET", "/me")
    if as_json:
        output.print_json(
            {
                "url": creds.url,
                "url_source": creds.url_source,
                "key_source": creds.key_source,
                "kind": creds.kind,
                "key_last4": creds.key[-4:],
                **me,
            }
        )
        return
    output.record(
        [
            ("server", f"{creds.url} (from {creds.url_source})"),
            ("kind", "OAuth (fibe auth login --web)" if creds.kind == "OAuth" else "API key"),
            ("token", f"{creds.key_hint} (from {creds.key_source})"),
            *output.key_pairs(me),
        ]
    )


@command.command()
def logout() -> None:
    """Remove the stored key."""
    path = config.config_path()
    if config.remove():
        output.message(f"Logged out: removed {path}.")
    else:
        output.message(f"Not logged in: there is no {path}.")
    if os.environ.get(config.ENV_KEY):
        output.message(f"warning: {config.ENV_KEY} is still set in this shell.")
