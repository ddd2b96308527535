"""One engine: nothing outside ``webhooks/engine/`` speaks HTTP to a receiver, only its ``send``
step posts, the Celery tasks only call into it, and it knows nothing of the app's pages."""

from pathlib import Path

from tests.support.imports import ROOT
from tests.support.imports import imports_in as _imports

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
    # the CLI is a client of this server's API, not a webhook sender; the other outbound
    # fetches are not deliveries: an OAuth client's metadata document (vetted by the engine's
    # own address check) and an operator's fetch of GitHub's secret-scanning public keys
    not_deliveries = {
        "fibe_access/oauth/clients.py",
        "keys/management/commands/github_scanning_keys.py",
    }
    assert {p for p in speaking if not p.startswith("fibe_cli/")} == not_deliveries


def test_only_the_send_step_posts():
    posting = {
        _rel(path)
        for path in _sources()
        if "transport.post(" in path.read_text() or "adapter.send(" in path.read_text()
    }
    assert posting == {"webhooks/engine/send.py", "webhooks/engine/transport.py"}


def test_tasks_only_call_into_the_engine_and_the_engine_knows_no_pages():
    tasks = {n for n in _imports(ROOT / "webhooks/tasks.py") if n.startswith("webhooks.")}
    assert all(n.startswith("webhooks.engine.") for n in tasks), tasks
    pages = ("webhooks.views", "webhooks.forms", "webhooks.admin", "webhooks.api")
    for path in (ROOT / "webhooks/engine").glob("*.py"):
        assert not {n for n in _imports(path) if n.startswith(pages)}, path.name
