"""The scope catalogue: the single source of truth for pages, the API and tests.

A scope is ``<family>:<action>``. ``read`` lists and views, ``write`` creates and updates,
``delete`` deletes, ``manage`` is all three. Narrow scopes grant one action across a family
(``launch:write`` launches Playspecs). Older names stay valid as they are; ``import_templates``
is the templates family. The families and their labels come from the catalogue of families
(``fibe_access.resources.registry``): a new family there has its scopes here with nothing to
add. Everything here is pure: no queries, no settings.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from fibe_access.resources import registry

FAMILIES: dict[str, str] = registry.labels()  # name -> label, e.g. "templates": "Import templates"
FAMILY_ALIASES = {"import_templates": "templates"}
ACTIONS = ("read", "write", "delete")
ACTION_HELP = {
    "read": "List and view {label}.",
    "write": "Create and update {label}.",
    "delete": "Delete {label}.",
    "manage": "Read, create, update and delete {label}.",
}

# The older `repos:write` ("Push to Fibe-hosted repositories") is the repos family's write scope,
# accepted as it always was.
HELP = {"repos:write": "Create repositories and push files."}


@dataclass(frozen=True)
class Scope:
    name: str
    help: str
    grants: frozenset[str]  # canonical permissions "<family>:<action>" or a narrow scope name
    family: str | None  # the family a restriction on this scope narrows, if any


def _family_scopes(name: str, family: str) -> list[Scope]:
    label = FAMILIES[family]
    out = [
        Scope(
            f"{name}:{a}",
            HELP.get(f"{name}:{a}", ACTION_HELP[a].format(label=label)),
            frozenset({f"{family}:{a}"}),
            family,
        )
        for a in ACTIONS
    ]
    out.append(
        Scope(
            f"{name}:manage",
            ACTION_HELP["manage"].format(label=label),
            frozenset(f"{family}:{a}" for a in ACTIONS),
            family,
        )
    )
    return out


NARROW: list[Scope] = [
    Scope(
        "launch:write",
        "Launch Playspecs into Playgrounds (nothing else).",
        frozenset({"launch:write"}),
        "playspecs",
    ),
    Scope("mcp:access", "Connect to Fibe's MCP server.", frozenset({"mcp:access"}), None),
]

CATALOGUE: dict[str, Scope] = {
    s.name: s
    for s in [
        *(s for f in FAMILIES for s in _family_scopes(f, f)),
        *(s for alias, f in FAMILY_ALIASES.items() for s in _family_scopes(alias, f)),
        *NARROW,
    ]
}
# Shown in pickers: the canonical names (aliases stay accepted, not offered).
OFFERED = [n for n in CATALOGUE if n.split(":")[0] not in FAMILY_ALIASES]

# A requirement may be met by a broader permission than its own name.
ALSO_SATISFIED_BY = {"launch:write": frozenset({"playspecs:write"})}


class ScopeError(ValueError):
    """An unknown or malformed scope name; the message says which and what is valid."""


def canonical_family(family: str) -> str:
    return FAMILY_ALIASES.get(family, family)


def parse(names: Iterable[str]) -> list[str]:
    """Validate scope names; return them de-duplicated and sorted, or raise ScopeError."""
    if isinstance(names, str) or names is None:
        raise ScopeError("Scopes must be a list of names such as 'playgrounds:read'.")
    out = set()
    for name in names:
        if not isinstance(name, str) or name not in CATALOGUE:
            shown = repr(name)[:60]
            raise ScopeError(
                f"Unknown scope {shown}. Use <family>:read|write|delete|manage with a family "
                f"among {', '.join(FAMILIES)}, or one of launch:write, mcp:access."
            )
        out.add(name)
    if not out:
        raise ScopeError("Choose at least one scope.")
    return sorted(out)


def grants(names: Iterable[str]) -> frozenset[str]:
    """Every permission the given (valid) scopes grant together; unknown names grant nothing."""
    return _grants(tuple(names))


@functools.lru_cache(maxsize=1024)
def _grants(names: tuple[str, ...]) -> frozenset[str]:  # asked on every API request
    return frozenset(p for n in names if n in CATALOGUE for p in CATALOGUE[n].grants)


def permits(names: Iterable[str], required: str) -> bool:
    """Do the scopes ``names`` satisfy the requirement ``required`` (a canonical scope)?"""
    granted = grants(names)
    return required in granted or bool(granted & ALSO_SATISFIED_BY.get(required, frozenset()))


def restrictable_families(names: Iterable[str]) -> set[str]:
    """Families a key with these scopes may be restricted on."""
    return {CATALOGUE[n].family for n in names if n in CATALOGUE and CATALOGUE[n].family}


def help_text(name: str) -> str:
    return CATALOGUE[name].help


def requirement_family(required: str) -> str | None:
    """The family whose restriction applies to an operation requiring ``required``."""
    scope = CATALOGUE.get(required)
    return scope.family if scope else None
