"""Database upkeep that the ORM does not do: statistics after a bulk load.

PostgreSQL plans from the statistics ANALYZE gathers. Autovacuum refreshes them eventually (a
minute or more after the load, or never when it is off), and until then a table loaded with
10,000 systems is planned as if it were empty: nested loops over 130,000 items, exports ten
times slower. So a service that inserts many rows at once ends with `analyze_after_commit` of
the tables it filled.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

# Fewer rows than this change no plan worth a statement; more and the estimates go stale.
BULK_ROWS = 500


def table_names(tables: Iterable[type[models.Model] | str]) -> list[str]:
    """The tables of models (or names), each once, sorted."""
    return sorted({t if isinstance(t, str) else t._meta.db_table for t in tables})


def analyze_after_commit(
    tables: Iterable[type[models.Model] | str], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """ANALYZE `tables` once the current transaction commits (at once outside of one).

    After the commit, so that the statistics see the rows, and so that a rolled-back load
    costs nothing. Table names come from models' meta, quoted: no input reaches the statement.
    """
    names = table_names(tables)
    if not names:
        return
    connection = connections[using]
    statement = "ANALYZE " + ", ".join(connection.ops.quote_name(n) for n in names)

    def run() -> None:
        with connections[using].cursor() as cursor:
            cursor.execute(statement)

    transaction.on_commit(run, using=using)
