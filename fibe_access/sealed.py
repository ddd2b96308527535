"""Sealed fields: every column holding a secret Fibe must read back, encrypted at rest with the
keyring (``fibe_access.keyring``), declared in one list so ``manage.py reencrypt`` can move them
all to the current key.

A row of ``SEALED`` names the model (``app_label.Model``), the field, and the context each
ciphertext is bound to (AES-GCM associated data): a ``str.format`` template over the record's
own fields, so a ciphertext copied into another record, or another field, does not open.
Adding a sealed field is one row here, and either ``SealedTextField`` on the model (sealed on
save, whatever writes it) or ``seal()`` where the value is set; ``reveal()`` is the one way
back to the plain text.

This module is neutral: it names models by label and imports no app."""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from functools import cached_property

from django.apps import apps
from django.db import models, transaction

from . import keyring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    model: str  # "app_label.Model"
    field: str
    context: str  # a str.format template over the record's fields, e.g. "{digest}"

    @cached_property
    def context_fields(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.context) if name)

    def context_of(self, record) -> str:
        """The context of ``record`` (a model instance, or a dict of its values)."""
        get = record.get if isinstance(record, dict) else lambda name: getattr(record, name)
        return self.context.format(**{name: get(name) for name in self.context_fields})


SEALED: tuple[Sealed, ...] = (
    Sealed("keys.ApiKey", "encrypted_token", "{digest}"),
    Sealed("resources.Secret", "value", "resources.Secret.value:{owner_id}"),
    # webhook signing secrets: sealed where set (webhooks/sealed_secrets.py), read through
    # WebhookEndpoint.secret and signing_secrets
    Sealed("webhooks.WebhookEndpoint", "secret_encrypted", "webhooks.WebhookEndpoint.secret"),
    Sealed(
        "webhooks.WebhookEndpoint",
        "previous_secret_encrypted",
        "webhooks.WebhookEndpoint.previous_secret",
    ),
    # a listen session's signing secret (webhooks.listen), bound to its account
    Sealed("webhooks.ListenSession", "secret", "webhooks.ListenSession.secret:{owner_id}"),
)


def row_for(model: type[models.Model] | str, field: str) -> Sealed:
    label = model if isinstance(model, str) else model._meta.label
    for row in SEALED:
        if row.model == label and row.field == field:
            return row
    raise LookupError(f"{label}.{field} is not declared in fibe_access.sealed.SEALED.")


class Ciphertext(str):
    """A value as the database holds it (sealed): what a ``SealedTextField`` reads."""


def seal(record: models.Model, field: str, plaintext: str) -> Ciphertext:
    """``plaintext`` sealed for ``record``'s ``field`` under the current key ("" stays "")."""
    if not plaintext:
        return Ciphertext("")
    row = row_for(type(record), field)
    return Ciphertext(keyring.encrypt(plaintext, context=row.context_of(record)))


def reveal(record: models.Model, field: str) -> str:
    """The plain text of ``record``'s sealed ``field``: the one way to read it. Raises
    ``keyring.UndecryptableError`` when no configured key opens it."""
    value = getattr(record, field)
    if not value:
        return ""
    if isinstance(type(record)._meta.get_field(field), SealedTextField) and not isinstance(
        value, Ciphertext
    ):
        return value  # set on this instance, not saved yet
    return keyring.decrypt(value, context=row_for(type(record), field).context_of(record))


class SealedTextField(models.TextField):
    """A text column that never holds plain text: a value set on the instance is sealed when the
    record is saved (``pre_save``); a value read from the database is a ``Ciphertext``. Writing
    anything else around the model (``QuerySet.update`` with a plain string) is refused."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else Ciphertext(value)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value and not isinstance(value, Ciphertext):
            value = seal(model_instance, self.name, value)
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value and not isinstance(value, Ciphertext):
            raise ValueError(
                f"{self.model._meta.label}.{self.name} is sealed: set it on the instance and save."
            )
        return value


def sealed_reencrypt(*, actor) -> dict[str, dict]:
    """Move every sealed value (each row of ``SEALED``) under the current key, one record per
    transaction with its row locked. Returns per ``model.field``: how many were re-encrypted,
    already current, and the ids no configured key opens. An operator's command."""
    current = keyring.current_key_id()
    results = {}
    for row in SEALED:
        model = apps.get_model(row.model)
        moved, already, undecryptable = 0, 0, []
        todo = model.objects.exclude(**{row.field: ""}).exclude(**{f"{row.field}__isnull": True})
        for pk in list(todo.order_by("pk").values_list("pk", flat=True)):
            with transaction.atomic():
                record = (
                    model.objects.select_for_update()
                    .filter(pk=pk)
                    .values(row.field, *row.context_fields)
                    .first()
                )
                blob = record and record[row.field]
                if not blob:
                    continue
                if keyring.key_id_of(blob) == current:
                    already += 1
                    continue
                try:
                    plain = keyring.decrypt(blob, context=row.context_of(record))
                except keyring.UndecryptableError:
                    undecryptable.append(pk)
                    continue
                fresh = keyring.encrypt(plain, context=row.context_of(record))
                model.objects.filter(pk=pk).update(**{row.field: Ciphertext(fresh)})
                moved += 1
        results[f"{row.model}.{row.field}"] = {
            "reencrypted": moved,
            "already_current": already,
            "undecryptable": undecryptable,
        }
    log.info("re-encrypted sealed fields under key %s (by %s): %s", current, actor.source, results)
    return results
