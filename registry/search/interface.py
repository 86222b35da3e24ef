"""What every search backend is: the :class:`SearchIndex` protocol and what it speaks.

The index holds, for each idea as of its latest version, two entries: the abstract
(title, summary, tags) and the full text (the abstract and the body). A searcher matches
an idea on exactly one of them, as the access policy decides (registry/search/service.py),
so someone who may read only the abstract never matches on the body.

Backends: SQLite FTS5 (registry/search/sqlite.py) and PostgreSQL full-text search
(registry/search/postgres.py), both inside the database and written in the transaction
that stores the version. A backend outside the database (Whoosh) implements the same
protocol: it returns its hits as SQL too (e.g. rows of a temporary table it fills), so
the access filter still runs inside the one query that finds hits, counts and facets.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, FromClause
from sqlalchemy.orm import Session


class Scope(enum.IntEnum):
    ABSTRACT = 0  # title, summary, tags
    FULL = 1  # title, summary, tags, body


FIELDS = ("title", "summary", "tags", "body")


@dataclass(frozen=True)
class Document:
    """One entry of the index: an idea's latest version in one scope.

    Each field holds its text, or, when named in ``blind``, its blind terms
    (registry/search/terms.py). The abstract entry's body is empty.
    """

    version_id: int
    scope: Scope
    title: str
    summary: str
    tags: str
    body: str
    blind: frozenset[str] = frozenset()
    # The idea's search row (IndexedIdea's columns, by name), for a backend whose
    # entries keep a copy of it (:attr:`Matches.row`).
    row: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Word:
    """A word to find: lower-case letters and digits, and its blind term (filled in by the
    service before a backend sees it)."""

    text: str
    blind: str = ""


@dataclass(frozen=True)
class Phrase:
    """Words to find next to each other, in this order."""

    words: tuple[Word, ...]


Item = Word | Phrase


@dataclass(frozen=True)
class Query:
    """What a backend compiles: an entry matches when, for every group in ``required``,
    one of its items occurs, and no item of ``excluded`` does. Built by our parser
    (registry/search/query.py) from the user's text, never the user's text itself."""

    required: tuple[tuple[Item, ...], ...]
    excluded: tuple[Item, ...] = ()


def shape(query: Query) -> Query:
    """``query`` with its words left out: its groups, items and phrase lengths, all that a
    backend's SQL for it may depend on (:meth:`SearchIndex.matches`)."""

    def blank(item: Item) -> Item:
        return Word("") if isinstance(item, Word) else Phrase((Word(""),) * len(item.words))

    return Query(
        tuple(tuple(blank(i) for i in group) for group in query.required),
        tuple(blank(i) for i in query.excluded),
    )


@dataclass(frozen=True)
class Matches:
    """The index entries that match a query, one row each, as parts of a SELECT: the
    service selects from ``source`` where ``condition`` holds, joins ``version_id`` to
    ``idea_versions``, keeps the rows whose ``scope`` is the one the searcher may match
    each idea on, and orders by ``score`` (computed only for the rows kept).

    The SQL depends only on the query's :func:`shape`; its words, and anything else
    that changes from one query to the next, are bound parameters whose values are in
    ``parameters``. So the service can keep the statement it builds around them and run
    it again for another query of the same shape, with that query's parameters.

    A higher score is more relevant: the title weighs more than the summary, the summary
    more than the tags, the tags more than the body. A score depends on the entry and the
    query alone, never on statistics of the whole index (how many entries hold a word,
    their average length): those count hidden ideas, which would reorder visible ones.
    """

    source: FromClause
    condition: ColumnElement[bool]
    version_id: ColumnElement[int]
    scope: ColumnElement[int]
    score: ColumnElement[float]
    parameters: Mapping[str, object]
    # Where the service reads the idea's search row (IndexedIdea's columns, by their
    # names): None, from ``search_ideas``, joined by ``version_id``; else ``source``
    # holds a copy of it in each entry (PostgreSQL), and no join is needed.
    row: FromClause | None = None


@dataclass(frozen=True)
class Difference:
    """An index entry, or with ``scope`` None the idea's search row (IndexedIdea), that
    is not what the database says it should be."""

    version_id: int
    scope: Scope | None
    problem: str  # "missing", "differs" or "unexpected"


class SearchIndex(Protocol):
    """A full-text index of ideas. Every method runs in the caller's transaction."""

    name: str

    def put(self, session: Session, documents: Sequence[Document]) -> None:
        """Store ``documents``, each in place of any entry of the same version and scope
        the index held (an idea's two entries are always put together)."""

    def remove(self, session: Session, version_ids: Collection[int]) -> None:
        """Forget every entry of these versions."""

    def restate(self, session: Session, idea_id: uuid.UUID, changes: Mapping[str, object]) -> None:
        """The idea's search row has these ``changes`` (it was withdrawn): a backend whose
        entries copy the row (:attr:`Matches.row`) makes them there too; the others do
        nothing."""

    def matches(self, session: Session, query: Query, name: str) -> Matches:
        """The entries matching ``query``, as SQL the search service joins to the
        register and filters in the same statement (see :class:`Matches`). Every word
        matches its text or its blind term; the backend quotes every term itself. The
        names of its bound parameters start with ``name``, so that several matches can
        sit in one statement."""

    def differences(self, session: Session, expected: Sequence[Document]) -> list[Difference]:
        """Which of ``expected`` the index lacks ("missing") or holds otherwise ("differs")."""

    def indexed_versions(self, session: Session) -> set[int]:
        """The versions the index holds entries for."""

    def empty(self, session: Session) -> bool:
        """Whether the index holds no entry at all (cheap: it reads at most one)."""

    def verify(self, session: Session) -> list[str]:
        """Problems the engine finds in its own structures (empty when there are none)."""
