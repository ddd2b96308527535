"""One table of the resource families: the API routes, restriction checks and tests are all
generated from it, so a new family is one row here and one model.

Also the table of restrictable families: every resource family, plus the owned models other
apps register from their AppConfig.ready (webhooks registers its endpoints), so API keys can
validate a restriction without knowing which app a family lives in."""

from __future__ import annotations

from dataclasses import dataclass, field

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
            delete_summary="Destroy a playground (its record stays, status destroyed)",
            event_fields=("playspec_id", "expires_at"),
            refers={"playspec_id": "playspecs"},
        ),
        Family("playzones", m.Playzone),
        Family("templates", m.Template, fields=("name", "description", "source_url")),
        Family("agents", m.Agent),
        Family("marquees", m.Marquee),
        Family("props", m.Prop),
        Family("artefacts", m.Artefact),
        Family("secrets", m.Secret, fields=("name", "description", "value"), write_only=("value",)),
        Family("job_env", m.JobEnv, fields=("name", "description", "key", "value")),
        Family("repos", m.Repository),
    ]
}


def family_for_model(model) -> Family:
    return next(f for f in FAMILIES.values() if f.model is model)


@dataclass(frozen=True)
class Restrictable:
    """An owned model a key's restriction lists IDs of; ``label_field`` names a record."""

    model: type
    label_field: str = "name"


RESTRICTABLE: dict[str, Restrictable] = {f.name: Restrictable(f.model) for f in FAMILIES.values()}


def restrictable_register(family: str, model: type, *, label_field: str = "name") -> None:
    RESTRICTABLE[family] = Restrictable(model, label_field)


def restrictable(family: str) -> Restrictable | None:
    return RESTRICTABLE.get(family)
