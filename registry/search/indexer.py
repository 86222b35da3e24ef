"""Keeping the index in step with the register, and rebuilding and checking it.

The register calls :meth:`Indexer.index` in the transaction that stores a version and
:meth:`Indexer.forget_sealed` in the one that shreds an idea: the index never disagrees
with the database it lives in. Everything it holds can be rebuilt from the database
(:meth:`Indexer.reindex`, decrypting sealed fields with the KEKs to recompute blind terms).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ARRAY, and_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, contains_eager

from registry.db import utcnow, writing
from registry.ip.models import Idea, IdeaVersion
from registry.sealing.service import Sealing, ShreddedError, sealed_fields
from registry.search.interface import Difference, Document, Scope, SearchIndex
from registry.search.models import ROWS, WORD_MAX, SearchCheckpoint, SearchWord
from registry.search.terms import STOP_WORDS, SearchKey, words

CONTENT = ("title", "summary", "body")
REINDEX = "reindex"


def create_index(name: str, instance: Path) -> SearchIndex:
    """The backend called ``name`` (see registry.search.BACKENDS); a backend outside the
    database keeps its files in the ``instance`` folder."""
    from registry.search.postgres import PostgresIndex
    from registry.search.sqlite import SQLiteIndex

    if name == "whoosh":  # an optional extra: imported only when chosen
        from registry.search.whoosh import WhooshIndex

        return WhooshIndex(instance)
    return {"sqlite": SQLiteIndex, "postgresql": PostgresIndex}[name]()


@dataclass(frozen=True)
class CheckReport:
    """What `registry search check` found: entries that differ from what the database
    says they should be, and problems the engine found in its own structures."""

    differences: list[Difference]
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.differences and not self.problems


@dataclass(frozen=True)
class Indexer:
    """The search backend and the key of its blind index."""

    backend: SearchIndex
    key: SearchKey

    @classmethod
    def load(cls, backend: str, instance: Path) -> Indexer:
        """Raises ``KeyFileError`` or ``SearchKeyError`` if the search key is missing or bad."""
        return cls(create_index(backend, instance), SearchKey.load(instance))

    def documents(self, version: IdeaVersion, content: Mapping[str, str]) -> list[Document]:
        """The abstract and full entries of ``version``, whose plaintext is ``content``
        (title, summary, body; "" for what is gone). Sealed fields become blind terms."""
        sealed = frozenset(sealed_fields(version.sensitivity))
        text = {f: self.key.terms(content[f]) if f in sealed else content[f] for f in CONTENT}
        tags = ", ".join(version.tags)
        abstract = (text["title"], text["summary"], tags)
        row = _row(version)
        return [
            Document(version.id, Scope.ABSTRACT, *abstract, "", sealed - {"body"}, row),
            Document(version.id, Scope.FULL, *abstract, text["body"], sealed, row),
        ]

    def index(self, session: Session, version: IdeaVersion, content: Mapping[str, str]) -> None:
        """Index a new latest version of an idea in the caller's transaction, in place of
        the idea's earlier versions. ``content``: its plaintext title, summary and body."""
        # A first version's idea has nothing in the index yet to replace.
        self._store(session, [(version, content)], replacing=version.number > 1)

    def withdrawn(self, session: Session, idea: Idea) -> None:
        """In the transaction that withdraws ``idea``: searches leave it out by default."""
        changes = {"state": idea.state}
        session.execute(ROWS.update().where(ROWS.c.idea_id == idea.id).values(changes))
        self.backend.restate(session, idea.id, changes)

    def forget_sealed(self, session: Session, idea_id: uuid.UUID) -> None:
        """After shredding: index the idea's latest version with its clear fields only.
        Shredded content is gone for everyone, search included."""
        version = _latest().where(Idea.id == idea_id)
        for each in session.scalars(version):
            self.backend.put(session, self.documents(each, _stored(each)))

    def unindexed(self, session: Session) -> int:
        """How many ideas an empty index lacks: every idea, after upgrading to the first
        version with search, until `registry search reindex`; else 0. Cheap, for start-up:
        `registry search check` finds each missing entry of an index that is not empty."""
        if not self.backend.empty(session):
            return 0
        return session.scalar(select(func.count()).select_from(Idea)) or 0

    # -- rebuilding and checking ------------------------------------------------

    def reindex(
        self,
        session: Session,
        sealing: Sealing,
        *,
        restart: bool = False,
        batch: int = 200,
        progress: Callable[[int], None] = lambda _n: None,
    ) -> int:
        """Rebuild every idea's entries from the database, in id order, committing after
        each batch with a checkpoint of the last idea done; returns how many it indexed.

        An interrupted run leaves its checkpoint, and the next run continues after it
        (unless ``restart``). Search keeps working meanwhile: entries are replaced one
        idea at a time. Raises ``SealError`` if a KEK is missing.
        """
        checkpoint = session.get(SearchCheckpoint, REINDEX)
        if checkpoint is None:
            checkpoint = SearchCheckpoint(name=REINDEX, idea_id=None)
            session.add(checkpoint)
        elif restart:
            checkpoint.idea_id = None
        done = 0
        while True:
            query = _latest().order_by(Idea.id).limit(batch)
            if checkpoint.idea_id is not None:
                query = query.where(Idea.id > checkpoint.idea_id)
            versions = list(session.scalars(query))
            if not versions:
                break
            contents = [(v, self.content(session, sealing, v)) for v in versions]
            self._store(session, contents, replacing=True)
            checkpoint.idea_id, checkpoint.updated_at = versions[-1].idea_id, utcnow()
            session.commit()
            done += len(versions)
            progress(len(versions))
        session.delete(checkpoint)
        session.commit()
        return done

    def pending(self, session: Session, restart: bool = False) -> int:
        """How many ideas a reindex would do now (after its checkpoint, if any)."""
        checkpoint = None if restart else session.get(SearchCheckpoint, REINDEX)
        query = select(func.count()).select_from(Idea)
        if checkpoint is not None and checkpoint.idea_id is not None:
            query = query.where(Idea.id > checkpoint.idea_id)
        return session.scalar(query) or 0

    def check(self, session: Session, sealing: Sealing, batch: int = 500) -> CheckReport:
        """Compare what the index holds for every idea with what the database says it
        should hold. Reads only; raises ``SealError`` if a KEK is missing."""
        differences: list[Difference] = []
        latest: set[int] = set()
        after = None
        while True:
            query = _latest().order_by(Idea.id).limit(batch)
            if after is not None:
                query = query.where(Idea.id > after)
            versions = list(session.scalars(query))
            if not versions:
                break
            latest.update(v.id for v in versions)
            expected = [
                d for v in versions for d in self.documents(v, self.content(session, sealing, v))
            ]
            differences += self.backend.differences(session, expected)
            differences += _row_differences(session, versions)
            after = versions[-1].idea_id
        for version_id in sorted(self.backend.indexed_versions(session) - latest):
            differences += [Difference(version_id, scope, "unexpected") for scope in Scope]
        rows = set(session.scalars(select(ROWS.c.version_id)))
        differences += [Difference(v, None, "unexpected") for v in sorted(rows - latest)]
        # The engine's own check may need the write lock (FTS5's is an INSERT): a
        # transaction of its own that waits for it, then writes nothing.
        session.rollback()
        with writing():
            problems = self.backend.verify(session)
            session.rollback()
        return CheckReport(differences, problems)

    @staticmethod
    def content(session: Session, sealing: Sealing, version: IdeaVersion) -> dict[str, str]:
        """The plaintext of a version's title, summary and body: sealed fields opened
        with the KEKs, "" once shredded."""
        content = _stored(version)
        sealed = sealed_fields(version.sensitivity)
        if sealed:
            try:
                opened = sealing.open(session, version.id, version.idea_id, version.number, sealed)
            except ShreddedError:
                opened = {}
            content.update({f: value.decode() for f, value in opened.items()})
        return content

    # -- helpers ------------------------------------------------------------------

    def _store(
        self,
        session: Session,
        contents: list[tuple[IdeaVersion, Mapping[str, str]]],
        *,
        replacing: bool,
    ) -> None:
        """Index these latest versions (with their plaintext): their entries, their
        ideas' search rows, the vocabulary. ``replacing``: first remove whatever the
        index and the search rows hold for their ideas."""
        if replacing:
            idea_ids = [v.idea_id for v, _ in contents]
            self.backend.remove(session, self._versions(session, idea_ids))
            session.execute(ROWS.delete().where(ROWS.c.idea_id.in_(idea_ids)))
        self.backend.put(session, [d for v, c in contents for d in self.documents(v, c)])
        session.execute(ROWS.insert(), [_row(v) for v, _ in contents])
        self._learn(session, contents)

    @staticmethod
    def _versions(session: Session, idea_ids: Iterable[uuid.UUID]) -> list[int]:
        """Every version of these ideas (entries of all but the latest are stale)."""
        return list(
            session.scalars(select(IdeaVersion.id).where(IdeaVersion.idea_id.in_(list(idea_ids))))
        )

    @staticmethod
    def _learn(session: Session, contents: Iterable[tuple[IdeaVersion, Mapping[str, str]]]) -> None:
        # The vocabulary of "did you mean": words of clear fields only, never sealed ones.
        found: set[str] = set()
        for version, content in contents:
            sealed = sealed_fields(version.sensitivity)
            clear = [content[f] for f in CONTENT if f not in sealed] + version.tags
            found.update(w for text in clear for w in words(text) if _learnable(w))
        if not found:
            return
        # Sorted, so that two transactions learning the same new words take their
        # index locks in the same order.
        found_words = sorted(found)
        if session.get_bind().dialect.name == "postgresql":
            # One statement with one array, not one statement a word (psycopg's
            # executemany): a submission brings about a hundred words.
            session.execute(_LEARN_POSTGRESQL, {"words": found_words})
        else:
            session.execute(_LEARN_SQLITE, [{"word": w} for w in found_words])


_LEARN_POSTGRESQL = (
    postgresql.insert(SearchWord.__table__)
    .from_select(
        ["word"], select(func.unnest(bindparam("words", type_=ARRAY(SearchWord.word.type))))
    )
    .on_conflict_do_nothing()
)
_LEARN_SQLITE = sqlite.insert(SearchWord.__table__).on_conflict_do_nothing()


def _latest():
    return (
        select(IdeaVersion)
        .join(Idea, and_(Idea.id == IdeaVersion.idea_id, Idea.latest_version == IdeaVersion.number))
        .options(contains_eager(IdeaVersion.idea))
    )


def _row(version: IdeaVersion) -> dict:
    """The search row of an idea's latest version (see IndexedIdea)."""
    idea = version.idea
    return {
        "version_id": version.id,
        "idea_id": idea.id,
        "origin": idea.origin,
        "owner_id": idea.owner_id,
        "group_id": idea.group_id,
        "sensitivity": version.sensitivity,
        "state": idea.state,
        "registered_at": idea.created_at,
    }


def _row_differences(session: Session, versions: list[IdeaVersion]) -> list[Difference]:
    columns = [ROWS.c[name] for name in _row(versions[0])]
    stored = {
        row.version_id: dict(row._mapping)
        for row in session.execute(
            select(*columns).where(ROWS.c.version_id.in_([v.id for v in versions]))
        )
    }
    found = []
    for version in versions:
        row = stored.get(version.id)
        if row is None:
            found.append(Difference(version.id, None, "missing"))
        elif row != _row(version):
            found.append(Difference(version.id, None, "differs"))
    return found


def _stored(version: IdeaVersion) -> dict[str, str]:
    # What the version row holds: clear fields, and "" for sealed ones.
    return {f: getattr(version, f) for f in CONTENT}


def _learnable(word: str) -> bool:
    return 3 <= len(word) <= WORD_MAX and word not in STOP_WORDS and not word.isdigit()
