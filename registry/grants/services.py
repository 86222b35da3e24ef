"""Sharing an idea: grants by the owner's side, their revocation, and who they reach.

A grant is recorded by the evidence layer in the same transaction as its row, so the
owner can prove later that, and when, they shared the idea; a revocation likewise.
Whether a grant opens an idea is read from the database at every request: a revoked
grant stops opening it at once, whatever tokens were issued before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access.policy import Action, Relation, relations
from registry.alliance.models import Group, Organisation, Person
from registry.auth.principal import Principal
from registry.db import utcnow
from registry.errors import APIError, Invalid, NotFound
from registry.evidence.service import Evidence
from registry.grants.models import Grant, GranteeKind, GrantStatus, active
from registry.ip.models import Idea, Origin
from registry.ip.services import IdeaRegister

OWNERS_SIDE = frozenset({Relation.OWNER, Relation.GROUP_MEMBER})


@dataclass(frozen=True)
class GrantShown:
    """A grant and its status at the time it was read."""

    grant: Grant
    status: GrantStatus


@dataclass(frozen=True)
class Shared(GrantShown):
    """A new grant and the receipt that proves it."""

    receipt: dict[str, Any]


class GrantRegister:
    """Granting, listing and revoking an idea's grants. Owns its transactions."""

    def __init__(self, session: Session, evidence: Evidence):
        self.session = session
        self.evidence = evidence
        self.ideas = IdeaRegister(session, evidence)

    def grant(self, principal: Principal, idea_id: uuid.UUID, request: dict[str, Any]) -> Shared:
        """Share an idea with one organisation, group or person, until ``expires_at``.

        Raises 404/403 unless the principal acts for the owner, 422 naming the field
        for an unknown grantee, the owner itself or a past expiry, and 409 if an
        active grant already names the grantee.
        """
        # Locked: two identical grants at once cannot both pass the duplicate check.
        idea = self.ideas.require(principal, Action.GRANT, idea_id, lock=True)
        now = utcnow()
        expires_at = request.get("expires_at")
        if expires_at is not None and expires_at <= now:
            raise Invalid("expires_at", "An expiry must be in the future.")
        kind, grantee = self._grantee(idea, request)
        grant = Grant(
            id=uuid.uuid4(),
            idea_id=idea.id,
            granted_by_id=principal.person_id,
            granted_at=now,
            expires_at=expires_at,
            **{f"{kind.value}_id": grantee},
        )
        same = getattr(Grant, f"{kind.value}_id") == grantee
        if self.session.scalar(
            select(Grant.id).where(Grant.idea_id == idea.id, same, active(now)).limit(1)
        ):
            raise APIError(409, f"An active grant already shares this idea with that {kind}.")
        statement = self.evidence.record_grant(self.session, grant)
        self.session.commit()
        receipt = self.evidence.receipt(self.session, statement, None)
        return Shared(grant, GrantStatus.ACTIVE, receipt)

    def list(self, principal: Principal, idea_id: uuid.UUID) -> list[GrantShown]:
        """Every grant of an idea, oldest first, for its owner's side."""
        idea = self.ideas.require(principal, Action.GRANT, idea_id)
        now = utcnow()
        grants = self.session.scalars(
            select(Grant).where(Grant.idea_id == idea.id).order_by(Grant.granted_at, Grant.id)
        )
        return [GrantShown(grant, grant.status(now)) for grant in grants]

    def revoke(self, principal: Principal, idea_id: uuid.UUID, grant_id: uuid.UUID) -> None:
        """Revoke a grant: from now it opens nothing. 409 if it is revoked already."""
        idea = self.ideas.require(principal, Action.GRANT, idea_id, lock=True)
        grant = self._grant(idea.id, grant_id)
        if grant.revoked_at is not None:
            raise APIError(409, "This grant is revoked already.")
        self.evidence.record_revocation(self.session, grant, principal.person_id, utcnow())
        self.session.commit()

    def receipt(
        self, principal: Principal, idea_id: uuid.UUID, grant_id: uuid.UUID
    ) -> dict[str, Any]:
        """The receipt for a grant's statement (no openings: it commits to no content)."""
        idea = self.ideas.require(principal, Action.GRANT, idea_id)
        grant = self._grant(idea.id, grant_id)
        statement = self.evidence.statement(self.session, grant.statement_id)
        if statement is None:
            raise NotFound("Statement")
        return self.evidence.receipt(self.session, statement, None)

    # -- helpers ---------------------------------------------------------------

    def _grant(self, idea_id: uuid.UUID, grant_id: uuid.UUID) -> Grant:
        grant = self.session.scalar(
            select(Grant).where(Grant.id == grant_id, Grant.idea_id == idea_id)
        )
        if grant is None:
            raise NotFound("Grant")
        return grant

    def _grantee(self, idea: Idea, request: dict[str, Any]) -> tuple[GranteeKind, uuid.UUID]:
        if request.get("organisation") is not None:
            organisation = self.session.get(Organisation, request["organisation"])
            if organisation is None:
                raise Invalid("organisation", "No such organisation.")
            if organisation.id == idea.owner_id:
                raise Invalid("organisation", "The idea's owner needs no grant to it.")
            return GranteeKind.ORGANISATION, organisation.id
        if request.get("group") is not None:
            group = self.session.get(Group, request["group"])
            if group is None:
                raise Invalid("group", "No such group.")
            if idea.origin is Origin.FORUM and group.id == idea.group_id:
                raise Invalid("group", "The idea evolved in this group: it acts as the owner.")
            return GranteeKind.GROUP, group.id
        person = self._person(request["person"])
        if relations(Principal.of(person), idea) & OWNERS_SIDE:
            raise Invalid("person", "This person acts for the idea's owner and needs no grant.")
        return GranteeKind.PERSON, person.id

    def _person(self, named: uuid.UUID | str) -> Person:
        if isinstance(named, uuid.UUID):
            person = self.session.get(Person, named)
        else:
            person = self.session.scalar(
                select(Person).where(Person.email == named.strip().lower())
            )
        if person is None:
            raise Invalid("person", "No such person.")
        return person
