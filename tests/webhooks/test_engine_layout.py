"""One engine: nothing outside ``webhooks/engine/`` speaks HTTP to a receiver, only its ``send``
step posts, the Celery tasks only call into it, and it knows nothing of the app's pages."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("fibe_access", "keys", "webhooks", "fibe_cli")
HTTP_CLIENTS = {
    "requests",
    "requests_hardened",
    "urllib3",
    "httpx",
    "http.client",
    "urllib.request",
}


def _sources():
    for top in PRODUCTION:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _imports(path: Path) -> set[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def _speaks_http(name: str) -> bool:
    return name in HTTP_CLIENTS or name.split(".")[0] in HTTP_CLIENTS


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_only_the_engine_speaks_http_to_receivers():
    speaking = {
        _rel(path)
        for path in _sources()
        if path.parts[-3:-1] != ("webhooks", "engine")
        and any(_speaks_http(name) for name in _imports(path))
    }
    # the CLI is a client of this server's API, not a webhook sender
    assert {p for p in speaking if not p.startswith("fibe_cli/")} == set()


def test_only_the_send_step_posts():
    posting = {
        _rel(path)
        for path in _sources()
        if "transport.post(" in path.read_text() or "_session().post(" in path.read_text()
    }
    assert posting == {"webhooks/engine/send.py", "webhooks/engine/transport.py"}


def test_tasks_only_call_into_the_engine_and_the_engine_knows_no_pages():
    tasks = {n for n in _imports(ROOT / "webhooks/tasks.py") if n.startswith("webhooks.")}
    assert all(n.startswith("webhooks.engine.") for n in tasks), tasks
    pages = ("webhooks.views", "webhooks.forms", "webhooks.admin", "webhooks.api")
    for path in (ROOT / "webhooks/engine").glob("*.py"):
        assert not {n for n in _imports(path) if n.startswith(pages)}, path.name
