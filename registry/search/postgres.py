"""The PostgreSQL backend: a tsvector per entry, a GIN index, in the registry's database.

``search_entries(version_id, scope, document)``, created by migration 0007, and in each
entry a copy of its idea's search row (IndexedIdea: owner, group, origin, sensitivity,
state, time; migration 0011). A search reads what it filters on, decides access by and
sorts by in the entry it matched. A join to ``search_ideas`` instead cost PostgreSQL a
scan of every search row the filters left and a hash of the matching entries' tsvectors:
at 100,000 ideas, a third of a search. The indexer gives each entry the row it writes to
``search_ideas`` (Document.row) and its changes (:meth:`PostgresIndex.restate`);
`registry search check` compares the copy.

The document weighs the title A, the summary B, the tags C and the body D; clear fields
go through the 'english' configuration, blind terms through 'simple' (they are not words
to stem). Texts are split into words by our tokenizer first, so both backends see the
same words. Queries are built from our parsed query with plainto_tsquery and
phraseto_tsquery on bound parameters: no user text is ever parsed as tsquery syntax.
Relevance is ts_rank_cd with the same weights.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from functools import reduce

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    values,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR, insert
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
from registry.search.models import ROWS
from registry.search.terms import words

# The search row's columns an entry copies, by the same names and types.
COPIED = tuple(c.name for c in ROWS.c if c.name != "version_id")
# Not a model: the table exists on PostgreSQL only (migrations 0007 and 0011).
ENTRIES = Table(
    "search_entries",
    MetaData(),
    Column("version_id", Integer, primary_key=True),
    Column("scope", SmallInteger, primary_key=True),
    Column("document", TSVECTOR, nullable=False),
    *(Column(name, ROWS.c[name].type, nullable=ROWS.c[name].nullable) for name in COPIED),
)
WEIGHT = {"title": "A", "summary": "B", "tags": "C", "body": "D"}
# ts_rank_cd's weights, in the order D, C, B, A.
RANK_WEIGHTS = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
ENGLISH = literal_column("'english'::regconfig")
SIMPLE = literal_column("'simple'::regconfig")


def _vector(fields: dict[str, tuple[ColumnElement, ColumnElement]]) -> ColumnElement:
    """The weighted tsvector of (text, configuration name) per field."""
    parts = [
        func.setweight(
            func.to_tsvector(cast(config, REGCONFIG), text), literal_column(f"'{WEIGHT[name]}'")
        )
        for name, (text, config) in fields.items()
    ]
    return reduce(lambda a, b: a.op("||")(b), parts)


def _params(document: Document) -> dict[str, object]:
    row: dict[str, object] = {
        "v_id": document.version_id,
        "v_scope": int(document.scope),
        **{name: document.row[name] for name in COPIED},
    }
    for name in FIELDS:
        value = getattr(document, name)
        blind = name in document.blind
        row[name] = value if blind else " ".join(words(value))
        row[f"{name}_config"] = "simple" if blind else "english"
    return row


_NEW = insert(ENTRIES).values(
    version_id=bindparam("v_id"),
    scope=bindparam("v_scope"),
    document=_vector({f: (bindparam(f), bindparam(f"{f}_config")) for f in FIELDS}),
    **{name: bindparam(name, type_=ENTRIES.c[name].type) for name in COPIED},
)
# An entry put again replaces the one of the same version and scope (its primary key).
_PUT = _NEW.on_conflict_do_update(
    index_elements=[ENTRIES.c.version_id, ENTRIES.c.scope],
    set_={name: _NEW.excluded[name] for name in ("document", *COPIED)},
)


class PostgresIndex:
    """tsvector and GIN, updated in the transaction that stores the version."""

    name = "postgresql"

    def put(self, session: Session, documents: Sequence[Document]) -> None:
        if documents:
            session.execute(_PUT, [_params(d) for d in documents])

    def restate(self, session: Session, idea_id: uuid.UUID, changes: Mapping[str, object]) -> None:
        session.execute(ENTRIES.update().where(ENTRIES.c.idea_id == idea_id).values(changes))

    def remove(self, session: Session, version_ids: Collection[int]) -> None:
        if version_ids:
            session.execute(ENTRIES.delete().where(ENTRIES.c.version_id.in_(list(version_ids))))

    def matches(self, session: Session, query: Query, name: str) -> Matches:
        tsquery, parameters = compile_tsquery(query, name)
        return Matches(
            source=ENTRIES,
            condition=ENTRIES.c.document.op("@@")(tsquery),
            version_id=ENTRIES.c.version_id,
            scope=ENTRIES.c.scope,
            row=ENTRIES,
            # ts_rank_cd reads the entry alone: no statistics of other entries.
            score=func.ts_rank_cd(RANK_WEIGHTS, ENTRIES.c.document, tsquery),
            parameters=parameters,
        )

    def differences(self, session: Session, expected: Sequence[Document]) -> list[Difference]:
        found = []
        for start in range(0, len(expected), 200):
            batch = [_params(d) for d in expected[start : start + 200]]
            texts = [*FIELDS, *(f"{f}_config" for f in FIELDS)]
            names = ["v_id", "v_scope", *texts, *COPIED]
            wanted = values(
                column("v_id", Integer),
                column("v_scope", SmallInteger),
                *(column(n, Text) for n in texts),
                *(column(n, ENTRIES.c[n].type) for n in COPIED),
                name="expected",
            ).data([tuple(row[n] for n in names) for row in batch])
            document = _vector({f: (wanted.c[f], wanted.c[f"{f}_config"]) for f in FIELDS})
            rows = session.execute(
                select(
                    wanted.c.v_id,
                    wanted.c.v_scope,
                    ENTRIES.c.version_id.is_not(None).label("present"),
                    and_(
                        ENTRIES.c.document == document,
                        # (cast: a column of the VALUES that is NULL throughout has no type)
                        *(
                            ENTRIES.c[n].is_not_distinct_from(cast(wanted.c[n], ENTRIES.c[n].type))
                            for n in COPIED
                        ),
                    ).label("same"),
                ).select_from(
                    wanted.outerjoin(
                        ENTRIES,
                        and_(
                            ENTRIES.c.version_id == wanted.c.v_id,
                            ENTRIES.c.scope == wanted.c.v_scope,
                        ),
                    )
                )
            )
            for row in rows:
                if not row.present:
                    found.append(Difference(row.v_id, Scope(row.v_scope), "missing"))
                elif not row.same:
                    found.append(Difference(row.v_id, Scope(row.v_scope), "differs"))
        return found

    def indexed_versions(self, session: Session) -> set[int]:
        return set(session.scalars(select(ENTRIES.c.version_id).distinct()))

    def empty(self, session: Session) -> bool:
        return session.scalar(select(ENTRIES.c.version_id).limit(1)) is None

    def verify(self, session: Session) -> list[str]:
        return []  # PostgreSQL checks its own GIN index; nothing to ask it here


def compile_tsquery(query: Query, name: str) -> tuple[ColumnElement, dict[str, str]]:
    """The tsquery for ``query``: each word as its stemmed text OR its blind term, each
    phrase as both phrases, all from bound parameters (``name`` and a number), and their
    values."""
    parameters: dict[str, str] = {}

    def bound(value: str) -> ColumnElement:
        key = f"{name}_{len(parameters)}"
        parameters[key] = value
        return bindparam(key, type_=Text)

    def item(it: Item) -> ColumnElement:
        words = (it,) if isinstance(it, Word) else it.words
        to_tsquery = func.plainto_tsquery if isinstance(it, Word) else func.phraseto_tsquery
        plain = to_tsquery(ENGLISH, bound(" ".join(w.text for w in words)))
        blind = to_tsquery(SIMPLE, bound(" ".join(w.blind for w in words)))
        return func.tsquery_or(plain, blind)

    def either(items) -> ColumnElement:
        return reduce(func.tsquery_or, (item(i) for i in items))

    required = reduce(func.tsquery_and, (either(group) for group in query.required))
    if query.excluded:
        required = func.tsquery_and(required, func.tsquery_not(either(query.excluded)))
    return required, parameters
