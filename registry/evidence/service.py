"""Recording evidence: each event becomes a signed, timestamped, logged statement."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.attachments.models import Attachment
from registry.evidence import statements as st
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import CHECKPOINT, STATEMENT, KeyRing
from registry.evidence.log import TransparencyLog
from registry.evidence.models import Opening, Statement, StatementTimestamp
from registry.evidence.tsa import TimeStampAuthority, TSAError, load_authority, request_timestamp
from registry.grants.models import Grant
from registry.ip.models import Idea, IdeaVersion
from registry.sealing.keys import KeyEncryptionKeys
from registry.sealing.service import OPENING, Sealing, ShreddedError, is_sealed, sealed_fields

log = logging.getLogger(__name__)
OWN_TSA = "registry"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Evidence:
    """What the evidence layer needs from the instance: names, keys, the TSA."""

    origin: str
    keys: KeyRing
    tsa: TimeStampAuthority
    external_tsas: tuple[str, ...] = ()
    # The KEKs that seal commercial and confidential content (registry/sealing).
    keks: KeyEncryptionKeys | None = None

    @classmethod
    def load(cls, instance: Path, origin: str, external_tsas=()) -> Evidence:
        return cls(
            origin,
            KeyRing.load(instance),
            load_authority(instance),
            tuple(external_tsas),
            KeyEncryptionKeys.load(instance),
        )

    @property
    def sealing(self) -> Sealing:
        if self.keks is None:
            raise RuntimeError("this Evidence was built without key-encryption keys")
        return Sealing(self.keks)

    # -- recording ---------------------------------------------------------------

    def record_version(
        self, session: Session, version: IdeaVersion, content: dict[str, Any] | None = None
    ) -> Statement:
        """Commit to a new version's content and record its statement.

        ``content`` (title, summary, body) is the plaintext, needed for a version whose
        fields are sealed (the columns do not hold them); the fields its sensitivity
        seals, and all its openings, are stored sealed. Runs in the caller's
        transaction: the version and its evidence are stored together or not at all.
        """
        # Locked first, so that the statements this one names (previous, derived_from)
        # are the latest before it in log order, as `registry audit` rebuilds them.
        TransparencyLog(session, self.origin).lock()
        idea = version.idea
        openings = st.new_openings()
        content = {
            "title": version.title,
            "summary": version.summary,
            "body": version.body,
            **(content or {}),
            "tags": version.tags,
        }
        if is_sealed(version.sensitivity):
            values = {f: content[f].encode() for f in sealed_fields(version.sensitivity)}
            values.update({OPENING + f: s for f, s in openings.items()})
            self.sealing.seal(session, version, values)
        else:
            session.add_all(
                Opening(version_id=version.id, field=f, salt=s) for f, s in openings.items()
            )
        previous = self.latest_statement(session, idea.id) if version.number > 1 else None
        statement = st.idea_version_statement(
            self.origin,
            idea,
            version,
            previous=previous.statement_hash.hex() if previous else None,
            derived_from=[self._source_hash(session, s) for s in version.derived_from],
            committed=st.commitments(openings, content),
        )
        return self._record(session, statement, st.IDEA_VERSION, idea.id, version.number)

    def record_withdrawal(self, session: Session, idea: Idea) -> Statement:
        statement = st.withdrawal_statement(self.origin, idea, self._follow_on(session, idea.id))
        return self._record(session, statement, st.IDEA_WITHDRAWAL, idea.id, None)

    def record_shredding(self, session: Session, shredding) -> Statement:
        """Record that an idea's sealed content was shredded (a ``Shredding`` row)."""
        statement = st.shredding_statement(
            self.origin, shredding, self._follow_on(session, shredding.idea_id)
        )
        return self._record(session, statement, st.IDEA_SHREDDING, shredding.idea_id, None)

    def record_grant(self, session: Session, grant: Grant) -> Statement:
        """Record a new grant's statement, then add the grant, naming it, to the session.

        ``grant`` must not be in the session yet: its row is written once, with its
        statement, in the caller's transaction (the grant is never without evidence).
        """
        statement = st.grant_statement(self.origin, grant, self._follow_on(session, grant.idea_id))
        row = self._record(session, statement, st.IDEA_GRANT, grant.idea_id, None)
        grant.statement_id = row.id
        session.add(grant)
        session.flush()
        return row

    def record_revocation(self, session: Session, grant: Grant, by, at) -> Statement:
        """Record that ``by`` (a person id) revoked ``grant`` at ``at``, and mark it so.

        The grant's row is updated once, after its statement exists, with the three
        revocation columns together: the only change the database lets a grant take.
        """
        statement = st.grant_revocation_statement(
            self.origin,
            grant,
            self._follow_on(session, grant.idea_id),
            revoked_by=by,
            revoked_at=at,
        )
        row = self._record(session, statement, st.IDEA_GRANT_REVOCATION, grant.idea_id, None)
        grant.revoked_at, grant.revoked_by_id, grant.revocation_statement_id = at, by, row.id
        session.flush()
        return row

    def record_attachment(
        self,
        session: Session,
        attachment: Attachment,
        version: IdeaVersion,
        content: bytes,
        filename: str,
    ) -> Statement:
        """Commit to a new attachment's content and filename, record its statement, then
        add the attachment, naming it, to the session.

        ``attachment`` (its metadata set, not in the session yet) is written once, with
        its statement, in the caller's transaction. Its content, filename and openings
        are sealed under the version's data key where the version's sensitivity seals
        content, else stored in clear. Raises ``RuntimeError`` if the version has no
        statement, and ``SealError`` if its content cannot be sealed.
        """
        version_statement = self.version_statement(session, version.idea_id, version.number)
        if version_statement is None:
            raise RuntimeError(
                f"version {version.number} of idea {version.idea_id} has no statement: "
                "run `registry audit`"
            )
        openings = st.new_openings(st.ATTACHMENT_FIELDS)
        values = {"content": content, "filename": filename.encode()}
        statement = st.attachment_statement(
            registry=self.origin,
            idea=str(version.idea_id),
            version=version.number,
            version_statement=version_statement.statement_hash.hex(),
            previous=self._follow_on(session, version.idea_id),
            attachment=str(attachment.id),
            media_type=attachment.media_type,
            size=attachment.size,
            attached_by=str(attachment.created_by_id),
            attached_at=attachment.created_at,
            committed=st.attachment_commitments(openings, values),
        )
        row = self._record(session, statement, st.IDEA_ATTACHMENT, version.idea_id, version.number)
        attachment.statement_id = row.id
        attachment.keep(
            session,
            self.sealing,
            version,
            {**values, **{OPENING + f: salt for f, salt in openings.items()}},
        )
        session.add(attachment)
        session.flush()
        return row

    def _follow_on(self, session: Session, idea_id) -> str:
        """Lock the log, then return the hash of the idea's latest statement, which the
        next statement names as ``previous``. Locking first keeps statements in log order
        under concurrency, as ``registry audit`` rebuilds them. Raises ``RuntimeError``
        for an idea with no statement (its evidence is missing: run ``registry audit``)."""
        TransparencyLog(session, self.origin).lock()
        previous = self.latest_statement(session, idea_id)
        if previous is None:
            raise RuntimeError(f"idea {idea_id} has no statement: run `registry audit`")
        return previous.statement_hash.hex()

    def _record(self, session, statement: dict, kind: str, idea_id, number) -> Statement:
        canonical = canonicalize(statement)
        digest = st.statement_hash(canonical)
        keys = self.keys.signing(session, STATEMENT, CHECKPOINT)
        kid, signing_key = keys[STATEMENT]
        _, log_key = keys[CHECKPOINT]
        index, _ = TransparencyLog(session, self.origin).append(canonical, log_key)
        row = Statement(
            log_index=index,
            kind=kind,
            idea_id=idea_id,
            version_number=number,
            canonical=canonical,
            statement_hash=digest,
            kid=kid,
            signature=signing_key.sign(canonical),
            timestamps=[StatementTimestamp(tsa=OWN_TSA, token=self.tsa.timestamp(digest))],
        )
        session.add(row)
        session.flush()
        return row

    def add_external_timestamps(self, session: Session, statement: Statement) -> None:
        """Ask each configured external TSA for a token; a failure is logged, not fatal,
        since our own token already dates the statement."""
        for url in self.external_tsas:
            try:
                token = request_timestamp(url, statement.statement_hash)
            except (TSAError, OSError, ValueError) as exc:
                log.warning("external TSA %s gave no token: %s", url, exc)
                continue
            statement.timestamps.append(StatementTimestamp(tsa=url, token=token))

    # -- reading -----------------------------------------------------------------

    @staticmethod
    def latest_statement(session: Session, idea_id) -> Statement | None:
        return session.scalar(
            select(Statement)
            .where(Statement.idea_id == idea_id)
            .order_by(Statement.log_index.desc())
            .limit(1)
        )

    def _source_hash(self, session: Session, idea_id) -> str:
        source = session.scalar(
            select(Statement)
            .where(Statement.idea_id == idea_id, Statement.kind == st.IDEA_VERSION)
            .order_by(Statement.log_index.desc())
            .limit(1)
        )
        if source is None:
            raise RuntimeError(f"idea {idea_id} has no statement: run `registry audit`")
        return source.statement_hash.hex()

    @staticmethod
    def statement(session: Session, statement_id: int) -> Statement | None:
        return session.get(Statement, statement_id)

    def version_statement(self, session: Session, idea_id, number: int) -> Statement | None:
        return session.scalar(
            select(Statement).where(
                Statement.idea_id == idea_id,
                Statement.kind == st.IDEA_VERSION,
                Statement.version_number == number,
            )
        )

    def receipt(
        self, session: Session, statement: Statement, openings: dict[str, bytes] | None
    ) -> dict[str, Any]:
        """The receipt for a statement, proved against the latest checkpoint.

        ``openings`` (field -> salt) are included only when given: the caller
        decides, by the access policy, whether the reader may have them.
        """
        log_ = TransparencyLog(session, self.origin)
        checkpoint = log_.checkpoint()
        receipt: dict[str, Any] = {
            "statement": json.loads(statement.canonical),
            "signature": {"alg": "Ed25519", "kid": statement.kid, "sig": b64(statement.signature)},
            "timestamps": [{"tsa": t.tsa, "token": b64(t.token)} for t in statement.timestamps],
            "log": {
                "index": statement.log_index,
                "tree_size": checkpoint.tree_size,
                "inclusion": [
                    b64(h) for h in log_.inclusion(statement.log_index, checkpoint.tree_size)
                ],
                "checkpoint": checkpoint.note,
            },
        }
        if openings is not None:
            receipt["openings"] = {field: b64(salt) for field, salt in sorted(openings.items())}
        return receipt

    def attachment_openings(
        self, session: Session, attachment: Attachment, version: IdeaVersion
    ) -> dict[str, bytes] | None:
        """The attachment's openings (content, filename -> salt); None if shredded."""
        names = [OPENING + f for f in st.ATTACHMENT_FIELDS]
        try:
            opened = attachment.reveal(session, self.sealing, version, names)
        except ShreddedError:
            return None
        return {name.removeprefix(OPENING): salt for name, salt in opened.items()}

    def openings(self, session: Session, version: IdeaVersion) -> dict[str, bytes] | None:
        """The version's openings (field -> salt); None if they were shredded."""
        if is_sealed(version.sensitivity):
            names = [OPENING + f for f in st.COMMITTED_FIELDS]
            try:
                sealed = self.sealing.open(
                    session, version.id, version.idea_id, version.number, names
                )
            except ShreddedError:
                return None
            return {f.removeprefix(OPENING): salt for f, salt in sealed.items()}
        return dict(
            session.execute(
                select(Opening.field, Opening.salt).where(Opening.version_id == version.id)
            ).all()
        )
