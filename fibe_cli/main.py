"""The `fibe` command: the root group, the command table, and the one place failures become
a line on stderr and an exit code (never a traceback, never the key).

The command table: every group generated from the spec (``generated.py``), then every module
of ``fibe_cli/commands``, each defining ``command`` (and ``PARENT`` when it belongs under a
generated group, as ``webhooks verify`` does). Adding a command is adding one module there."""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import sys

import click

from . import commands, generated
from .config import DEFAULT_URL
from .errors import ERROR, EXIT_CODES_HELP, INTERRUPTED, USAGE, CliError, redact

EPILOG = f"""\b
Environment:
  FIBE_API_URL   the server (default {DEFAULT_URL}); wins over `fibe auth login`'s
  FIBE_API_KEY   the API key; wins over the stored one (use it from a CI secret)
  NO_COLOR       no colour in tables

{EXIT_CODES_HELP}"""


class Root(click.Group):
    def get_command(self, ctx, cmd_name):
        found = super().get_command(ctx, cmd_name)
        return found or super().get_command(ctx, cmd_name.replace("_", "-"))


@click.group(
    cls=Root,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def cli() -> None:
    """Fibe from the command line: resources, playgrounds and webhooks through the API, with
    a scoped API key (`fibe auth login`, or FIBE_API_KEY)."""


def build() -> click.Group:
    for group in generated.groups():
        cli.add_command(group)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        parent = getattr(module, "PARENT", None)
        (cli.commands[parent] if parent else cli).add_command(module.command)
    return cli


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    try:
        result = build().main(args=argv, prog_name="fibe", standalone_mode=False)
        sys.stdout.flush()
    except CliError as exc:
        _say(f"error: {exc.message}" + (f"\n{exc.hint}" if exc.hint else ""))
        return exc.code
    except click.ClickException as exc:  # usage errors: Click's message, exit code 2
        shown = io.StringIO()
        exc.show(file=shown)
        _say(shown.getvalue().rstrip("\n"))
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt) as exc:
        if isinstance(exc.__cause__, EOFError):
            _say("error: no input.")
            return USAGE
        _say("")
        return INTERRUPTED
    except BrokenPipeError:  # `fibe … | head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR
    except Exception as exc:  # a bug: one line, still no traceback and no key
        _say(f"error: unexpected {type(exc).__name__}: {exc}")
        return ERROR
    return result if isinstance(result, int) else 0


def _say(text: str) -> None:
    print(redact(text), file=sys.stderr)
