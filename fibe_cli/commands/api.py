"""`fibe api METHOD PATH`: any request to the API with the stored key, as `gh api` does."""

from __future__ import annotations

import json
import sys

import click

from .. import config, output
from ..client import BASE_PATH, Api


def _data(value: str | None):
    if value is None:
        return None
    if value.startswith("@"):
        name = value[1:]
        try:
            value = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise click.BadParameter(f"cannot read {name}: {exc.strerror}") from None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at character {exc.pos})") from None


def _param(values: tuple[str, ...]) -> dict:
    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="'--param'")
        pairs[name] = value
    return pairs


@click.command("api")
@click.argument(
    "method", type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False)
)
@click.argument("path")
@click.option(
    "--data", "-d", metavar="JSON", help="The JSON body; @FILE reads a file, @- standard input."
)
@click.option("--param", "-p", multiple=True, metavar="KEY=VALUE", help="A query parameter.")
def command(method: str, path: str, data: str | None, param: tuple[str, ...]) -> None:
    """Send any request to the API and print the JSON answer.

    PATH is under /api/v1, e.g. `fibe api GET playspecs -p limit=5` or
    `fibe api POST playspecs/3/launch --data '{"name": "demo"}'`."""
    if "://" in path:
        raise click.BadParameter("give a path under /api/v1, not a URL", param_hint="PATH")
    path = "/" + path.lstrip("/")
    if path == BASE_PATH or path.startswith(BASE_PATH + "/"):
        path = path[len(BASE_PATH) :] or "/"
    body, query = _data(data), _param(param)
    answer = Api(config.resolve()).call(method.upper(), path, params=query, body=body)
    if answer is not None:
        output.print_json(answer)
