"""Dependencies point one way, as ../shared/DESIGN.md draws them (imports inside functions
count too). ``python3 ../shared/tools/import_circles.py`` checks there are no circles; this
checks the direction between apps."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def imports_of(folder: str) -> set[str]:
    files = [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    return set().union(*(_imports(p) for p in files))


def _within(names: set[str], package: str) -> set[str]:
    return {n for n in names if n == package or n.startswith(package + ".")}


def test_keys_and_webhooks_do_not_import_each_other():
    # Keys announce api_key.expiring / api_key.expired through the one publish function, as
    # resources do (keys/expiry.py); webhooks know nothing of keys.
    assert _within(imports_of("keys"), "webhooks") <= {
        "webhooks.publish",
        "webhooks.publish.publish_event",
    }
    assert _within(imports_of("webhooks"), "keys") == set()


def test_resources_know_webhooks_only_through_publish_and_keys_not_at_all():
    resources = imports_of("fibe_access/resources")
    assert _within(resources, "webhooks") == {"webhooks.publish", "webhooks.publish.publish_event"}
    assert _within(resources, "keys") == set()


def test_the_api_site_is_imported_only_by_urls():
    importers = {
        str(path.relative_to(ROOT))
        for path in ROOT.glob("**/*.py")
        if ".venv" not in path.parts
        and "tests" not in path.parts
        and any(n.startswith("fibe_access.api.site") for n in _imports(path))
    }
    assert importers == {"fibe_access/urls.py", "bench/auth.py"}
