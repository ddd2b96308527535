"""Inserting many new rows of one model at once, when nothing needs their IDs back: one COPY on
PostgreSQL, where Django's bulk INSERT spends most of its time compiling a placeholder and a
parameter per field per row (a webhook worker spent a sixth of its CPU there recording the
attempts of successful sends); ``bulk_create`` elsewhere (SQLite)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def copy_insert(model: type[Model], objs: list[Model]) -> None:
    """Insert unsaved ``objs`` of ``model`` (their fields prepared as ``save`` would: defaults,
    ``auto_now_add``, JSON); their ``pk`` stays unset. Call inside the caller's transaction:
    a row the database refuses raises ``DatabaseError`` and none of them is inserted."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
