"""The package: it imports no Django (statically and at run time), its commands are the
registry's operations (the committed spec equals a fresh generation), no option can carry a
key, and the console script is installed with its exit codes in --help."""

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import click

from fibe_access.api import clispec
from fibe_access.api.operations import REGISTRY
from fibe_cli import generated
from fibe_cli.main import build
from tests.support.servers import BASE_DIR, VENV_BIN

from .conftest import FIBE

PACKAGE = BASE_DIR / "fibe_cli"
# `fibe mcp` relays with the official MCP SDK (mcp, its types, its HTTP client, anyio)
ALLOWED = {
    "fibe_cli",
    "click",
    "rich",
    "requests",
    "webhooks.signing",
    "mcp",
    "mcp_types",
    "httpx2",
    "anyio",
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module)
    return found


def test_the_package_imports_only_the_stdlib_click_rich_requests_and_pure_signing():
    stdlib = set(sys.stdlib_module_names)
    for path in PACKAGE.rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top in stdlib or top in ALLOWED or name in ALLOWED, (path, name)
            assert top != "django" and not name.startswith(("fibe_access", "keys"))


BLOCK_DJANGO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "ninja", "fibe_access", "keys", "celery") or (
            name.startswith("webhooks.") and name != "webhooks.signing"
        ):
            raise ImportError("the CLI imported " + name)
sys.meta_path.insert(0, Block())
from fibe_cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def test_it_runs_with_django_unimportable():
    python = str(VENV_BIN / "python")
    for args in (
        ["--help"],
        ["playspecs", "launch", "--help"],
        ["mcp", "--help"],
        ["webhooks", "verify", "--secret", "s", "--signature", "sha256=00"],
        ["auth", "status"],
    ):
        proc = subprocess.run(
            [python, "-c", BLOCK_DJANGO, *args],
            capture_output=True,
            text=True,
            input="{}",
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": "/nonexistent",
                "FIBE_API_URL": "http://127.0.0.1:9",
            },
            timeout=60,
        )
        assert "the CLI imported" not in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 1, 4), (args, proc.returncode, proc.stderr)


def test_the_committed_spec_is_a_fresh_generation():
    assert clispec.SPEC_PATH.read_text() == clispec.render(), (
        "fibe_cli/spec.json is stale: run `make clispec` and commit it"
    )


def _tree() -> dict[tuple[str, str], click.Command]:
    root = build()
    return {
        (group_name, name): command
        for group_name, group in root.commands.items()
        if isinstance(group, click.Group)
        for name, command in group.commands.items()
    }


def test_every_operation_is_a_command_with_its_inputs_and_scope():
    tree = _tree()
    for op in REGISTRY.values():
        if op.group in generated.COVERED:
            continue
        command = tree[(op.group.replace("_", "-"), op.action.replace("_", "-"))]
        names = {p.name for p in command.params}
        assert set(op.path_params) <= names
        for model, source in ((op.query, "query"), (op.body, "body")):
            for field in model.model_fields if model else ():
                assert f"{source}__{field}" in names, (op.name, field)
        if op.scope:
            assert f"`{op.scope}`" in command.help
    assert ("webhooks", "verify") in tree and ("auth", "login") in tree


def test_a_new_operation_becomes_a_command_once_the_spec_is_regenerated():
    launch = REGISTRY["playspecs.launch"]
    archive = dataclasses.replace(
        launch, name="playspecs.archive", action="archive", path="/playspecs/{id}/archive"
    )
    REGISTRY[archive.name] = archive
    try:
        spec = clispec.build()
    finally:
        del REGISTRY[archive.name]

    found = next(op for op in spec["operations"] if op["name"] == "playspecs.archive")
    command = generated.command(found)
    assert command.name == "archive" and {"id", "body__name"} <= {p.name for p in command.params}


def test_no_option_can_carry_a_key():
    """Only the API's own fields (a Job ENV entry's ``key``) may be named key; nothing may be
    named token but the --with-token flag."""

    def walk(command: click.Command):
        yield command
        for child in getattr(command, "commands", {}).values():
            yield from walk(child)

    for command in walk(build()):
        for param in command.params:
            words = {param.name, *getattr(param, "opts", ())}
            api_field = param.name.startswith(("body__", "query__"))
            assert not any("token" in w for w in words - {"--with-token", "with_token"}), words
            assert api_field or not any("key" in w for w in words), (command.name, words)
            if param.name == "with_token":
                assert param.is_flag


def test_the_console_script_is_installed_with_its_exit_codes_in_help():
    assert FIBE.exists()
    result = subprocess.run([str(FIBE), "--help"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0
    for line in ("0    ok", "2    usage", "4    no API key", "5    forbidden", "130  interrupted"):
        assert line in result.stdout
    assert "FIBE_API_KEY" in result.stdout
