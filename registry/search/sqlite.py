"""The SQLite backend: an FTS5 table in the registry's own database.

``search_fts(title, summary, tags, body)``, tokenizer ``porter unicode61``, created by
migration 0007: one row per entry, rowid ``version_id * 2 + scope``, so a hit joins
straight back to ``idea_versions``. It stores its columns (the FTS5 default): clear fields
as written, sealed ones only as blind terms, nothing the database does not already hold
in clear.

Relevance: an entry scores 8 if a word of the query is in its title, plus 4 for the
summary, 2 for the tags, 1 for the body. Not bm25's value: its document frequencies and
average lengths are taken over every entry, those the searcher may not read included,
so hidden text would reorder visible hits. Only whether bm25 is zero is used: with one
column weighted 1 and the others 0 it is zero exactly when no phrase of the query occurs
in that column of that entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.search.interface import (
    FIELDS,
    Difference,
    Document,
    Item,
    Matches,
    Query,
    Scope,
    Word,
)

FTS = table("search_fts", column("rowid", Integer), *(column(f) for f in FIELDS))
WEIGHTS = {"title": 8, "summary": 4, "tags": 2, "body": 1}
SQLITE_CORRUPT = 11  # and its extended codes, such as SQLITE_CORRUPT_VTAB
_FTS = literal_column("search_fts")  # the table itself, as FTS5's MATCH and bm25 name it


def _holds(field: str) -> ColumnElement[int]:
    """The field's weight if a phrase of the query is in it: bm25 weighing this column
    alone is zero unless one is."""
    only = [1.0 if f == field else 0.0 for f in FIELDS]
    return case((func.bm25(_FTS, *only) < 0, WEIGHTS[field]), else_=0)


# The same for every query: built once.
SCORE = _holds("title") + _holds("summary") + _holds("tags") + _holds("body")
_INSERT = text(
    "INSERT OR REPLACE INTO search_fts (rowid, title, summary, tags, body) "
    "VALUES (:rowid, :title, :summary, :tags, :body)"
)


def rowid(version_id: int, scope: Scope) -> int:
    return version_id * 2 + int(scope)


class SQLiteIndex:
    """FTS5, updated in the transaction that stores the version."""

    name = "sqlite"

    def put(self, session: Session, documents: Sequence[Document]) -> None:
        if documents:  # an entry's rowid is its version and scope: REPLACE replaces it
            session.execute(_INSERT, [_row(d) for d in documents])

    def remove(self, session: Session, version_ids: Collection[int]) -> None:
        rowids = [rowid(v, s) for v in version_ids for s in Scope]
        for start in range(0, len(rowids), 500):
            session.execute(FTS.delete().where(FTS.c.rowid.in_(rowids[start : start + 500])))

    def restate(self, session: Session, idea_id: uuid.UUID, changes: Mapping[str, object]) -> None:
        pass  # entries copy nothing of the search row: a search joins it

    def matches(self, session: Session, query: Query, name: str) -> Matches:
        return Matches(
            source=FTS,
            condition=_FTS.op("MATCH")(bindparam(name, type_=Text)),
            version_id=FTS.c.rowid.op("/")(2),
            scope=FTS.c.rowid.op("%")(2),
            score=SCORE,
            parameters={name: compile_fts(query)},
        )

    def differences(self, session: Session, expected: Sequence[Document]) -> list[Difference]:
        wanted = {rowid(d.version_id, d.scope): d for d in expected}
        keys = list(wanted)
        stored = {
            row.rowid: tuple(row[1:])
            for start in range(0, len(keys), 500)
            for row in session.execute(
                select(FTS.c.rowid, *(FTS.c[f] for f in FIELDS)).where(
                    FTS.c.rowid.in_(keys[start : start + 500])
                )
            )
        }
        found = []
        for key, document in wanted.items():
            if key not in stored:
                found.append(Difference(document.version_id, document.scope, "missing"))
            elif stored[key] != tuple(getattr(document, f) for f in FIELDS):
                found.append(Difference(document.version_id, document.scope, "differs"))
        return found

    def indexed_versions(self, session: Session) -> set[int]:
        return set(session.scalars(select(FTS.c.rowid.op("/")(2)).distinct()))

    def empty(self, session: Session) -> bool:
        return session.scalar(select(FTS.c.rowid).limit(1)) is None

    def verify(self, session: Session) -> list[str]:
        # FTS5 checks that its inverted index agrees with the columns it stores. The
        # check is written as an INSERT: it needs the write lock (see Indexer.check).
        try:
            with session.begin_nested():
                session.execute(
                    text("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
                )
        except DBAPIError as error:
            if getattr(error.orig, "sqlite_errorcode", 0) & 0xFF != SQLITE_CORRUPT:
                raise  # busy, locked: not a finding
            return [f"FTS5 integrity-check failed: {error.orig}"]
        return []


def _row(document: Document) -> dict:
    return {
        "rowid": rowid(document.version_id, document.scope),
        **{f: getattr(document, f) for f in FIELDS},
    }


def compile_fts(query: Query) -> str:
    """The FTS5 query for ``query``: every term in double quotes (our words hold only
    letters and digits, so a quote never needs escaping), each word as its text OR its
    blind term, phrases kept whole, and only the operators AND, OR and NOT."""

    def item(it: Item) -> str:
        words = (it,) if isinstance(it, Word) else it.words
        plain = " ".join(w.text for w in words)
        blind = " ".join(w.blind for w in words)
        return f'("{plain}" OR "{blind}")'

    required = " AND ".join(
        "(" + " OR ".join(item(i) for i in group) + ")" for group in query.required
    )
    if not query.excluded:
        return required
    return f"({required}) NOT (" + " OR ".join(item(i) for i in query.excluded) + ")"
