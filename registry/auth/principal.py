"""Who is acting: a person (or a service client's person) and where they belong."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import joinedload

from registry.alliance.models import OrganisationKind, Person, Role

# How a person is loaded to act: with their memberships (and organisations) and groups,
# in one statement, not three: every authenticated request loads one.
AS_PRINCIPAL = (joinedload(Person.memberships), joinedload(Person.group_memberships))


@dataclass(frozen=True)
class Principal:
    person_id: uuid.UUID | None  # None: anonymous
    display_name: str
    email: str | None
    # (organisation id, organisation kind, role) for each membership.
    memberships: frozenset[tuple[uuid.UUID, OrganisationKind, Role]]
    group_ids: frozenset[uuid.UUID]
    client_id: str | None = None
    # The reason an administrator stated to break glass on this request (the
    # Break-Glass-Reason header, checked by registry.access); None on every other request.
    break_glass: str | None = None

    @classmethod
    def of(cls, person: Person, client_id: str | None = None) -> Principal:
        return cls(
            person_id=person.id,
            display_name=person.display_name,
            email=person.email,
            memberships=frozenset(
                (m.organisation_id, m.organisation.kind, m.role) for m in person.memberships
            ),
            group_ids=frozenset(g.group_id for g in person.group_memberships),
            client_id=client_id,
        )

    @classmethod
    def anonymous(cls) -> Principal:
        """Someone without a token: reads what is published, nothing else."""
        return cls(None, "anonymous", None, frozenset(), frozenset())

    @property
    def is_anonymous(self) -> bool:
        return self.person_id is None

    @property
    def is_alliance_member(self) -> bool:
        """Takes part in the alliance: a member or CCG staff somewhere (auditors and
        administrators alone do not, so they never read content as members)."""
        return any(r in {Role.MEMBER, Role.CCG_STAFF} for _, _, r in self.memberships)

    @property
    def is_auditor(self) -> bool:
        return self.has_role(Role.AUDITOR)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def has_role(self, role: Role) -> bool:
        return any(r == role for _, _, r in self.memberships)

    @property
    def is_ccg_staff(self) -> bool:
        """CCG staff *of the CCG*: the role held at a provider grants nothing."""
        return any(
            kind == OrganisationKind.CCG and r == Role.CCG_STAFF for _, kind, r in self.memberships
        )

    def member_of(self, organisation_id: uuid.UUID) -> bool:
        return any(o == organisation_id and r == Role.MEMBER for o, _, r in self.memberships)

    def in_group(self, group_id: uuid.UUID | None) -> bool:
        return group_id is not None and group_id in self.group_ids

    @property
    def provider_organisation_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(
            o
            for o, kind, r in self.memberships
            if kind == OrganisationKind.PROVIDER and r == Role.MEMBER
        )
