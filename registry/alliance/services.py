"""Organisations, groups and people. Callers own the transaction."""

from __future__ import annotations

from sqlalchemy import select

from registry.alliance.models import (
    Group,
    GroupMembership,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Role,
)
from registry.db import db


def list_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def list_groups() -> list[Group]:
    return list(db.session.scalars(select(Group).order_by(Group.kind, Group.name)))


def person_by_email(email: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.email == email.strip().lower()))


def ensure_organisation(kind: OrganisationKind, name: str, ods_code: str | None) -> Organisation:
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(kind=kind, name=name, ods_code=ods_code)
        db.session.add(organisation)
        db.session.flush()
    return organisation


def provision_person(email: str, display_name: str) -> Person:
    """The person with this email, created on first sight."""
    person = person_by_email(email)
    if person is None:
        person = Person(email=email.strip().lower(), display_name=display_name)
        db.session.add(person)
        db.session.flush()
    return person


def ensure_membership(person: Person, organisation: Organisation, role: Role) -> None:
    if not any(m.organisation_id == organisation.id and m.role == role for m in person.memberships):
        person.memberships.append(Membership(organisation=organisation, role=role))
        db.session.flush()


def ensure_group_membership(person: Person, group: Group) -> None:
    if not any(m.group_id == group.id for m in person.group_memberships):
        person.group_memberships.append(GroupMembership(group=group))
        db.session.flush()


def group_by_slug(slug: str) -> Group | None:
    return db.session.scalar(select(Group).where(Group.slug == slug))


def describe(principal) -> dict:
    """What the caller is, for ``GET /me``: from the principal, as the token made it."""
    organisations = {o.id: o for o in list_organisations()}
    groups = {g.id: g for g in list_groups()}
    return {
        "id": principal.person_id,
        "email": principal.email,
        "display_name": principal.display_name,
        "client_id": principal.client_id,
        "memberships": [
            {"organisation": org_id, "organisation_name": organisations[org_id].name, "role": role}
            for org_id, _kind, role in sorted(principal.memberships, key=str)
            if org_id in organisations
        ],
        "groups": [groups[g] for g in sorted(principal.group_ids, key=str) if g in groups],
    }
