"""`fibe trigger EVENT [--set data.field=value …]`: the server sends a sample of EVENT, marked as
a test, through the real engine to the account's endpoints subscribed to it and to its live
listen sessions (``POST /webhooks/trigger``, needs webhooks:write)."""

from __future__ import annotations

import click

from .. import config, output
from ..client import Api


@click.command("trigger")
@click.argument("event")
@click.option(
    "--set",
    "changes",
    multiple=True,
    metavar="data.FIELD=VALUE",
    help="Change a field of the sample (repeatable), e.g. --set data.status=error.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def command(event: str, changes: tuple[str, ...], as_json: bool) -> None:
    """Send a sample EVENT to your subscribed endpoints and `fibe listen` sessions."""
    fields = {}
    for change in changes:
        name, sep, value = change.partition("=")
        if not sep or not name.startswith("data."):
            raise click.BadParameter(f"{change!r} is not data.FIELD=VALUE", param_hint="--set")
        fields[name] = value
    sent = Api(config.resolve()).call(
        "POST", "/webhooks/trigger", body={"event": event, "set": fields}
    )
    if as_json:
        output.print_json(sent)
        return
    endpoints, sessions = len(sent["endpoints"]), sent["sessions"]
    output.message(
        f"Sent {sent['event']} to {endpoints} endpoint{'s' * (endpoints != 1)} and "
        f"{sessions} listen session{'s' * (sessions != 1)}."
    )
    if sent["limited"]:
        ids = ", ".join(map(str, sent["limited"]))
        output.message(f"Skipped endpoints past their test-send limit: {ids}.")
