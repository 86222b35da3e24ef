"""Looking for a marker word in what the registry wrote to PostgreSQL: every row of every
table and materialised view, as text, the word in clear and the hex of its UTF-8 and
UTF-16 encodings (bytea columns show as hex). Used by the sealing, attachment and search
scans, each with a clear word beside its markers to show the scan sees what was written."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")


def postgresql_rows_holding(session: Session, word: str) -> int:
    """How many rows of the current schema's tables and materialised views hold ``word``."""
    relations = session.scalars(
        text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
            "UNION SELECT matviewname FROM pg_matviews WHERE schemaname = current_schema()"
        )
    )
    needles = [f"%{n}%" for n in (word, *(word.encode(e).hex() for e in ENCODINGS))]
    found = 0
    for relation in list(relations):
        # The relation names come from the catalogue, not from input.
        query = f'SELECT count(*) FROM "{relation}" t WHERE t::text LIKE ANY(:needles)'  # noqa: S608
        found += session.scalar(text(query), {"needles": needles})
    return found
