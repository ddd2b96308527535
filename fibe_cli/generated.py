"""`fibe <group> <action>` for every operation of the spec, so a new API operation is a new
command once ``make clispec`` has run: path parameters become arguments, query and body
fields ``--options`` (typed, required as the API requires them), and each command's help
names the scope it needs."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from . import config, confirm, output
from .client import Api
from .errors import USAGE, CliError, keep_secret
from .spec import load

# Groups a hand-written command covers instead (`fibe whoami` is GET /me).
COVERED = {"me"}
# Not shown in list tables (`get` shows every field).
QUIET_COLUMNS = {"description", "updated_at"}
OWN_OPTIONS = {"json", "all", "yes", "no_wait"}


class JsonValue(click.ParamType):
    name = "JSON"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            self.fail(f"not valid JSON ({exc.msg} at character {exc.pos})", param, ctx)


class Timestamp(click.ParamType):
    """ISO 8601; without a time zone it is read as local time."""

    name = "TIME"

    def convert(self, value, param, ctx):
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an ISO 8601 time such as 2030-01-31T18:00:00Z", param, ctx)
        return (moment if moment.tzinfo else moment.astimezone()).isoformat()


class Items(click.ParamType):
    """One or more values: the option repeated, or values separated by commas."""

    name = "VALUE[,VALUE…]"

    def __init__(self, choices: list[str] | None):
        self.choices = choices

    def convert(self, value, param, ctx):
        values = [v.strip() for v in str(value).split(",") if v.strip()]
        for v in values:
            if self.choices and v not in self.choices:
                self.fail(f"{v!r} is not one of: {', '.join(self.choices)}", param, ctx)
        return values


class SecretText(click.ParamType):
    """A write-only value such as a webhook's signing secret: ``-`` reads it from the first line
    of standard input, so it stays out of the process list and the shell history. Never printed
    (``keep_secret``)."""

    name = "TEXT|-"

    def convert(self, value, param, ctx):
        if value == "-":
            value = sys.stdin.readline().rstrip("\r\n")
            if not value:
                self.fail("nothing on standard input (give the value, or pipe it in)", param, ctx)
        keep_secret(value)
        return value


SCALARS = {"string": click.STRING, "integer": click.INT, "number": click.FLOAT}


def groups() -> list[click.Group]:
    spec = load()
    found: dict[str, click.Group] = {}
    for op in spec["operations"]:
        name = op["group"]
        if name in COVERED:
            continue
        if name not in found:
            label = spec["groups"].get(name, name)
            found[name] = click.Group(
                name.replace("_", "-"), help=f"{label}: {_scopes(spec, name)}."
            )
        found[name].add_command(command(op))
    return list(found.values())


def _scopes(spec: dict, group: str) -> str:
    names = sorted({op["scope"] for op in spec["operations"] if op["group"] == group})
    return "scopes " + ", ".join(f"`{n}`" for n in names if n)


def command(op: dict) -> click.Command:
    params: list[click.Parameter] = [
        click.Argument([p], type=int, metavar=p.upper()) for p in op["path_params"]
    ]
    inputs = [("query", f) for f in op["query"]] + [("body", f) for f in op["body"] or ()]
    for source, field in inputs:
        if field["name"] in OWN_OPTIONS | set(op["path_params"]):
            raise RuntimeError(f"{op['name']}: field {field['name']!r} clashes with an option")
        params.append(_option(source, field))
    if op["paged"]:
        params.append(click.Option(["--all", "all_pages"], is_flag=True, help="Follow every page."))
    if op["kind"] == "delete":
        params.append(click.Option(["--yes", "-y"], is_flag=True, help="Do not ask to confirm."))
    if op.get("approval", op.get("destructive")):
        params.append(
            click.Option(
                ["--no-wait"],
                is_flag=True,
                help="When the key needs a person to approve this call, print the URL and exit "
                "(code 9) instead of waiting.",
            )
        )
    params.append(
        click.Option(["--json", "as_json"], is_flag=True, help="Print only JSON on stdout.")
    )
    return click.Command(
        op["action"].replace("_", "-"),
        params=params,
        callback=lambda **values: run(op, values),
        help=f"{op['summary']}.\n\n{op['description']}",
        short_help=op["summary"],
    )


def _option(source: str, field: dict) -> click.Option:
    flag, dest = "--" + field["name"].replace("_", "-"), f"{source}__{field['name']}"
    kind, choices, text = field["type"], field.get("choices"), field["help"]
    if field.get("default") not in (None, ""):
        text += f" [default: {field['default']}]"
    text += _rules(field.get("rules", {}))
    extra: dict[str, Any] = {"required": field["required"], "help": text}
    if kind == "boolean":
        no = "--no-" + field["name"].replace("_", "-")
        return click.Option([f"{flag}/{no}", dest], default=None, **extra)
    if kind == "array":
        extra["help"] += " (repeat the option, or separate values with commas)"
        if choices:
            extra["help"] += f"; among {', '.join(choices)}"
        return click.Option([flag, dest], type=Items(choices), multiple=True, **extra)
    if kind == "datetime":
        return click.Option([flag, dest], type=Timestamp(), **extra)
    if field.get("secret"):
        extra["help"] += " Give - to read it from standard input (out of `ps` and shell history)."
        return click.Option([flag, dest], type=SecretText(), **extra)
    rules = field.get("rules", {})
    if kind == "integer" and not choices and ("minimum" in rules or "maximum" in rules):
        bounds = click.IntRange(rules.get("minimum"), rules.get("maximum"))
        return click.Option([flag, dest], type=bounds, **extra)
    if kind in SCALARS:
        kind_type = click.Choice(choices) if choices else SCALARS[kind]
        return click.Option([flag, dest], type=kind_type, **extra)
    return click.Option([flag, dest], type=JsonValue(), **extra)


def _rules(rules: dict) -> str:
    """The schema's constraints on a field, as its help says them."""
    said = []
    low, high = rules.get("min_length"), rules.get("max_length")
    if low and high:
        said.append(f"{low} to {high} characters")
    elif low or high:
        said.append(f"at least {low} characters" if low else f"at most {high} characters")
    if "pattern" in rules:
        said.append(f"matching {rules['pattern']}")
    if "minimum" in rules or "maximum" in rules:
        said.append(f"from {rules.get('minimum', '…')} to {rules.get('maximum', '…')}")
    if "min_items" in rules or "max_items" in rules:
        said.append(f"{rules.get('min_items', 0)} to {rules.get('max_items', '…')} values")
    return f" ({'; '.join(said)})" if said else ""


def run(op: dict, values: dict) -> None:
    as_json, all_pages = values.pop("as_json"), values.pop("all_pages", False)
    confirmed = values.pop("yes", False)
    wait = not values.pop("no_wait", False)
    path = op["path"].format(**{p: values.pop(p) for p in op["path_params"]})
    inputs: dict[str, dict] = {"query": {}, "body": {}}
    for dest, value in values.items():
        source, _, name = dest.partition("__")
        if isinstance(value, tuple):  # a repeated option: a list, unless not given at all
            value = [v for part in value for v in part] or None
        if value is not None:
            inputs[source][name] = value
    if op["kind"] == "delete" and not confirmed:
        _confirm(f"Delete {op['group']} {path.rsplit('/', 1)[-1]}?")
    api = Api(config.resolve())
    body = inputs["body"] if op["body"] is not None else None
    if all_pages:
        data = every_item(api, path, inputs["query"])
    else:
        data = confirm.call(api, op["method"], path, params=inputs["query"], body=body, wait=wait)
    show(op, data, as_json=as_json, path=path)


def every_item(api: Api, path: str, query: dict) -> list:
    """Every item from the page asked for on: following each page's ``next`` cursor where the
    list gives one (every page then costs the server the same), else by offset."""
    items: list = []
    query = {**query, "offset": query.get("offset", 0)}
    while True:
        page = api.call("GET", path, params=query)
        items += page["items"]
        if "next" in page:
            if not page["next"] or not page["items"]:
                return items
            query = {**query, "cursor": page["next"], "offset": 0}
            continue
        query["offset"] = page["offset"] + len(page["items"])
        if not page["items"] or (
            page.get("count_exact", True) and query["offset"] >= page["count"]
        ):
            return items


def show(op: dict, data: Any, *, as_json: bool, path: str) -> None:
    if data is None:
        if not as_json:
            output.message(f"Done: {op['summary'].lower()} ({path.rsplit('/', 1)[-1]}).")
        return
    if as_json:
        output.print_json(data)
        return
    if op["paged"]:
        items = data if isinstance(data, list) else data["items"]
        output.table(items, columns(op))
        if isinstance(data, dict) and _more(data, items):
            shown = f"{data['offset'] + 1}-{data['offset'] + len(items)}" if items else "none"
            total = f"{data['count']}{'' if data.get('count_exact', True) else '+'}"
            output.message(f"Showing {shown} of {total}: --all for every one.")
        return
    output.record(data.items())


def _more(page: dict, items: list) -> bool:
    if page.get("next"):
        return True
    return page["offset"] + len(items) < page["count"]


def columns(op: dict) -> list[str]:
    return [
        f["name"]
        for f in op["response"]
        if f["name"] not in QUIET_COLUMNS
        and f["type"] != "json"
        and f.get("items", "string") != "json"
    ]


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise CliError("Not confirmed: pass --yes to delete without a prompt.", USAGE)
    if not click.confirm(question, default=False, err=True):
        raise CliError("Cancelled: nothing was deleted.", USAGE)
