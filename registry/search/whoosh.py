"""The Whoosh backend: an index folder beside any database, kept in step by an outbox.

Optional (``pip install 'registry[whoosh]'``) and never the default. Measured on the
project's machine with whoosh 2.7.4 at 100k ideas: 209 ms (660 ms filtered) a query,
197 ms to commit one document, no fsync of its own, and concurrent writers that fail
unless something serialises them; the project is unmaintained. It suits a deployment that
wants search in a folder of its own, on one host, with modest traffic.

**The outbox.** :meth:`WhooshIndex.put` and :meth:`WhooshIndex.remove` write rows to
``search_outbox`` in the caller's transaction: the change commits or rolls back with the
idea, and nothing is lost if the process dies after the commit. The rows hold what the
index will hold: clear fields as written, sealed ones only as blind terms (the
:class:`Document` carries them so), never sealed plaintext.

**The drain** (:meth:`WhooshIndex.drain`) applies the rows in id order to the folder
``search-whoosh/`` in the instance folder (mode 0700), commits the Whoosh writer, syncs
its files to disk, and only then deletes the applied rows, in a database transaction of
its own. One drain at a time across processes: an ``fcntl`` lock on a file in the index
folder, taken with a timeout, so Whoosh's own write lock is always free when we ask for
it. Applying is idempotent (entries are replaced, and removed, by their key: version and
scope), so a drain that dies between the Whoosh commit and the delete leaves the
rows for the next drain to apply again: that is the catch-up after a crash or restart.
A drain runs after every commit that wrote to the outbox (without waiting: if another
process holds the lock, it is draining), before every search and check (waiting, so a
search sees what was committed before it), and by `registry search drain`.

**Relevance** depends on the entry and the query alone: each matched term scores its
field's weight (title 8, summary 4, tags 2, body 1) times ``1 + ln(frequency)``, with
no document frequencies or lengths of other entries. :meth:`WhooshIndex.matches`
returns its hits to the database as one JSON parameter expanded into rows, so the access
filter runs in the one SQL statement that computes hits, counts and facets.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Float,
    FromClause,
    Integer,
    Text,
    bindparam,
    cast,
    column,
    delete,
    event,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh import scoring
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, MERGE_SMALL

from registry.db import writing
from registry.errors import APIError
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
from registry.search.models import SearchOutboxEntry
from registry.search.terms import stem, words

log = logging.getLogger(__name__)

FOLDER = "search-whoosh"
LOCK_FILE = "drain.lock"
# How long a search, a check or the CLI waits for another process's drain.
LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.05
BATCH = 500  # outbox rows applied per Whoosh commit
# A drain stops after this many batches even if writers keep adding rows: the rest is
# the next drain's. Enough for any backlog a reindex leaves (200 ideas a commit).
MAX_BATCHES = 1000
WEIGHTS = {"title": 8, "summary": 4, "tags": 2, "body": 1}
OUTBOX = SearchOutboxEntry.__table__

# Each field holds tokens we made (stems of clear words, or blind terms): Whoosh only
# splits them on spaces and records positions, for phrases.
SCHEMA = Schema(
    entry=ID(unique=True, stored=True),  # "<version_id>:<scope>"
    document=STORED,  # the document as the outbox gave it (canonical JSON)
    **{f: TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=True) for f in FIELDS},
)

_PENDING = "registry.search.whoosh.pending"  # Session.info: indexes the transaction wrote to


class IndexBusyError(APIError):
    """Another process has held the drain lock for longer than :data:`LOCK_TIMEOUT`."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "The search index is being updated by another process; try again shortly.",
            headers={"Retry-After": "5"},
        )


class WhooshIndex:
    """Whoosh in the instance folder, updated through the outbox by one drain at a time."""

    name = "whoosh"

    def __init__(self, instance: Path):
        self.folder = Path(instance) / FOLDER
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)  # it holds the clear fields of every idea
        if not event.contains(Session, "after_commit", _drain_after_commit):
            event.listen(Session, "after_commit", _drain_after_commit)
            event.listen(Session, "after_transaction_end", _forget_pending)
        with _DrainLock(self.folder / LOCK_FILE, LOCK_TIMEOUT):
            if not whoosh_index.exists_in(self.folder):
                whoosh_index.create_in(self.folder, SCHEMA)

    # -- writing: the outbox, in the caller's transaction ----------------------------

    def put(self, session: Session, documents: Sequence[Document]) -> None:
        if not documents:
            return
        rows = [
            {"version_id": d.version_id, "scope": int(d.scope), "document": _fields(d)}
            for d in documents
        ]
        session.execute(insert(OUTBOX), rows)
        _pending(session)[id(self)] = self

    def remove(self, session: Session, version_ids: Collection[int]) -> None:
        if not version_ids:
            return
        rows = [{"version_id": v, "scope": None, "document": None} for v in sorted(version_ids)]
        session.execute(insert(OUTBOX), rows)
        _pending(session)[id(self)] = self

    def restate(self, session: Session, idea_id: uuid.UUID, changes: Mapping[str, object]) -> None:
        pass  # entries copy nothing of the search row: a search joins it

    # -- the drain ----------------------------------------------------------------

    def drain(self, session: Session, *, wait: bool = True) -> int:
        """Apply the outbox to the index folder, oldest row first, and delete what was
        applied; returns how many rows it applied.

        Runs in transactions of its own on ``session``'s connection source, never in the
        caller's: call it between transactions (in a test whose session is bound to one
        connection, they are savepoints of it). With ``wait``, waits up to
        :data:`LOCK_TIMEOUT` for another process's drain and then raises
        :class:`IndexBusyError`; without, returns 0 at once if another process holds the lock
        (that process is draining). Errors of the database or of Whoosh propagate; the
        rows not yet deleted stay in the outbox for the next drain.
        """
        lock = _DrainLock(self.folder / LOCK_FILE, LOCK_TIMEOUT if wait else 0.0)
        if not lock.acquire():
            if wait:
                raise IndexBusyError()
            return 0
        try:
            bind = session.get_bind()
            applied = 0
            for _ in range(MAX_BATCHES):
                rows = _waiting(bind)
                if not rows:
                    break
                self._apply(rows)
                self._applied(bind, [row.id for row in rows])
                applied += len(rows)
            return applied
        finally:
            lock.release()

    def _apply(self, rows: Sequence[Any]) -> None:
        # Whoosh's update_document replaces only committed documents, so within one
        # writer each entry is written once: the last change to it in the batch.
        final: dict[tuple[int, Scope], Mapping[str, Any] | None] = {}
        removed: set[int] = set()
        replaced: set[tuple[int, Scope]] = set()  # put again with no removal before it
        for row in rows:
            if row.scope is None:
                removed.add(row.version_id)
                for scope in Scope:
                    final[(row.version_id, scope)] = None
            else:
                key = (row.version_id, Scope(row.scope))
                final[key] = row.document
                if row.version_id not in removed:
                    replaced.add(key)
        ix = self._open()
        with ix.searcher() as searcher:
            # Only shredding (Indexer.forget_sealed) puts an entry the index holds without
            # removing it first. Whoosh keeps a deleted document's terms and stored fields
            # in its segment until a merge rewrites it: then every segment with deletions
            # is rewritten now, so no blind term of shredded content stays on disk.
            purge = any(
                final[key] is not None and searcher.document(entry=_key(*key)) is not None
                for key in replaced
            )
        writer = ix.writer(timeout=LOCK_TIMEOUT)
        try:
            for (version_id, scope), document in final.items():
                if document is None:
                    writer.delete_by_term("entry", _key(version_id, scope))
                else:
                    writer.update_document(**_whoosh_fields(version_id, scope, document))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=_purge_deletions if purge else None)
        _sync(self.folder)

    def _applied(self, bind, ids: list[int]) -> None:
        """Delete the outbox rows a committed Whoosh writer holds (a crash before this
        only makes the next drain apply them again)."""
        with writing(), Session(bind, join_transaction_mode="create_savepoint") as own:
            for start in range(0, len(ids), 500):
                own.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(ids[start : start + 500])))
            own.commit()

    def clear(self) -> None:
        """Empty the index, as a new folder is (the outbox is left as it is).

        For a test, whose rollback does not reach the folder; and after restoring the
        database from a backup older than the folder, before `registry search reindex
        --restart`, so no entry of a version the database no longer has remains.
        """
        with _DrainLock(self.folder / LOCK_FILE, LOCK_TIMEOUT):
            self._open().writer(timeout=LOCK_TIMEOUT).commit(mergetype=CLEAR)
            _sync(self.folder)

    # -- reading ------------------------------------------------------------------

    def matches(self, session: Session, query: Query, name: str) -> Matches:
        self.drain(session)
        rows = []
        with self._searcher() as searcher:
            for docnum, score in searcher.search(compile_query(query), limit=None).items():
                version_id, scope = _parse_key(searcher.stored_fields(docnum)["entry"])
                rows.append({"version_id": version_id, "scope": int(scope), "score": score})
        hits = _as_rows(session, name)
        return Matches(
            source=hits,
            condition=true(),
            version_id=hits.c.version_id,
            scope=hits.c.scope,
            score=hits.c.score,
            parameters={name: json.dumps(rows)},
        )

    def differences(self, session: Session, expected: Sequence[Document]) -> list[Difference]:
        self.drain(session)
        found = []
        with self._searcher() as searcher:
            for document in expected:
                stored = searcher.document(entry=_key(document.version_id, document.scope))
                if stored is None:
                    found.append(Difference(document.version_id, document.scope, "missing"))
                elif stored["document"] != _canonical(_fields(document)):
                    found.append(Difference(document.version_id, document.scope, "differs"))
        return found

    def indexed_versions(self, session: Session) -> set[int]:
        self.drain(session)
        with self._searcher() as searcher:
            return {_parse_key(f["entry"])[0] for f in searcher.all_stored_fields()}

    def empty(self, session: Session) -> bool:
        self.drain(session)
        with self._searcher() as searcher:
            return searcher.doc_count() == 0

    def verify(self, session: Session) -> list[str]:
        """The folder's mode, one entry per key, and every entry's postings (the words
        and positions phrases use) the tokens of the document it stores."""
        self.drain(session)
        problems = []
        mode = self.folder.stat().st_mode & 0o777
        if mode & 0o077:
            problems.append(f"{self.folder} is accessible to other users (mode {oct(mode)})")
        try:
            problems += self._check_postings()
        except (OSError, EOFError, ValueError, KeyError, whoosh_index.IndexError) as error:
            problems.append(f"the Whoosh index cannot be read: {type(error).__name__}: {error}")
        return problems

    def _check_postings(self) -> list[str]:
        problems = []
        with self._searcher() as searcher:
            reader = searcher.reader()
            entries: dict[int, str] = {}
            expected: dict[tuple[int, str], list[str]] = {}
            seen: set[str] = set()
            for docnum, stored in reader.iter_docs():
                entry = stored["entry"]
                if entry in seen:
                    problems.append(f"entry {entry} is in the Whoosh index more than once")
                seen.add(entry)
                entries[docnum] = entry
                document = json.loads(stored["document"])
                for field in FIELDS:
                    tokens = _tokens(document, field)
                    if tokens:
                        expected[(docnum, field)] = tokens
            actual: dict[tuple[int, str], dict[int, str]] = {}
            for field in FIELDS:
                for term in reader.field_terms(field):
                    postings = reader.postings(field, term)
                    while postings.is_active():
                        at = actual.setdefault((postings.id(), field), {})
                        for position in postings.value_as("positions"):
                            at[position] = term
                        postings.next()
            for docnum, field in sorted(set(expected) | set(actual)):
                held = actual.get((docnum, field), {})
                if [held[p] for p in sorted(held)] != expected.get((docnum, field), []):
                    entry = entries.get(docnum, f"document {docnum}")
                    problems.append(f"entry {entry}: the {field} postings differ from its text")
        return problems

    # -- helpers ------------------------------------------------------------------

    def _open(self):
        # A folder lost since start-up comes back empty: `registry search reindex
        # --restart` refills it.
        if not whoosh_index.exists_in(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            return whoosh_index.create_in(self.folder, SCHEMA)
        return whoosh_index.open_dir(self.folder)

    def _searcher(self) -> Searcher:
        return self._open().searcher(weighting=FieldWeighting())


# -- relevance ----------------------------------------------------------------------


class FieldWeighting(scoring.WeightingModel):
    """A term's score: its field's weight times ``1 + ln(frequency in the field)``.
    Nothing of other entries (no idf, no average length): hidden ideas cannot reorder
    visible ones."""

    def scorer(self, searcher, fieldname, text, qf=1):
        # Lookups by key ("entry") score nothing; only the four fields weigh.
        return _FieldScorer(WEIGHTS.get(fieldname, 0))


class _FieldScorer(scoring.BaseScorer):
    def __init__(self, weight: int):
        self.weight = weight

    def score(self, matcher) -> float:
        return self.weight * (1.0 + math.log(max(matcher.weight(), 1.0)))


def compile_query(query: Query) -> wq.Query:
    """The Whoosh query for ``query``: every required group, none of the exclusions.
    Built from Whoosh's query objects, never by parsing text."""
    required = wq.And([wq.Or([_item(i) for i in group]) for group in query.required])
    if not query.excluded:
        return required
    return wq.AndNot(required, wq.Or([_item(i) for i in query.excluded]))


def _item(item: Item) -> wq.Query:
    # In any field: the words' stems as written, or their blind terms.
    found = (item,) if isinstance(item, Word) else item.words
    forms = [[stem(w.text) for w in found], [w.blind for w in found]]
    alternatives: list[wq.Query] = []
    for field in FIELDS:
        for tokens in forms:
            if not all(tokens):
                continue
            if len(tokens) == 1:
                alternatives.append(wq.Term(field, tokens[0]))
            else:
                alternatives.append(wq.Phrase(field, tokens))
    return wq.Or(alternatives)


# -- documents ----------------------------------------------------------------------


def _fields(document: Document) -> dict[str, Any]:
    """What the outbox and the index store of a document: its fields as given (sealed
    ones already blind terms) and which fields are blind."""
    return {
        **{f: getattr(document, f) for f in FIELDS},
        "blind": sorted(document.blind),
    }


def _canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _tokens(fields: Mapping[str, Any], field: str) -> list[str]:
    """What the index holds for a field: blind terms as they are, clear words stemmed
    (as the query's words are)."""
    if field in fields["blind"]:
        return words(fields[field])
    return [stem(w) for w in words(fields[field])]


def _whoosh_fields(version_id: int, scope: Scope, fields: Mapping[str, Any]) -> dict[str, str]:
    return {
        "entry": _key(version_id, scope),
        "document": _canonical(fields),
        **{f: " ".join(_tokens(fields, f)) for f in FIELDS},
    }


def _key(version_id: int, scope: Scope) -> str:
    return f"{version_id}:{int(scope)}"


def _parse_key(entry: str) -> tuple[int, Scope]:
    version_id, scope = entry.split(":")
    return int(version_id), Scope(int(scope))


# -- the database side ----------------------------------------------------------------


def _waiting(bind) -> list[Any]:
    """The oldest outbox rows, read in a transaction of their own."""
    with Session(bind, join_transaction_mode="create_savepoint") as own:
        rows = own.execute(
            select(OUTBOX.c.id, OUTBOX.c.version_id, OUTBOX.c.scope, OUTBOX.c.document)
            .order_by(OUTBOX.c.id)
            .limit(BATCH)
        ).all()
        own.commit()
    return rows


def _as_rows(session: Session, name: str) -> FromClause:
    """Rows (version_id, scope, score) as a FROM the database expands from one JSON
    parameter, ``name``: no temporary table to create, fill and clean up per connection,
    one parameter whatever the number of hits, and each its own name, so several can sit
    in one statement (as "did you mean" puts them)."""
    payload = bindparam(name, type_=Text)
    if session.get_bind().dialect.name == "postgresql":
        return (
            func.jsonb_to_recordset(cast(payload, JSONB))
            .table_valued(
                column("version_id", Integer), column("scope", Integer), column("score", Float)
            )
            .render_derived(with_types=True)
        )
    each = func.json_each(payload).table_valued("value").alias()
    return select(
        cast(func.json_extract(each.c.value, "$.version_id"), Integer).label("version_id"),
        cast(func.json_extract(each.c.value, "$.scope"), Integer).label("scope"),
        cast(func.json_extract(each.c.value, "$.score"), Float).label("score"),
    ).subquery()


def _pending(session: Session) -> dict[int, WhooshIndex]:
    return session.info.setdefault(_PENDING, {})


def _drain_after_commit(session: Session) -> None:
    for index in session.info.pop(_PENDING, {}).values():
        try:
            index.drain(session, wait=False)
        # The commit has happened and must stand; its rows wait in the outbox for the next
        # drain (a write, a search, `registry search drain`).
        except Exception:
            log.warning("search: the Whoosh outbox was not drained after a commit", exc_info=True)


def _forget_pending(session: Session, transaction) -> None:
    # The outermost transaction has ended: committed (and drained above) or rolled back,
    # its rows with it. A savepoint's rollback keeps the mark: rows written before it stay.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# -- files ----------------------------------------------------------------------------


class _DrainLock:
    """An exclusive ``flock`` on a file in the index folder, across processes and
    threads (each holder opens the file itself), released if the holder dies."""

    def __init__(self, path: Path, timeout: float):
        self.path = path
        self.timeout = timeout
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # if it was removed
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(LOCK_POLL)
                continue
            self.fd = fd
            return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> _DrainLock:
        if not self.acquire():
            raise IndexBusyError()
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


def _purge_deletions(writer, segments):
    """A Whoosh merge policy: every segment holding deleted documents is rewritten
    without them, and the rest merge as usual (MERGE_SMALL)."""
    from whoosh.reading import SegmentReader

    kept = []
    for segment in segments:
        if segment.has_deletions():
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(segment)
    return MERGE_SMALL(writer, kept)


def _sync(folder: Path) -> None:
    # Whoosh writes its files without fsync; the outbox rows are deleted only once what
    # they became is on disk.
    for path in _files(folder):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _files(folder: Path) -> Iterator[Path]:
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            yield Path(entry.path)
