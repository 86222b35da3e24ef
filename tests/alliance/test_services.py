"""Provisioning the alliance: looking people up and loading the demo are idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry import demo
from registry.alliance import services
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

pytestmark = pytest.mark.usefixtures("app_context")


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Organisation, Group, Person, Membership, GroupMembership)
    }


def test_loading_the_demo_twice_changes_nothing():
    before = _counts()
    demo.load()
    assert _counts() == before
    assert before["organisations"] == len(demo.ORGANISATIONS)
    assert before["groups"] == 5


@pytest.mark.parametrize("email", ["pat@northside.example", "  PAT@Northside.Example "])
def test_people_are_found_by_email_whatever_its_case(email):
    person = services.person_by_email(email)
    assert person is not None
    assert person.email == "pat@northside.example"


def test_an_unknown_email_finds_nobody():
    assert services.person_by_email("nobody@example.org") is None


def test_provisioning_a_person_twice_gives_the_same_person():
    first = services.provision_person("New.Person@Example.org", "New Person")
    second = services.provision_person("new.person@example.org", "Another Name")
    assert first.id == second.id
    assert second.email == "new.person@example.org"
    assert second.display_name == "New Person"


def test_memberships_are_not_duplicated():
    person = services.person_by_email("quinn@riverside.example")
    riverside = services.ensure_organisation(
        OrganisationKind.PROVIDER, demo.RIVERSIDE, "ignored: it exists"
    )
    services.ensure_membership(person, riverside, Role.MEMBER)
    services.ensure_group_membership(person, services.group_by_slug("general-practice"))
    services.ensure_group_membership(person, services.group_by_slug("general-practice"))
    assert [(m.organisation.name, m.role) for m in person.memberships] == [
        (demo.RIVERSIDE, Role.MEMBER)
    ]
    assert [m.group.slug for m in person.group_memberships] == ["general-practice"]
    assert riverside.ods_code == "DEMO2"
