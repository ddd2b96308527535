"""`fibe mcp`: serve Fibe's MCP tools over stdio, relayed to the server's /mcp with the key
the CLI uses (FIBE_API_URL / FIBE_API_KEY, or `fibe auth login`'s file)."""

from __future__ import annotations

from urllib.parse import urlencode

import click

from .. import config
from ..client import TIMEOUT, Api
from ..errors import UNREACHABLE, CliError

PROBE = {"jsonrpc": "2.0", "id": 0, "method": "ping", "params": {}}


@click.command("mcp")
@click.option("--readonly", is_flag=True, help="Offer only the tools that read.")
@click.option(
    "--toolsets",
    default="",
    metavar="NAMES",
    help="Offer only these groups of tools, comma-separated (e.g. playspecs,webhooks).",
)
def command(readonly: bool, toolsets: str) -> None:
    """Serve Fibe's MCP tools on stdin/stdout, for MCP hosts that start a local command.

    Every call goes to the server's /mcp with your key: the tools are exactly those the key's
    scopes allow (needs mcp:access). Logs go to stderr; stdout is the MCP channel."""
    creds = config.resolve()
    url = creds.url + ("/mcp/readonly" if readonly else "/mcp")
    if toolsets.strip():
        url += "?" + urlencode({"toolsets": toolsets.strip()})
    _check(Api(creds), url)
    import anyio

    from ..mcp_bridge import serve

    anyio.run(serve, url, creds.key)


def _check(api: Api, url: str) -> None:
    """Fail now, on stderr with the CLI's exit codes, if the server refuses the key."""
    headers = {"Accept": "application/json, text/event-stream"}
    try:
        response = api.session.post(
            url, json=PROBE, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except Exception as exc:
        raise CliError(
            f"Cannot reach the MCP server at {url} ({type(exc).__name__}).",
            UNREACHABLE,
            hint=f"Is the server running? (URL from {api.creds.url_source})",
        ) from None
    if response.status_code != 200:
        api._answer(response)  # raises the CliError for the status
