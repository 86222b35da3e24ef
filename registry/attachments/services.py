"""Attaching files to an idea's versions, and reading them under the access policy.

Attachments are read exactly where a version's body is (``Action.READ_BODY``, as of that
version's sensitivity) and attached only by the owner's side (``Action.ADD_VERSION``), to
any version of an active idea. Each is committed by a signed statement of its own,
recorded by the evidence layer in the same transaction as its row. A read that only a
grant opens goes in the idea's access log before it is served; a refusal is recorded by
registry/accesslog/views.py, as for every idea.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.access import require_on
from registry.access.policy import Action, actions, recorded
from registry.accesslog.models import AccessField, AccessOutcome
from registry.accesslog.services import AccessLog
from registry.attachments.models import Attachment
from registry.attachments.schemas import PER_VERSION_MAX, Upload
from registry.auth.principal import Principal
from registry.db import utcnow
from registry.errors import APIError, NotFound
from registry.evidence.service import Evidence
from registry.grants.models import shared_with
from registry.ip.models import IdeaState, IdeaVersion
from registry.ip.services import IdeaRegister
from registry.sealing.service import ShreddedError, is_sealed


@dataclass(frozen=True)
class AttachmentShown:
    """An attachment, its version, and its filename (None once shredded)."""

    attachment: Attachment
    version: IdeaVersion
    filename: str | None
    shredded: bool = False


@dataclass(frozen=True)
class Attached(AttachmentShown):
    """A new attachment and the receipt that proves it."""

    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class Download:
    """An attachment's bytes, as served."""

    attachment: Attachment
    filename: str
    content: bytes
    sealed: bool  # stored sealed: the response must not be cached anywhere


class AttachmentRegister:
    """Attaching, listing and reading a version's attachments. Owns its transactions."""

    def __init__(self, session: Session, evidence: Evidence, access_log: AccessLog | None = None):
        self.session = session
        self.evidence = evidence
        self.access_log = access_log or AccessLog(session)
        self.ideas = IdeaRegister(session, evidence, self.access_log)

    # -- writing ---------------------------------------------------------------

    def attach(
        self, principal: Principal, idea_id: uuid.UUID, number: int, upload: Upload
    ) -> Attached:
        """Attach a checked file to version ``number`` of an idea, as its owner's side.

        Raises 404/403 as the policy decides (recorded), 404 for an unknown version, 409
        if the idea is withdrawn or the version has its :data:`PER_VERSION_MAX`
        attachments already.
        """
        # Locked: the attachments of one idea are numbered one at a time.
        idea = self.ideas.require(principal, Action.ADD_VERSION, idea_id, lock=True)
        if idea.state is IdeaState.WITHDRAWN:
            raise APIError(409, "This idea is withdrawn; its versions take no attachments.")
        version = self.ideas.stored_version(idea_id, number)
        count = self.session.scalar(select(func.count()).where(Attachment.version_id == version.id))
        if count >= PER_VERSION_MAX:
            raise APIError(
                409, f"This version has {count} attachments, the most a version may have."
            )
        attachment = Attachment(
            id=uuid.uuid4(),
            version_id=version.id,
            position=count,
            media_type=upload.media_type.name,
            size=len(upload.content),
            created_at=utcnow(),
            created_by_id=principal.person_id,
        )
        try:  # the row is written (flushed) with its statement
            statement = self.evidence.record_attachment(
                self.session, attachment, version, upload.content, upload.filename
            )
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise APIError(
                409, "Another attachment of this version was stored at the same time; retry."
            ) from None
        if self.evidence.external_tsas:
            self.evidence.add_external_timestamps(self.session, statement)
            self.session.commit()
        receipt = self._receipt(principal, attachment, version, statement)
        return Attached(attachment, version, upload.filename, receipt=receipt)

    # -- reading ---------------------------------------------------------------

    def list(self, principal: Principal, idea_id: uuid.UUID, number: int) -> list[AttachmentShown]:
        """A version's attachments, in the order they were attached, for those who may
        read its body; their filenames are content, read on the record."""
        version, granted = self._readable(principal, idea_id, number, Action.READ_BODY)
        attachments = list(
            self.session.scalars(
                select(Attachment)
                .where(Attachment.version_id == version.id)
                .order_by(Attachment.position)
            )
        )
        filenames: dict[uuid.UUID, str] = {}
        shredded = False
        try:
            for attachment in attachments:
                opened = attachment.reveal(
                    self.session, self.evidence.sealing, version, ["filename"]
                )
                filenames[attachment.id] = opened["filename"].decode()
        except ShreddedError:
            shredded = True
        shown = [AttachmentShown(a, version, filenames.get(a.id), shredded) for a in attachments]
        self._record_read(principal, version, granted, Action.READ_BODY, AccessField.ATTACHMENT)
        return shown

    def download(
        self, principal: Principal, idea_id: uuid.UUID, number: int, attachment_id: uuid.UUID
    ) -> Download:
        """An attachment's bytes, for those who may read the version's body; 410 once
        the idea is shredded."""
        version, granted = self._readable(principal, idea_id, number, Action.READ_BODY)
        attachment = self._attachment(version, attachment_id)
        try:
            opened = attachment.reveal(
                self.session, self.evidence.sealing, version, ["content", "filename"]
            )
        except ShreddedError:
            raise APIError(
                410, "This attachment was shredded with its idea: it is gone for everyone."
            ) from None
        download = Download(
            attachment,
            opened["filename"].decode(),
            opened["content"],
            is_sealed(version.sensitivity),
        )
        self._record_read(principal, version, granted, Action.READ_BODY, AccessField.ATTACHMENT)
        return download

    def receipt(
        self, principal: Principal, idea_id: uuid.UUID, number: int, attachment_id: uuid.UUID
    ) -> dict[str, Any]:
        """The receipt for an attachment's statement, proved against the latest checkpoint;
        with the openings for the owner's side only."""
        version, granted = self._readable(principal, idea_id, number, Action.READ_RECEIPT)
        attachment = self._attachment(version, attachment_id)
        statement = self.evidence.statement(self.session, attachment.statement_id)
        if statement is None:
            raise NotFound("Statement")
        receipt = self._receipt(principal, attachment, version, statement, granted)
        if "openings" in receipt:
            self._record_read(principal, version, granted, Action.READ_OPENINGS)
        return receipt

    # -- helpers ---------------------------------------------------------------

    def _readable(
        self, principal: Principal, idea_id: uuid.UUID, number: int, action: Action
    ) -> tuple[IdeaVersion, frozenset[uuid.UUID]]:
        """The version, if the policy lets ``principal`` do ``action`` as of its own
        sensitivity, and the ideas shared with them; else 404/403, recorded."""
        version = self.ideas.stored_version(idea_id, number)
        granted = shared_with(self.session, principal, [version.idea_id])
        require_on(principal, action, version.idea, version.sensitivity, granted)
        return version, granted

    def _record_read(
        self,
        principal: Principal,
        version: IdeaVersion,
        granted: frozenset[uuid.UUID],
        action: Action,
        field: AccessField = AccessField.OPENINGS,
    ) -> None:
        # As IdeaRegister.version does: what only a recorded relation (a grant) opens is
        # logged before it is served.
        if recorded(principal, action, version.idea, version.sensitivity, granted):
            self.access_log.record(
                principal, version.idea_id, version.number, [field], AccessOutcome.READ
            )

    def _receipt(
        self,
        principal: Principal,
        attachment: Attachment,
        version: IdeaVersion,
        statement,
        granted: frozenset[uuid.UUID] = frozenset(),
    ) -> dict[str, Any]:
        # The openings let anyone holding the file prove it: they go to the owner's side.
        allowed = actions(principal, version.idea, version.sensitivity, granted)
        openings = None
        if Action.READ_OPENINGS in allowed:
            openings = self.evidence.attachment_openings(self.session, attachment, version)
        return self.evidence.receipt(self.session, statement, openings)

    def _attachment(self, version: IdeaVersion, attachment_id: uuid.UUID) -> Attachment:
        attachment = self.session.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.version_id == version.id
            )
        )
        if attachment is None:
            raise NotFound("Attachment")
        return attachment
