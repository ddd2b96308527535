"""One table of the resource families: the API routes, restriction checks and tests are all
generated from it, so a new family is one row here and one model."""

from __future__ import annotations

from dataclasses import dataclass

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
        ),
        Family("playzones", m.Playzone),
        Family("templates", m.Template, fields=("name", "description", "source_url")),
        Family("agents", m.Agent),
        Family("marquees", m.Marquee),
        Family("props", m.Prop),
        Family("artefacts", m.Artefact),
        Family("secrets", m.Secret, fields=("name", "description", "value"), write_only=("value",)),
        Family("job_env", m.JobEnv, fields=("name", "description", "key", "value")),
    ]
}


def family_for_model(model) -> Family:
    return next(f for f in FAMILIES.values() if f.model is model)
