"""Recording and reading the access log.

Whoever reads content that only a grant or break-glass opens, and whoever is refused an
idea, is recorded, with no way to opt out; a break-glass read with the reason the
administrator stated. Entries form a hash chain serialised by one locked head row, as the
transparency log is (registry/evidence/log.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flask import g, has_request_context, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accesslog.models import (
    GENESIS,
    HEAD_ID,
    AccessField,
    AccessLogEntry,
    AccessLogHead,
    AccessOutcome,
)
from registry.alliance.models import Person
from registry.auth.principal import Principal
from registry.db import utcnow, writing
from registry.evidence.jcs import canonicalize
from registry.evidence.statements import rfc3339

CHAIN_BATCH = 5000  # entries per fetch when checking the chain


def canonical(entry: AccessLogEntry) -> bytes:
    """The JCS (RFC 8785) bytes of what an entry records, its position included."""
    recorded = {
        "position": entry.position,
        "idea": str(entry.idea_id),
        "version": entry.version,
        "person": str(entry.person_id) if entry.person_id else None,
        "organisations": list(entry.organisations),
        "fields": list(entry.fields),
        "at": rfc3339(entry.at),
        "endpoint": entry.endpoint,
        "request_id": entry.request_id,
        "outcome": AccessOutcome(entry.outcome).value,
    }
    # Only where there is one, so entries written before break-glass keep their hashes.
    if entry.reason is not None:
        recorded["reason"] = entry.reason
    return canonicalize(recorded)


def chained(previous: bytes, entry: AccessLogEntry) -> bytes:
    """``SHA-256(previous || canonical(entry))``: the entry's hash."""
    return hashlib.sha256(previous + canonical(entry)).digest()


def request_id() -> str:
    """The current request's id (registry.api gives every request one)."""
    if has_request_context() and "request_id" in g:
        return g.request_id
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ListedEntry:
    """An entry as the owner's side reads it: with the reader's name as it is now (the
    entry records their id; a person's name is not part of the evidence)."""

    entry: AccessLogEntry
    person_name: str | None

    def __getattr__(self, name: str):
        # Not for dunders or ``entry`` itself: copying calls this before ``entry`` is set.
        if name == "entry" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.entry, name)


@dataclass(frozen=True)
class AccessLogPage:
    items: list[ListedEntry]
    page: int
    per_page: int
    total: int


class AccessLog:
    """Appends to and reads the access log. Owns its transactions."""

    def __init__(self, session: Session):
        self.session = session

    def record(
        self,
        principal: Principal,
        idea_id: uuid.UUID,
        version: int | None,
        fields: Sequence[AccessField],
        outcome: AccessOutcome,
    ) -> AccessLogEntry:
        """Append one entry, in a transaction of its own, and commit it. An administrator
        breaking glass (``principal.break_glass``) has the reason they stated recorded.

        The caller's transaction is ended first (rolled back): it must have nothing
        pending, or ``RuntimeError`` is raised. A GET's transaction began as a reader
        (registry/db.py) and, on SQLite, could not become a writer once another
        connection has written; so the entry is written in a new transaction that takes
        the write lock as it begins and waits its turn like any writer. Database errors
        propagate: content is not served, nor a refusal answered, without its entry.
        """
        if self.session.new or self.session.dirty or self.session.deleted:
            raise RuntimeError("the access log writes in a transaction of its own")
        self.session.rollback()
        with writing():
            head = self._lock()
            entry = AccessLogEntry(
                position=head.size,
                idea_id=idea_id,
                version=version,
                person_id=principal.person_id,
                organisations=sorted({str(o) for o, _kind, _role in principal.memberships}),
                fields=[AccessField(f).value for f in fields],
                at=utcnow(),
                endpoint=(request.endpoint or "") if has_request_context() else "",
                request_id=request_id(),
                outcome=outcome,
                reason=principal.break_glass,
            )
            entry.hash = chained(head.hash, entry)
            self.session.add(entry)
            head.size, head.hash = head.size + 1, entry.hash
            self.session.commit()
        return entry

    def _lock(self) -> AccessLogHead:
        # On PostgreSQL FOR UPDATE waits for any append in flight; on SQLite the write
        # transaction (BEGIN IMMEDIATE) already holds the database's lock.
        head = self.session.scalar(
            select(AccessLogHead)
            .where(AccessLogHead.id == HEAD_ID)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if head is None:
            raise RuntimeError("the access log has no head row: run `registry init`")
        return head

    def page(self, idea_id: uuid.UUID, page: int, per_page: int) -> AccessLogPage:
        """An idea's entries, newest first, with each reader's name."""
        where = AccessLogEntry.idea_id == idea_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.execute(
            select(AccessLogEntry, Person.display_name)
            .outerjoin(Person, Person.id == AccessLogEntry.person_id)
            .where(where)
            .order_by(AccessLogEntry.position.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        return AccessLogPage([ListedEntry(e, name) for e, name in rows], page, per_page, total)


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks: the entry's position (or "head") and what is wrong."""

    row: str
    message: str


def check_chain(session: Session) -> tuple[int, list[ChainProblem]]:
    """Recompute every entry's hash in order and compare it with the stored one and the
    head. Returns the number of entries and what was found: an entry edited (its hash
    no longer matches), removed (a gap, or the head says more) or slipped in (it does
    not chain to its predecessor, or the head says fewer). Database errors propagate."""
    problems: list[ChainProblem] = []
    count, expected, previous = 0, 0, GENESIS
    result = session.execute(
        select(AccessLogEntry)
        .order_by(AccessLogEntry.position)
        .execution_options(yield_per=CHAIN_BATCH)
    )
    for entry in _entries(result):
        count += 1
        where = f"position {entry.position}"
        if entry.position != expected:
            problems.append(
                ChainProblem(where, f"expected position {expected}: entries are missing")
            )
        if chained(previous, entry) != entry.hash:
            problems.append(
                ChainProblem(
                    where,
                    "hash is not SHA-256 of the previous entry's hash and this entry: "
                    "the entry, or one before it, was edited, removed or inserted",
                )
            )
        # Go on from the stored hash, so one edit is reported once, not for every entry.
        previous, expected = entry.hash, entry.position + 1
    head = session.scalar(select(AccessLogHead).where(AccessLogHead.id == HEAD_ID))
    if head is None:
        problems.append(ChainProblem(f"id {HEAD_ID}", "the access log has no head row"))
    else:
        if head.size != expected or head.size != count:
            problems.append(
                ChainProblem(
                    f"id {HEAD_ID}",
                    f"size is {head.size}, but there are {count} entries up to position "
                    f"{expected - 1}",
                )
            )
        if head.hash != previous:
            problems.append(
                ChainProblem(f"id {HEAD_ID}", "hash is not the last entry's: the chain was cut")
            )
    return count, problems


def _entries(result) -> Iterator[AccessLogEntry]:
    for partition in result.scalars().partitions():
        yield from partition
