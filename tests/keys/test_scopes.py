"""The scope catalogue's rules, as properties over every name and arbitrary strings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import scopes

NAMES = sorted(scopes.CATALOGUE)
FAMILY_SCOPES = [n for n in NAMES if n.split(":")[0] in {*scopes.FAMILIES, *scopes.FAMILY_ALIASES}]
any_scope = st.sampled_from(NAMES)
unknown = st.text(max_size=40).filter(lambda s: s not in scopes.CATALOGUE)


def family(name: str) -> str:
    return scopes.canonical_family(name.split(":")[0])


def test_catalogue_has_every_family_action_and_the_older_names():
    for fam in scopes.FAMILIES:
        for action in ("read", "write", "delete", "manage"):
            assert f"{fam}:{action}" in scopes.CATALOGUE
    older = [
        "playrooms:read",
        "playrooms:write",
        "playrooms:delete",
        "playspecs:read",
        "playspecs:write",
        "playspecs:delete",
        "playgrounds:read",
        "playgrounds:write",
        "playgrounds:delete",
        "playzones:read",
        "playzones:write",
        "import_templates:read",
        "import_templates:write",
        "agents:read",
        "agents:write",
        "webhooks:read",
        "webhooks:write",
        "webhooks:delete",
        "mcp:access",
        "repos:write",
    ]
    assert scopes.parse(older) == sorted(older)
    for narrow in ("launch:write", "mcp:access", "repos:write"):
        assert narrow in scopes.CATALOGUE
    # the older repos:write is the repos family's write scope, accepted as is
    assert scopes.CATALOGUE["repos:write"].family == "repos"
    assert scopes.permits(["repos:write"], "repos:write")
    assert not scopes.permits(["repos:write"], "repos:read")


def test_every_scope_has_one_line_help():
    for name, scope in scopes.CATALOGUE.items():
        assert scope.help and "\n" not in scope.help, name


@given(st.lists(any_scope, min_size=1))
def test_parse_accepts_any_catalogue_names_sorted_and_deduplicated(names):
    assert scopes.parse(names) == sorted(set(names))


@given(st.lists(any_scope), unknown, st.lists(any_scope))
def test_parse_rejects_any_unknown_name_and_says_which(before, bad, after):
    with pytest.raises(scopes.ScopeError) as excinfo:
        scopes.parse([*before, bad, *after])
    assert "Unknown scope" in str(excinfo.value)
    assert repr(bad)[:20] in str(excinfo.value)


@pytest.mark.parametrize("value", [[], None, "playgrounds:read", [1], [None]])
def test_parse_rejects_empty_and_malformed_lists(value):
    with pytest.raises(scopes.ScopeError):
        scopes.parse(value)


@given(st.sampled_from(FAMILY_SCOPES))
def test_manage_implies_read_write_and_delete_of_its_family(name):
    fam = family(name)
    manage = f"{name.split(':')[0]}:manage"
    for action in ("read", "write", "delete"):
        assert scopes.permits([manage], f"{fam}:{action}")


@given(
    st.lists(any_scope, min_size=1),
    st.sampled_from(sorted(scopes.FAMILIES)),
    st.sampled_from(["read", "write", "delete"]),
)
def test_no_scope_implies_another_family(names, fam, action):
    # a requirement on a family is met only by a scope of that family (or its alias);
    # the one cross-name rule is that launch:write is also met by playspecs write
    if scopes.permits(names, f"{fam}:{action}"):
        assert any(family(n) == fam for n in names)


@given(any_scope, st.sampled_from(["read", "write", "delete"]))
def test_read_write_delete_do_not_imply_each_other(name, action):
    prefix, granted = name.split(":")
    if (
        granted in ("read", "write", "delete")
        and granted != action
        and prefix in {*scopes.FAMILIES, *scopes.FAMILY_ALIASES}
    ):
        assert not scopes.permits([name], f"{family(name)}:{action}")


def test_launch_is_met_by_launch_write_or_playspecs_write_only():
    assert scopes.permits(["launch:write"], "launch:write")
    assert scopes.permits(["playspecs:write"], "launch:write")
    assert scopes.permits(["playspecs:manage"], "launch:write")
    assert not scopes.permits(["playspecs:read"], "launch:write")
    assert not scopes.permits(["launch:write"], "playspecs:read")
    assert not scopes.permits(["playgrounds:manage"], "launch:write")


@given(st.lists(st.text(max_size=30)), st.text(max_size=30))
def test_permits_never_raises_and_unknown_names_grant_nothing(names, required):
    known = [n for n in names if n in scopes.CATALOGUE]
    assert scopes.permits(names, required) == scopes.permits(known, required)


def test_import_templates_is_the_templates_family():
    assert scopes.permits(["import_templates:read"], "templates:read")
    assert scopes.permits(["templates:write"], "templates:write")
    assert scopes.restrictable_families(["import_templates:manage"]) == {"templates"}


def test_restrictable_families_follow_the_scopes():
    assert scopes.restrictable_families(["launch:write"]) == {"playspecs"}
    assert scopes.restrictable_families(["mcp:access"]) == set()
    assert scopes.restrictable_families(["repos:write"]) == {"repos"}
    assert scopes.restrictable_families(["secrets:read", "props:manage"]) == {"secrets", "props"}
