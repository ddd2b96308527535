"""The catalogue of families: one row per resource family, the source of everything the
families look like from outside. From a row come its API operations (list, create, get,
update, delete: ``resources.api``), its OpenAPI entries, its scopes and their labels
(``keys.scopes``), its restriction checks, its MCP tools, its CLI commands and its row in the
README's tool table. ``webhooks.events`` checks at import that the events a row names exist.

Adding a family (docs/architecture.md, "Adding a family", says the same):

1. The model, a ``Resource`` subclass in ``resources/models.py`` (its ``verbose_name`` makes
   the API's English: "Create a gizmo"), and its migration:
   ``manage.py makemigrations resources --name gizmos``.
2. A ``Family(...)`` row in ``FAMILIES`` below: the writable fields, write-only and read-only
   ones, the label for scope pickers when the model's plural is not it, and the events it
   publishes. Nothing else names the family: scopes, operations and tools follow.
3. If it publishes ``create_event``/``delete_event``: an ``EventType`` for each in
   ``webhooks/events.py`` (the import fails naming the missing one).
4. Operations beyond the five (a launch, a push) are declared with ``operation(...)`` in
   ``resources/api.py`` (or a module beside it that ``apps.py`` imports).
5. Regenerate what is generated: ``.venv/bin/python scripts/clispec.py`` (fibe_cli/spec.json)
   and ``.venv/bin/python scripts/mcpdocs.py`` (the README's tool table); tests fail until
   both are current. ``tests/api/test_new_family.py`` shows every face picking a family up.

A family whose model lives in another app (webhooks) is named in ``ELSEWHERE``, so its
scopes exist from the start, and that app registers its model with ``restrictable_register``
from its AppConfig.ready, so API keys can validate a restriction on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from . import models as m


@dataclass(frozen=True)
class Family:
    name: str  # URL segment and scope family
    model: type[m.Resource]
    fields: tuple[str, ...] = ("name", "description")  # writable through the API
    write_only: tuple[str, ...] = ()  # accepted, stored, never returned
    read_only: tuple[str, ...] = ()  # returned, never written through create/update
    delete_event: str | None = None
    create_event: str | None = None
    delete_summary: str = ""  # the API's summary of DELETE, when it is not "Delete a …"
    event_fields: tuple[str, ...] = ()  # sent in webhook events beside id, name and status
    # Attributes holding the ID of another family's record ({"playspec_id": "playspecs"}): the
    # API shows them as null to a key restricted on that family unless the ID is listed, and
    # webhook events carrying them count as naming that record.
    refers: dict[str, str] = field(default_factory=dict, hash=False)
    label: str = ""  # in scope pickers and the CLI; default: the model's plural, capitalised
    # A record with these values reads as gone through the API (404, left out of lists) though
    # its row stays: a destroyed playground. DELETE answers 204 and then GET 404, every family.
    gone: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if not self.label:
            plural = str(self.model._meta.verbose_name_plural)
            object.__setattr__(self, "label", plural[:1].upper() + plural[1:])

    @property
    def singular(self) -> str:
        """The model's name with its article: "a playroom", "an agent"."""
        return with_article(str(self.model._meta.verbose_name))


def with_article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "playrooms",
            m.Playroom,
            create_event="playroom.created",
            delete_event="playroom.deleted",
        ),
        Family(
            "playspecs",
            m.Playspec,
            fields=("name", "description", "config"),
            create_event="playspec.created",
            delete_event="playspec.deleted",
        ),
        Family(
            "playgrounds",
            m.Playground,
            fields=("name", "description"),
            read_only=("status", "playspec", "expires_at", "error_message"),
            create_event="playground.created",
            delete_event="playground.destroyed",
            delete_summary="Destroy a playground: it reads as gone (404) from then on",
            gone={"status": "destroyed"},
            event_fields=("playspec_id", "expires_at"),
            refers={"playspec_id": "playspecs"},
        ),
        Family("playzones", m.Playzone),
        Family(
            "templates",
            m.Template,
            fields=("name", "description", "source_url"),
            label="Import templates",
        ),
        Family("agents", m.Agent),
        Family("marquees", m.Marquee),
        Family("props", m.Prop),
        Family("artefacts", m.Artefact),
        Family("secrets", m.Secret, fields=("name", "description", "value"), write_only=("value",)),
        Family("job_env", m.JobEnv, fields=("name", "description", "key", "value")),
        Family("repos", m.Repository),
    ]
}

# Families whose records live in another app, by name and label (see the module's docstring).
ELSEWHERE: dict[str, str] = {"webhooks": "Webhooks"}


def labels() -> dict[str, str]:
    """Every family a key's scopes and restrictions can name, with its label."""
    return {**{f.name: f.label for f in FAMILIES.values()}, **ELSEWHERE}


def family_for_model(model) -> Family:
    return next(f for f in FAMILIES.values() if f.model is model)


@dataclass(frozen=True)
class Restrictable:
    """An owned model a key's restriction lists IDs of; ``label_field`` names a record."""

    model: type
    label_field: str = "name"


RESTRICTABLE: dict[str, Restrictable] = {f.name: Restrictable(f.model) for f in FAMILIES.values()}


def restrictable_register(family: str, model: type, *, label_field: str = "name") -> None:
    if family not in ELSEWHERE and family not in FAMILIES:
        raise ImproperlyConfigured(
            f"{family!r} is no family: name it in fibe_access.resources.registry.ELSEWHERE"
        )
    RESTRICTABLE[family] = Restrictable(model, label_field)


def restrictable(family: str) -> Restrictable | None:
    return RESTRICTABLE.get(family)
