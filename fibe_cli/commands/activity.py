"""`fibe activity`: what the key in use did, newest first (``GET /api/v1/me/activity``)."""

import click

from .. import config, output
from ..client import Api

COLUMNS = ["at", "door", "operation", "record_id", "status", "duration_ms", "ip"]


@click.command("activity")
@click.option("--door", type=click.Choice(["rest", "cli", "mcp"]), help="Only this door.")
@click.option(
    "--outcome", type=click.Choice(["succeeded", "failed"]), help="Only successes or failures."
)
@click.option("--operation", metavar="NAME", help="Only this operation, e.g. playgrounds.create.")
@click.option(
    "--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="How many."
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many (paging).")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def command(door, outcome, operation, limit, offset, as_json) -> None:
    """Show the key's own REST, CLI and MCP calls: when, the operation, the record, the status,
    the duration and the client address (kept 30 days; a call shows within a few seconds)."""
    query = {"door": door, "outcome": outcome, "operation": operation}
    query |= {"limit": limit, "offset": offset}
    page = Api(config.resolve()).call("GET", "/me/activity", params=query)
    if as_json:
        output.print_json(page)
        return
    if not page["items"]:
        output.message("No activity recorded for this key in the last 30 days.")
        return
    output.table(page["items"], COLUMNS)
    shown = len(page["items"])
    if page["count"] > offset + shown:
        output.message(
            f"{offset + 1}–{offset + shown} of {page['count']}: "
            f"`fibe activity --offset {offset + shown}` for more."
        )
