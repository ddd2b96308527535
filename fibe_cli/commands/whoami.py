"""`fibe whoami`: the account and key the CLI is using (``GET /api/v1/me``)."""

import click

from .. import config, output
from ..client import Api


@click.command("whoami")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def command(as_json: bool) -> None:
    """Show the account and the key in use: label, scopes, restrictions, expiry."""
    me = Api(config.resolve()).call("GET", "/me")
    if as_json:
        output.print_json(me)
    else:
        output.record(output.key_pairs(me))
