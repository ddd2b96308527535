"""What the database holds, as text: every row of every table of the test database, so a test
can say a value is nowhere in it in plain text (sealed columns, audit rows, sessions, all)."""

from django.db import connection
from psycopg import sql


def database_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        rows = []
        for table in tables:
            cursor.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table)))
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows)


def assert_nowhere_in_the_database(*values: str) -> None:
    text = database_text()
    for value in values:
        assert value not in text, f"{value!r} sits in the database in plain text"
