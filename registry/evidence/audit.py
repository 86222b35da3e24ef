"""`registry audit`: rebuild every piece of evidence from the database and check it.

The evidence tables refuse changes by trigger, but whoever holds the database can
drop a trigger. So the audit trusts no stored conclusion. It rebuilds each statement
from the rows it speaks about (the idea, the version, its tags and derivations, the
openings, the statements before it in the log) exactly as the service built it, and
compares the canonical bytes; checks each statement's hash, its signature by a key
registered for the time it was made, and the registry's own time-stamp token;
recomputes the whole Merkle tree from the statements in log order and compares every
stored hash; and checks every checkpoint's signature, root and consistency with the
latest one. Finally every idea version must have exactly one statement, every
withdrawn idea one withdrawal, every grant its statement and every revoked grant its
revocation's, every attachment its statement; and the access log's hash chain is
recomputed entry by entry.

Rows are streamed in batches, so memory does not grow with the statements' size: what
is kept is the recomputed tree (two hashes per entry, about 150 MB at a million
entries) and the latest statement of each idea. An attachment's content is read one
attachment at a time.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Row, and_, exists, func, select, tuple_
from sqlalchemy.orm import Session

from registry.accesslog.services import check_chain
from registry.attachments.models import COLUMNS, Attachment
from registry.evidence import merkle, note
from registry.evidence import statements as st
from registry.evidence.errors import VerificationError
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import CHECKPOINT, STATEMENT
from registry.evidence.log import HEAD_ID
from registry.evidence.models import (
    Checkpoint,
    LogHash,
    LogHead,
    Opening,
    SigningKey,
    Statement,
    StatementTimestamp,
)
from registry.evidence.service import OWN_TSA, Evidence
from registry.evidence.tsa import verify_timestamp
from registry.grants.models import Grant
from registry.ip.models import Derivation, Idea, IdeaState, IdeaVersion, VersionTag
from registry.sealing.crypto import SealError
from registry.sealing.models import DataKey, Shredding
from registry.sealing.service import OPENING, ShreddedError, sealed_fields

__all__ = ["AuditReport", "Problem", "audit", "audit_command"]

BATCH = 1000  # statements per round of queries
HASH_BATCH = 20_000  # stored hashes or checkpoints per fetch
LISTED_PER_CHECK = 20  # problems listed for each check; the rest are counted

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Problem:
    """One thing the audit found wrong: in which table, which row, by which check."""

    table: str
    row: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} [{self.row}] {self.check}: {self.message}"


@dataclass(frozen=True)
class AuditReport:
    """What the audit checked and what it found.

    ``problems`` lists up to ``LISTED_PER_CHECK`` problems per check, in the order
    found; ``counts`` has how many each check found in all.
    """

    statements: int
    idea_versions: int
    withdrawals: int
    signatures: int
    timestamps: int
    external_timestamps: int
    log_hashes: int
    checkpoints: int
    tree_size: int
    root_hash: bytes
    problems: tuple[Problem, ...]
    counts: dict[str, int]
    grants: int = 0
    revocations: int = 0
    access_log_entries: int = 0
    # Versions whose sealed content was shredded: their statements are checked, their
    # commitments can no longer be (the content and openings are gone). Not a failure.
    shredded: int = 0
    shreddings: int = 0
    attachments: int = 0
    # Attachments of shredded versions: their commitments can no longer be checked.
    shredded_attachments: int = 0

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def problem_count(self) -> int:
        return sum(self.counts.values())

    @property
    def unlisted(self) -> int:
        return self.problem_count - len(self.problems)

    def summary(self) -> str:
        """One paragraph: what was checked, and the log's size and root."""
        others = ""
        if self.grants or self.revocations:
            others = f", {self.grants} grants, {self.revocations} revocations"
        if self.attachments:
            others += f", {self.attachments} attachments"
        shredded = []
        if self.shredded:
            shredded.append(f"{self.shredded} versions")
        if self.shredded_attachments:
            shredded.append(f"{self.shredded_attachments} attachments")
        return (
            f"{self.statements} statements ({self.idea_versions} idea versions, "
            f"{self.withdrawals} withdrawals{others}), {self.signatures} signatures and "
            f"{self.timestamps} registry time-stamp tokens verified "
            f"({self.external_timestamps} external tokens not checked here), "
            f"{self.log_hashes} stored hashes and {self.checkpoints} checkpoints compared "
            f"with the tree rebuilt from the statements; tree size {self.tree_size}, "
            f"root {base64.b64encode(self.root_hash).decode()}; {self.access_log_entries} "
            "access log entries rechained"
            + (f"; {' and '.join(shredded)} shredded" if shredded else "")
        )


def audit(session: Session, evidence: Evidence, progress: Progress | None = None) -> AuditReport:
    """Check every statement, stored hash and checkpoint in the database.

    ``progress`` is called with the number of statements checked after each batch.
    Every failed check is a :class:`Problem` in the report, never an exception: the
    audit goes on to find the rest. Database errors propagate. For a consistent view
    of a log that is being appended to, run it in one snapshot (a REPEATABLE READ
    transaction on PostgreSQL; any transaction on SQLite), as ``registry audit`` does.
    """
    findings = _Findings()
    keys = _signing_keys(session, findings)
    walk = _StatementWalk(session, evidence, keys, findings)
    result = session.execute(
        select(
            Statement.id,
            Statement.log_index,
            Statement.kind,
            Statement.idea_id,
            Statement.version_number,
            Statement.canonical,
            Statement.statement_hash,
            Statement.kid,
            Statement.signature,
            Statement.created_at,
        )
        .order_by(Statement.log_index, Statement.id)
        .execution_options(yield_per=BATCH)
    )
    for rows in result.partitions():
        walk.check(rows)
        if progress is not None:
            progress(len(rows))

    _check_coverage(session, findings)
    store = walk.store
    log_hashes = _check_log_hashes(session, store, findings)
    checkpoints = _check_checkpoints(session, evidence.origin, keys, store, findings)
    _check_head(session, store, findings)
    access_log_entries = _check_access_log(session, findings)
    return AuditReport(
        statements=store.size,
        idea_versions=walk.versions,
        withdrawals=walk.withdrawals,
        shredded=walk.shredded,
        shreddings=walk.shreddings,
        signatures=walk.signatures,
        timestamps=walk.timestamps,
        external_timestamps=walk.external_timestamps,
        log_hashes=log_hashes,
        checkpoints=checkpoints,
        tree_size=store.size,
        root_hash=merkle.tree_hash(store.size, store.read_hashes),
        problems=tuple(findings.listed),
        counts=dict(findings.counts),
        grants=walk.grants,
        revocations=walk.revocations,
        access_log_entries=access_log_entries,
        attachments=walk.attachments,
        shredded_attachments=walk.shredded_attachments,
    )


# --- Findings and keys ----------------------------------------------------------


class _Findings:
    def __init__(self) -> None:
        self.listed: list[Problem] = []
        self.counts: Counter[str] = Counter()

    def add(self, table: str, row: str, check: str, message: str) -> None:
        # A deleted row shifts everything after it; list the first few, count the rest.
        self.counts[check] += 1
        if self.counts[check] <= LISTED_PER_CHECK:
            self.listed.append(Problem(table, row, check, message))


@dataclass(frozen=True)
class _Key:
    kid: str
    purpose: str
    public: Ed25519PublicKey
    valid_from: datetime
    valid_until: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def window(self) -> str:
        until = st.rfc3339(self.valid_until) if self.valid_until else "now"
        return f"[{st.rfc3339(self.valid_from)}, {until})"


def _signing_keys(session: Session, findings: _Findings) -> dict[str, _Key]:
    keys = {}
    for row in session.execute(
        select(
            SigningKey.kid,
            SigningKey.purpose,
            SigningKey.public_key,
            SigningKey.valid_from,
            SigningKey.valid_until,
        )
    ):
        try:
            public = Ed25519PublicKey.from_public_bytes(row.public_key)
        except ValueError:
            findings.add(
                "signing_keys", f"kid {row.kid}", "key", "public_key is not an Ed25519 key"
            )
            continue
        keys[row.kid] = _Key(row.kid, row.purpose, public, row.valid_from, row.valid_until)
    return keys


# --- Statements -----------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """What one batch of statements speaks about, loaded in a handful of queries."""

    versions: dict[tuple[uuid.UUID, int], Row]
    ideas: dict[uuid.UUID, Row]
    tags: dict[int, list[str]]
    derivations: dict[int, list[uuid.UUID]]
    openings: dict[int, dict[str, bytes]]
    timestamps: dict[int, list[Row]]
    # The grant each grant or revocation statement records, by the statement's id.
    grants: dict[int, Row]
    # The attachment each attachment statement records (without its content), and the
    # version it is attached to, by the statement's id.
    attachments: dict[int, Row]
    # (idea, version number) -> (log index, statement hash) of the version's statement,
    # for the versions the batch's attachments are attached to.
    version_statements: dict[tuple[uuid.UUID, int], Row]

    @classmethod
    def load(cls, session: Session, statements: Sequence[Row]) -> _Rows:
        pairs = {
            (s.idea_id, s.version_number)
            for s in statements
            if s.kind == st.IDEA_VERSION and s.idea_id is not None and s.version_number is not None
        }
        versions = {}
        if pairs:
            for v in session.execute(
                select(
                    IdeaVersion.id,
                    IdeaVersion.idea_id,
                    IdeaVersion.number,
                    IdeaVersion.title,
                    IdeaVersion.summary,
                    IdeaVersion.body,
                    IdeaVersion.sensitivity,
                    IdeaVersion.submitted_by_id,
                    IdeaVersion.submitted_at,
                ).where(tuple_(IdeaVersion.idea_id, IdeaVersion.number).in_(list(pairs)))
            ):
                versions[(v.idea_id, v.number)] = v
        version_ids = [v.id for v in versions.values()]
        idea_ids = list({s.idea_id for s in statements if s.idea_id is not None})
        statement_ids = [s.id for s in statements]

        tags: dict[int, list[str]] = defaultdict(list)
        derivations: dict[int, list[uuid.UUID]] = defaultdict(list)
        openings: dict[int, dict[str, bytes]] = defaultdict(dict)
        timestamps: dict[int, list[Row]] = defaultdict(list)
        if version_ids:
            for version_id, tag in session.execute(
                select(VersionTag.version_id, VersionTag.tag)
                .where(VersionTag.version_id.in_(version_ids))
                .order_by(VersionTag.version_id, VersionTag.position)
            ):
                tags[version_id].append(tag)
            for version_id, source in session.execute(
                select(Derivation.version_id, Derivation.source_idea_id)
                .where(Derivation.version_id.in_(version_ids))
                .order_by(Derivation.version_id, Derivation.position)
            ):
                derivations[version_id].append(source)
            for version_id, field, salt in session.execute(
                select(Opening.version_id, Opening.field, Opening.salt).where(
                    Opening.version_id.in_(version_ids)
                )
            ):
                openings[version_id][field] = salt
        ideas = {}
        if idea_ids:
            ideas = {
                idea.id: idea
                for idea in session.execute(
                    select(
                        Idea.id,
                        Idea.origin,
                        Idea.owner_id,
                        Idea.group_id,
                        Idea.state,
                        Idea.withdrawn_at,
                        Idea.withdrawn_by_id,
                        Idea.withdrawal_reason,
                    ).where(Idea.id.in_(idea_ids))
                )
            }
        for t in session.execute(
            select(
                StatementTimestamp.id,
                StatementTimestamp.statement_id,
                StatementTimestamp.tsa,
                StatementTimestamp.token,
            )
            .where(StatementTimestamp.statement_id.in_(statement_ids))
            .order_by(StatementTimestamp.id)
        ):
            timestamps[t.statement_id].append(t)
        grants: dict[int, Row] = {}
        for grant in session.execute(
            select(
                Grant.id,
                Grant.idea_id,
                Grant.organisation_id,
                Grant.group_id,
                Grant.person_id,
                Grant.granted_by_id,
                Grant.granted_at,
                Grant.expires_at,
                Grant.statement_id,
                Grant.revoked_at,
                Grant.revoked_by_id,
                Grant.revocation_statement_id,
            ).where(
                Grant.statement_id.in_(statement_ids)
                | Grant.revocation_statement_id.in_(statement_ids)
            )
        ):
            for statement_id in (grant.statement_id, grant.revocation_statement_id):
                if statement_id is not None:
                    grants[statement_id] = grant
        attachments: dict[int, Row] = {}
        version_statements: dict[tuple[uuid.UUID, int], Row] = {}
        attachment_statements = [s.id for s in statements if s.kind == st.IDEA_ATTACHMENT]
        if attachment_statements:
            for row in session.execute(
                select(
                    Attachment.id,
                    Attachment.statement_id,
                    Attachment.media_type,
                    Attachment.size,
                    Attachment.created_at,
                    Attachment.created_by_id,
                    IdeaVersion.id.label("version_id"),
                    IdeaVersion.idea_id,
                    IdeaVersion.number,
                    IdeaVersion.sensitivity,
                )
                .join(IdeaVersion, IdeaVersion.id == Attachment.version_id)
                .where(Attachment.statement_id.in_(attachment_statements))
            ):
                attachments[row.statement_id] = row
        attached = {(a.idea_id, a.number) for a in attachments.values()}
        if attached:
            for v in session.execute(
                select(
                    Statement.idea_id,
                    Statement.version_number,
                    Statement.log_index,
                    Statement.statement_hash,
                ).where(
                    Statement.kind == st.IDEA_VERSION,
                    tuple_(Statement.idea_id, Statement.version_number).in_(list(attached)),
                )
            ):
                version_statements[(v.idea_id, v.version_number)] = v
        return cls(
            versions,
            ideas,
            tags,
            derivations,
            openings,
            timestamps,
            grants,
            attachments,
            version_statements,
        )


class _StatementWalk:
    """Checks statements in log order, remembering what later ones may name."""

    def __init__(
        self, session: Session, evidence: Evidence, keys: dict[str, _Key], findings: _Findings
    ):
        self.session = session
        self.evidence = evidence
        self.roots = [evidence.tsa.root_certificate]
        self.keys = keys
        self.findings = findings
        self.store = merkle.MemoryHashStore()
        # The hash (hex) of each idea's latest statement, and of its latest version's.
        self.latest: dict[uuid.UUID, str] = {}
        self.latest_version: dict[uuid.UUID, str] = {}
        self.next_index = 0
        self.last_index: int | None = None
        self.versions = self.withdrawals = self.signatures = 0
        self.grants = self.revocations = 0
        self.shredded = self.shreddings = 0
        self.attachments = self.shredded_attachments = 0
        self.timestamps = self.external_timestamps = 0

    def check(self, statements: Sequence[Row]) -> None:
        rows = _Rows.load(self.session, statements)
        for statement in statements:
            self._statement(statement, rows)

    def _add(self, statement: Row, check: str, message: str) -> None:
        self.findings.add("statements", _entry(statement), check, message)

    def _statement(self, s: Row, rows: _Rows) -> None:
        self._log_order(s)
        # The tree is rebuilt from the statements as they are now, in the order they
        # are now; the stored hashes are compared with it afterwards.
        self.store.append_record(s.canonical)
        digest = st.statement_hash(s.canonical)
        if digest != s.statement_hash:
            self._add(s, "statement hash", "statement_hash is not the SHA-256 of canonical")
        signed_at = self._timestamps(s, digest, rows)
        self._signature(s, signed_at)
        self._rebuild(s, rows)
        if s.idea_id is not None:
            # As the service names them: by the stored statement_hash.
            self.latest[s.idea_id] = s.statement_hash.hex()
            if s.kind == st.IDEA_VERSION:
                self.latest_version[s.idea_id] = s.statement_hash.hex()

    def _log_order(self, s: Row) -> None:
        index = s.log_index
        if index == self.last_index:
            self._add(s, "log order", f"log index {index} is used by more than one statement")
        elif index != self.next_index:
            if index > self.next_index:
                missing = _span(self.next_index, index - 1)
                self._add(s, "log order", f"no statement has log index {missing}")
            else:
                self._add(s, "log order", f"log index {index} is out of order")
        self.last_index = index
        self.next_index = max(self.next_index, index + 1)

    def _timestamps(self, s: Row, digest: bytes, rows: _Rows) -> tuple[datetime, str]:
        tokens = rows.timestamps.get(s.id, [])
        own = [t for t in tokens if t.tsa == OWN_TSA]
        # External authorities' roots are not configured here; their tokens are
        # counted, and checked by whoever trusts them (docs/receipts.md).
        self.external_timestamps += len(tokens) - len(own)
        if not own:
            self._add(s, "timestamp", "no time-stamp token from the registry's TSA")
        signed_at = None
        for token in own:
            try:
                result = verify_timestamp(token.token, digest, roots=self.roots)
            except VerificationError as exc:
                self.findings.add(
                    "statement_timestamps",
                    f"id {token.id}, statement at log index {s.log_index}",
                    "timestamp",
                    exc.message,
                )
                continue
            self.timestamps += 1
            signed_at = signed_at or result.time
        # The token dates the signature better than created_at, which is unsigned.
        if signed_at is not None:
            return signed_at, "its time-stamp token"
        return s.created_at, "created_at"

    def _signature(self, s: Row, signed_at: tuple[datetime, str]) -> None:
        key = self.keys.get(s.kid)
        if key is None:
            self._add(s, "signature", f"signed by key {s.kid}, which signing_keys does not hold")
            return
        if key.purpose != STATEMENT:
            self._add(s, "signature", f"signed by key {s.kid}, a {key.purpose} key")
            return
        try:
            key.public.verify(s.signature, s.canonical)
        except InvalidSignature:
            self._add(s, "signature", f"signature does not verify under key {s.kid}")
        else:
            self.signatures += 1
        moment, source = signed_at
        if not key.covers(moment):
            self._add(
                s,
                "key window",
                f"made at {st.rfc3339(moment)} (by {source}), outside key {s.kid}'s "
                f"window {key.window()}",
            )

    def _rebuild(self, s: Row, rows: _Rows) -> None:
        if s.kind == st.IDEA_VERSION:
            self.versions += 1
            rebuilt, sources = self._version(s, rows)
        elif s.kind == st.IDEA_WITHDRAWAL:
            self.withdrawals += 1
            rebuilt, sources = self._withdrawal(s, rows)
        elif s.kind == st.IDEA_SHREDDING:
            self.shreddings += 1
            rebuilt, sources = self._shredding(s)
        elif s.kind == st.IDEA_GRANT:
            self.grants += 1
            rebuilt, sources = self._grant(s, rows)
        elif s.kind == st.IDEA_GRANT_REVOCATION:
            self.revocations += 1
            rebuilt, sources = self._revocation(s, rows)
        elif s.kind == st.IDEA_ATTACHMENT:
            self.attachments += 1
            rebuilt, sources = self._attachment(s, rows)
        else:
            self._add(s, "rebuild", f"unknown kind {s.kind!r}")
            return
        if rebuilt is None:
            self._add(s, "rebuild", sources)
            return
        expected = canonicalize(rebuilt)
        if expected != s.canonical:
            self._add(
                s,
                "rebuild",
                f"canonical differs from the statement rebuilt from {sources}; "
                + _diff(s, rebuilt),
            )

    def _version(self, s: Row, rows: _Rows) -> tuple[dict[str, Any] | None, str]:
        version = rows.versions.get((s.idea_id, s.version_number))
        idea = rows.ideas.get(s.idea_id)
        if version is None or idea is None:
            return None, f"idea_versions has no version {s.version_number} of idea {s.idea_id}"
        openings = rows.openings.get(version.id, {})
        unknown = sorted(set(openings) - set(st.COMMITTED_FIELDS))
        if unknown:
            self.findings.add(
                "openings",
                f"version_id {version.id}",
                "rebuild",
                f"openings for fields no statement commits to: {', '.join(unknown)}",
            )
        content = {
            "title": version.title,
            "summary": version.summary,
            "body": version.body,
            "tags": rows.tags.get(version.id, []),
        }
        committed = None
        sealed = sealed_fields(version.sensitivity)
        if sealed:
            names = [*sealed, *(OPENING + f for f in st.COMMITTED_FIELDS)]
            try:
                opened = self.evidence.sealing.open(
                    self.session, version.id, version.idea_id, version.number, names
                )
            except ShreddedError:
                # Shredded: everything but the commitments is rebuilt; those are taken
                # as signed, since nothing is left to open them.
                self.shredded += 1
                committed = json.loads(s.canonical).get("commitments")
            except SealError as exc:
                return None, f"sealed content of version {version.id} does not open: {exc}"
            else:
                missing = sorted(set(names) - set(opened))
                if missing:
                    return None, f"sealed_fields lacks {', '.join(missing)} of {version.id}"
                # A sealed column holds "": anything else there is rebuilt as stored,
                # so the commitment it breaks is named.
                content.update({f: opened[f].decode() for f in sealed if not content[f]})
                openings = {f: opened[OPENING + f] for f in st.COMMITTED_FIELDS}
        derived_from = []
        for source in rows.derivations.get(version.id, []):
            source_hash = self.latest_version.get(source)
            if source_hash is None:
                return None, f"derives from idea {source}, which has no version statement before"
            derived_from.append(source_hash)
        statement = st.idea_version_statement(
            self.evidence.origin,
            idea,
            version,
            previous=self.latest.get(idea.id) if version.number > 1 else None,
            derived_from=derived_from,
            committed=committed
            if committed is not None
            else st.commitments(
                {f: salt for f, salt in openings.items() if f in st.COMMITTED_FIELDS}, content
            ),
        )
        return statement, (
            "the ideas, idea_versions, version_tags, derivations and openings rows "
            "and the statements before it"
        )

    def _withdrawal(self, s: Row, rows: _Rows) -> tuple[dict[str, Any] | None, str]:
        idea = rows.ideas.get(s.idea_id)
        if idea is None:
            return None, f"ideas has no idea {s.idea_id}"
        if idea.state is not IdeaState.WITHDRAWN or idea.withdrawn_at is None:
            return None, f"idea {s.idea_id} is not withdrawn"
        previous = self.latest.get(idea.id)
        if previous is None:
            return None, f"idea {s.idea_id} has no statement before its withdrawal"
        statement = st.withdrawal_statement(self.evidence.origin, idea, previous)
        return statement, "the ideas row and the statements before it"

    def _shredding(self, s: Row) -> tuple[dict[str, Any] | None, str]:
        shredding = self.session.get(Shredding, s.idea_id)
        if shredding is None:
            return None, f"shreddings has no row for idea {s.idea_id}"
        previous = self.latest.get(s.idea_id)
        if previous is None:
            return None, f"idea {s.idea_id} has no statement before its shredding"
        statement = st.shredding_statement(self.evidence.origin, shredding, previous)
        return statement, "the shreddings row and the statements before it"

    def _granted(self, s: Row, rows: _Rows, column: str) -> tuple[Row | None, str, str | None]:
        grant = rows.grants.get(s.id)
        if grant is None or getattr(grant, column) != s.id:
            return None, f"no grants row names this statement as its {column}", None
        if grant.idea_id != s.idea_id:
            return None, f"grant {grant.id} is of idea {grant.idea_id}, not {s.idea_id}", None
        previous = self.latest.get(s.idea_id)
        if previous is None:
            return None, f"idea {s.idea_id} has no statement before grant {grant.id}", None
        return grant, "", previous

    def _grant(self, s: Row, rows: _Rows) -> tuple[dict[str, Any] | None, str]:
        grant, why, previous = self._granted(s, rows, "statement_id")
        if grant is None:
            return None, why
        statement = st.grant_statement(self.evidence.origin, grant, previous)
        return statement, "the grants row and the statements before it"

    def _revocation(self, s: Row, rows: _Rows) -> tuple[dict[str, Any] | None, str]:
        grant, why, previous = self._granted(s, rows, "revocation_statement_id")
        if grant is None:
            return None, why
        if grant.revoked_at is None:
            return None, f"grant {grant.id} is not revoked"
        statement = st.grant_revocation_statement(
            self.evidence.origin,
            grant,
            previous,
            revoked_by=grant.revoked_by_id,
            revoked_at=grant.revoked_at,
        )
        return statement, "the grants row and the statements before it"

    def _attachment(self, s: Row, rows: _Rows) -> tuple[dict[str, Any] | None, str]:
        attachment = rows.attachments.get(s.id)
        if attachment is None:
            return None, "no attachments row names this statement as its statement_id"
        if (attachment.idea_id, attachment.number) != (s.idea_id, s.version_number):
            return None, (
                f"attachment {attachment.id} is of version {attachment.number} of idea "
                f"{attachment.idea_id}"
            )
        version_statement = rows.version_statements.get((s.idea_id, s.version_number))
        if version_statement is None or version_statement.log_index >= s.log_index:
            return None, f"version {s.version_number} has no statement before this attachment"
        previous = self.latest.get(s.idea_id)
        if previous is None:
            return None, f"idea {s.idea_id} has no statement before attachment {attachment.id}"
        committed, problem = self._attachment_commitments(attachment)
        if problem:
            return None, problem
        statement = st.attachment_statement(
            registry=self.evidence.origin,
            idea=str(attachment.idea_id),
            version=attachment.number,
            version_statement=version_statement.statement_hash.hex(),
            previous=previous,
            attachment=str(attachment.id),
            media_type=attachment.media_type,
            size=attachment.size,
            attached_by=str(attachment.created_by_id),
            attached_at=attachment.created_at,
            committed=committed
            if committed is not None
            else json.loads(s.canonical).get("commitments"),
        )
        return statement, "the attachments row, its version and the statements before it"

    def _attachment_commitments(self, attachment: Row) -> tuple[dict[str, str] | None, str]:
        """The commitments rebuilt from the stored content, filename and openings (None
        if shredded: taken as signed), or a problem that stops the rebuild."""
        # One attachment's content at a time: it may be megabytes.
        stored = self.session.execute(
            select(*(getattr(Attachment, column) for column in COLUMNS.values())).where(
                Attachment.id == attachment.id
            )
        ).one()
        # Detached copies, never added to the session: what opening them needs.
        row = Attachment(id=attachment.id, **dict(zip(COLUMNS.values(), stored, strict=True)))
        version = IdeaVersion(
            id=attachment.version_id,
            idea_id=attachment.idea_id,
            number=attachment.number,
            sensitivity=attachment.sensitivity,
        )
        try:
            opened = row.reveal(self.session, self.evidence.sealing, version, COLUMNS)
        except ShreddedError:
            self.shredded_attachments += 1
            return None, ""
        except SealError as exc:
            return None, f"sealed content of attachment {attachment.id} does not open: {exc}"
        if len(opened["content"]) != attachment.size:
            self.findings.add(
                "attachments",
                f"id {attachment.id}",
                "rebuild",
                f"size is {attachment.size}, but the content has {len(opened['content'])} bytes",
            )
        openings = {f: opened[OPENING + f] for f in st.ATTACHMENT_FIELDS}
        return st.attachment_commitments(openings, opened), ""


def _entry(s: Row) -> str:
    what = f"idea {s.idea_id}" if s.idea_id is not None else "no idea"
    if s.version_number is not None:
        what += f" version {s.version_number}"
    return f"log index {s.log_index}, id {s.id}, {s.kind} of {what}"


def _diff(s: Row, rebuilt: dict[str, Any]) -> str:
    try:
        stored = json.loads(s.canonical)
    except ValueError:
        return "canonical is not JSON"
    if not isinstance(stored, dict):
        return "canonical is not a JSON object"
    if stored == rebuilt:
        return "the same members, but not in canonical (RFC 8785) form"
    differ = []
    for name in sorted(stored.keys() | rebuilt.keys()):
        mine, theirs = stored.get(name), rebuilt.get(name)
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict):
            differ += [
                f"{name}.{k}"
                for k in sorted(mine.keys() | theirs.keys())
                if mine.get(k) != theirs.get(k)
            ]
        else:
            differ.append(name)
    return "members that differ: " + ", ".join(differ)


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first} to {last}"


def _check_coverage(session: Session, findings: _Findings) -> None:
    """Every version has exactly one statement; every withdrawn idea one withdrawal."""
    unrecorded = session.execute(
        select(IdeaVersion.id, IdeaVersion.idea_id, IdeaVersion.number)
        .outerjoin(
            Statement,
            and_(
                Statement.idea_id == IdeaVersion.idea_id,
                Statement.version_number == IdeaVersion.number,
                Statement.kind == st.IDEA_VERSION,
            ),
        )
        .where(Statement.id.is_(None))
        .order_by(IdeaVersion.id)
        .execution_options(yield_per=HASH_BATCH)
    )
    for version in unrecorded:
        findings.add(
            "idea_versions",
            f"id {version.id}, idea {version.idea_id} version {version.number}",
            "coverage",
            "no statement records this version",
        )
    for idea_id, number, count in session.execute(
        select(Statement.idea_id, Statement.version_number, func.count())
        .where(Statement.kind == st.IDEA_VERSION)
        .group_by(Statement.idea_id, Statement.version_number)
        .having(func.count() > 1)
    ):
        findings.add(
            "statements",
            f"idea {idea_id} version {number}",
            "coverage",
            f"{count} statements record this one version",
        )
    withdrawal = and_(Statement.idea_id == Idea.id, Statement.kind == st.IDEA_WITHDRAWAL)
    for (idea_id,) in session.execute(
        select(Idea.id).where(Idea.state == IdeaState.WITHDRAWN, ~exists().where(withdrawal))
    ):
        findings.add("ideas", f"id {idea_id}", "coverage", "withdrawn, but no statement records it")
    for idea_id, count in session.execute(
        select(Statement.idea_id, func.count())
        .where(Statement.kind == st.IDEA_WITHDRAWAL)
        .group_by(Statement.idea_id)
        .having(func.count() > 1)
    ):
        findings.add(
            "statements", f"idea {idea_id}", "coverage", f"{count} withdrawals of one idea"
        )
    _check_shredding_coverage(session, findings)
    _check_grant_coverage(session, findings)
    _check_attachment_coverage(session, findings)


def _check_shredding_coverage(session: Session, findings: _Findings) -> None:
    """Every shredding has one statement, and its idea's versions have no data key left."""
    recorded = and_(Statement.idea_id == Shredding.idea_id, Statement.kind == st.IDEA_SHREDDING)
    for (idea_id,) in session.execute(select(Shredding.idea_id).where(~exists().where(recorded))):
        findings.add("shreddings", f"idea {idea_id}", "coverage", "no statement records it")
    for idea_id, count in session.execute(
        select(Statement.idea_id, func.count())
        .where(Statement.kind == st.IDEA_SHREDDING)
        .group_by(Statement.idea_id)
        .having(func.count() > 1)
    ):
        findings.add("statements", f"idea {idea_id}", "coverage", f"{count} shreddings of one idea")
    for version_id, idea_id in session.execute(
        select(DataKey.version_id, IdeaVersion.idea_id)
        .join(IdeaVersion, IdeaVersion.id == DataKey.version_id)
        .join(Shredding, Shredding.idea_id == IdeaVersion.idea_id)
    ):
        findings.add(
            "data_keys",
            f"version_id {version_id}",
            "coverage",
            f"idea {idea_id} was shredded, but this data key was not deleted",
        )


def _check_grant_coverage(session: Session, findings: _Findings) -> None:
    """Every grant names its own grant statement; every revoked grant its revocation's.

    (A statement naming the wrong grant, or none, is found when it is rebuilt.)
    """
    for column, kind, what in (
        (Grant.statement_id, st.IDEA_GRANT, "grant"),
        (Grant.revocation_statement_id, st.IDEA_GRANT_REVOCATION, "revocation"),
    ):
        recorded = and_(
            Statement.id == column, Statement.kind == kind, Statement.idea_id == Grant.idea_id
        )
        condition = ~exists().where(recorded)
        if kind == st.IDEA_GRANT_REVOCATION:
            condition = and_(Grant.revoked_at.is_not(None), condition)
        for grant_id, idea_id in session.execute(
            select(Grant.id, Grant.idea_id).where(condition).order_by(Grant.id)
        ):
            findings.add(
                "grants",
                f"id {grant_id}, idea {idea_id}",
                "coverage",
                f"no {kind} statement of its idea records this {what}",
            )


def _check_attachment_coverage(session: Session, findings: _Findings) -> None:
    """Every attachment names an attachment statement of its idea as its own.

    (A statement naming the wrong attachment, or none, is found when it is rebuilt.)
    """
    recorded = and_(
        Statement.id == Attachment.statement_id,
        Statement.kind == st.IDEA_ATTACHMENT,
        Statement.idea_id == IdeaVersion.idea_id,
    )
    for attachment_id, idea_id in session.execute(
        select(Attachment.id, IdeaVersion.idea_id)
        .join(IdeaVersion, IdeaVersion.id == Attachment.version_id)
        .where(~exists().where(recorded))
        .order_by(Attachment.id)
    ):
        findings.add(
            "attachments",
            f"id {attachment_id}, idea {idea_id}",
            "coverage",
            "no attachment statement of its idea records this attachment",
        )


def _check_access_log(session: Session, findings: _Findings) -> int:
    """Recompute the access log's hash chain (registry.accesslog.services.check_chain)."""
    count, problems = check_chain(session)
    for problem in problems:
        table = "access_log_head" if problem.row.startswith("id ") else "access_log_entries"
        findings.add(table, problem.row, "access log", problem.message)
    return count


# --- The tree -------------------------------------------------------------------


def _hash_row(idx: int) -> str:
    if idx < 0:
        return f"idx {idx}"
    level, n = merkle.split_stored_hash_index(idx)
    if level == 0:
        return f"idx {idx}: leaf of log index {n}"
    return (
        f"idx {idx}: level {level} node over log indexes {n << level} to {((n + 1) << level) - 1}"
    )


def _check_log_hashes(session: Session, store: merkle.MemoryHashStore, findings: _Findings) -> int:
    """Compare every stored hash with the tree rebuilt from the statements."""
    expected = merkle.stored_hash_count(store.size)
    seen = next_idx = 0
    result = session.execute(
        select(LogHash.idx, LogHash.hash)
        .order_by(LogHash.idx)
        .execution_options(yield_per=HASH_BATCH)
    )
    for rows in result.partitions():
        in_tree = [idx for idx, _ in rows if 0 <= idx < expected]
        rebuilt = dict(zip(in_tree, store.read_hashes(in_tree), strict=True))
        for idx, stored in rows:
            seen += 1
            if idx > next_idx and next_idx < expected:
                missing = _span(next_idx, min(idx, expected) - 1)
                findings.add("log_hashes", f"idx {missing}", "merkle", "stored hashes are missing")
            if idx not in rebuilt:
                findings.add(
                    "log_hashes",
                    _hash_row(idx),
                    "merkle",
                    f"stored, but a tree of {store.size} statements has only {expected} hashes",
                )
            elif stored != rebuilt[idx]:
                findings.add(
                    "log_hashes",
                    _hash_row(idx),
                    "merkle",
                    "differs from the hash rebuilt from the statements in log order",
                )
            next_idx = max(next_idx, idx + 1)
    if next_idx < expected:
        findings.add(
            "log_hashes",
            f"idx {_span(next_idx, expected - 1)}",
            "merkle",
            "stored hashes are missing",
        )
    return seen


def _check_checkpoints(
    session: Session,
    origin: str,
    keys: dict[str, _Key],
    store: merkle.MemoryHashStore,
    findings: _Findings,
) -> int:
    """Each checkpoint: signed by a checkpoint key in its window, saying what its row
    says, with the root of the rebuilt tree at its size, consistent with the latest."""
    signers = {
        key.kid: (key, note.verifier_key(origin, key.public))
        for key in keys.values()
        if key.purpose == CHECKPOINT
    }
    latest = session.execute(
        select(Checkpoint.tree_size, Checkpoint.root_hash)
        .order_by(Checkpoint.tree_size.desc())
        .limit(1)
    ).first()
    # Earlier checkpoints are proved consistent with the latest one, if that one is the
    # rebuilt tree's root; if not, that is reported once, on its row, and each earlier
    # root is still compared with the rebuilt tree.
    anchor = None
    if (
        latest is not None
        and 1 <= latest.tree_size <= store.size
        and latest.root_hash == merkle.tree_hash(latest.tree_size, store.read_hashes)
    ):
        anchor = latest

    count, expected = 0, 1
    result = session.execute(
        select(Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note, Checkpoint.created_at)
        .order_by(Checkpoint.tree_size)
        .execution_options(yield_per=HASH_BATCH)
    )
    for checkpoint in result:
        count += 1
        size, where = checkpoint.tree_size, f"tree_size {checkpoint.tree_size}"
        if size > expected:
            findings.add(
                "log_checkpoints",
                f"tree_size {_span(expected, size - 1)}",
                "checkpoint",
                "no checkpoint for these sizes (one is signed at every append)",
            )
        expected = max(expected, size + 1)
        _check_checkpoint_note(checkpoint, origin, signers, findings)

        if not 1 <= size <= store.size:
            findings.add(
                "log_checkpoints", where, "checkpoint root", f"the log has {store.size} statements"
            )
            continue
        if checkpoint.root_hash != merkle.tree_hash(size, store.read_hashes):
            findings.add(
                "log_checkpoints",
                where,
                "checkpoint root",
                f"root_hash is not the root of the first {size} statements in log order",
            )
        if anchor is not None and size <= anchor.tree_size:
            try:
                merkle.verify_consistency(
                    merkle.consistency_proof(anchor.tree_size, size, store.read_hashes),
                    anchor.tree_size,
                    anchor.root_hash,
                    size,
                    checkpoint.root_hash,
                )
            except VerificationError as exc:
                findings.add(
                    "log_checkpoints",
                    where,
                    "consistency",
                    f"not consistent with the latest checkpoint (size {anchor.tree_size}): "
                    f"{exc.message}",
                )
    return count


def _check_checkpoint_note(
    checkpoint: Row, origin: str, signers: dict[str, tuple[_Key, str]], findings: _Findings
) -> None:
    where = f"tree_size {checkpoint.tree_size}"
    errors: list[VerificationError] = []
    for key, vkey in signers.values():
        try:
            text = note.verify_note(checkpoint.note, vkey)
        except VerificationError as exc:
            errors.append(exc)
            continue
        if not key.covers(checkpoint.created_at):
            findings.add(
                "log_checkpoints",
                where,
                "key window",
                f"created at {st.rfc3339(checkpoint.created_at)}, outside key {key.kid}'s "
                f"window {key.window()}",
            )
        break
    else:
        # Every key but the signer's skips the note; the signer's failure says more.
        telling = [e for e in errors if not e.message.startswith("no signature by")]
        message = (telling or errors)[0].message if errors else "no checkpoint key is registered"
        findings.add("log_checkpoints", where, "checkpoint signature", message)
        return
    try:
        body = note.Checkpoint.parse(text)
    except VerificationError as exc:
        findings.add("log_checkpoints", where, "checkpoint", exc.message)
        return
    said = []
    if body.origin != origin:
        said.append(f"origin {body.origin!r}, not {origin!r}")
    if body.size != checkpoint.tree_size:
        said.append(f"size {body.size}")
    if body.root_hash != checkpoint.root_hash:
        said.append("another root hash than root_hash")
    if said:
        findings.add(
            "log_checkpoints", where, "checkpoint", "the signed note says " + "; ".join(said)
        )


def _check_head(session: Session, store: merkle.MemoryHashStore, findings: _Findings) -> None:
    statements = store.size
    head = session.scalar(select(LogHead).where(LogHead.id == HEAD_ID))
    size = head.size if head else None
    if head is None:
        findings.add("log_head", f"id {HEAD_ID}", "log size", "the log has no head row")
    elif head.root_hash != merkle.tree_hash(statements, store.read_hashes):
        findings.add(
            "log_head", f"id {HEAD_ID}", "tree", "its root is not the root of the statements"
        )
    if head is not None and size != statements:
        findings.add(
            "log_head",
            f"id {HEAD_ID}",
            "log size",
            f"size is {size}, but there are {statements} statements",
        )
    latest = session.scalar(select(func.max(Checkpoint.tree_size)))
    if (latest or 0) != statements:
        findings.add(
            "log_checkpoints",
            f"tree_size {latest}" if latest else "none",
            "log size",
            f"the latest checkpoint is for {latest or 0} statements, but there are {statements}",
        )


# --- The command ----------------------------------------------------------------


@click.command("audit")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr (default: when stderr is a terminal).",
)
def audit_command(progress: bool | None) -> None:
    """Rebuild and check all evidence in the database; exit 1 if anything is wrong.

    Every statement is rebuilt from the rows it records and compared byte for byte;
    signatures, time-stamp tokens, the Merkle tree and every checkpoint are checked.
    """
    from registry.cli import _app
    from registry.db import db

    app = _app()
    evidence: Evidence = app.extensions["registry.evidence"]
    with app.app_context():
        session = db.session
        if db.engine.dialect.name == "postgresql":
            # One snapshot for the whole run: appends made meanwhile are not half seen.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        total = session.scalar(select(func.count()).select_from(Statement)) or 0
        show = sys.stderr.isatty() if progress is None else progress
        try:
            with click.progressbar(
                length=total, label="checking statements", file=sys.stderr, hidden=not show
            ) as bar:
                report = audit(session, evidence, progress=bar.update)
        finally:
            session.rollback()
    _print(report)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _print(report: AuditReport) -> None:
    for problem in report.problems:
        click.echo(f"PROBLEM {problem}")
    if report.ok:
        click.echo(f"audit passed: {report.summary()}")
        return
    if report.unlisted:
        click.echo(f"... and {report.unlisted} more problems of the same kinds, not listed")
    by_check = ", ".join(f"{check}: {n}" for check, n in sorted(report.counts.items()))
    click.echo(f"audit FAILED: {report.problem_count} problems ({by_check})")
    click.echo(f"checked: {report.summary()}")
