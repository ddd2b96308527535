"""What the benchmarks share: counting SQL statements across Django test-client requests."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def capture():
    """Every SQL statement run meanwhile (the test client resets connection.queries per
    request, so count with an execute wrapper instead)."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen
