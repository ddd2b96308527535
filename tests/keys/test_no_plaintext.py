"""No token is ever stored or logged in plain text."""

import logging

from django.db import connection

from fibe_access.accounts.actor import Actor, Source
from keys import services
from tests.support.factories import api_key_make

TEXT_TYPES = ("character varying", "text", "character", "json", "jsonb")


def rows_containing(needle: str) -> list[tuple[str, str]]:
    """Every (table, column) of the database whose text holds ``needle``."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        assert len(columns) > 20  # the scan really covers the schema
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1',  # noqa: S608
                [f"%{needle}%"],
            )
            if cursor.fetchone():
                hits.append((table, column))
    return hits


def test_database_never_holds_a_token_in_plain_text(user, api_client, caplog):
    caplog.set_level(logging.DEBUG)
    cli = Actor(user=None, source=Source.CLI)
    # given ordinary, agent and rotated keys that have all been used
    issued = []
    plain, token = api_key_make(user, "playgrounds:read")
    issued.append(token)
    agent, token = api_key_make(user, "playgrounds:read", is_agent=True)
    issued.append(token)
    _, token = services.key_rotate(actor=cli, key=plain)
    issued.append(token)
    _, token = services.key_rotate(actor=cli, key=agent)
    issued.append(token)
    for token in issued:
        api_client(token).get("/api/v1/me")
        api_client(token).get("/api/v1/playgrounds")
    # then no text column of any table holds any of them, whole or by their secret part
    for token in issued:
        assert rows_containing(token) == []
        assert rows_containing(token[5:30]) == []
        # and no log line carries one
        assert token[5:30] not in caplog.text
    # while the digest is there (the scan finds what is present)
    plain.refresh_from_db()
    assert rows_containing(plain.digest[:20]) == [("keys_apikey", "digest")]
