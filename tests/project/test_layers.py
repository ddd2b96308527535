"""Dependencies point one way, as docs/architecture.md draws them (imports inside functions
count too). ``python3 ../shared/tools/import_circles.py`` checks there are no circles; this
checks the direction between apps."""

from tests.support.imports import ROOT, imports_in


def imports_of(folder: str) -> set[str]:
    files = [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    return set().union(*(imports_in(p) for p in files))


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
        and any(n.startswith("fibe_access.api.site") for n in imports_in(path))
    }
    assert importers == {"fibe_access/urls.py", "bench/auth.py"}
