"""The demo alliance loaded by `make run` and `registry demo`. Loading twice changes nothing."""

from __future__ import annotations

from registry.alliance.models import OrganisationKind, Role
from registry.alliance.services import (
    ensure_group_membership,
    ensure_membership,
    ensure_organisation,
    group_by_slug,
    provision_person,
)
from registry.db import db

CCG = "NHS Sunderland CCG (demo)"
NORTHSIDE = "Northside GP Federation"
RIVERSIDE = "Riverside Community Care"
HARBOUR = "Harbour Urgent Care"
WEARSIDE = "Wearside Mental Health Partnership"

ORGANISATIONS = [
    (OrganisationKind.CCG, CCG, "DEMO0"),
    (OrganisationKind.PROVIDER, NORTHSIDE, "DEMO1"),
    (OrganisationKind.PROVIDER, RIVERSIDE, "DEMO2"),
    (OrganisationKind.PROVIDER, HARBOUR, "DEMO3"),
    (OrganisationKind.PROVIDER, WEARSIDE, "DEMO4"),
]

# email, display name, [(organisation, role)], [group slugs]
PEOPLE = [
    ("carol@ccg.example", "Carol (CCG staff)", [(CCG, Role.CCG_STAFF)], []),
    ("pat@northside.example", "Pat (Northside)", [(NORTHSIDE, Role.MEMBER)], []),
    ("quinn@riverside.example", "Quinn (Riverside)", [(RIVERSIDE, Role.MEMBER)], []),
    (
        "fran@northside.example",
        "Fran (Northside, General Practice forum)",
        [(NORTHSIDE, Role.MEMBER)],
        ["general-practice"],
    ),
    ("audrey@audit.example", "Audrey (auditor)", [(CCG, Role.AUDITOR)], []),
    ("adam@ccg.example", "Adam (administrator)", [(CCG, Role.ADMIN)], []),
]


def load() -> None:
    organisations = {
        name: ensure_organisation(kind, name, ods) for kind, name, ods in ORGANISATIONS
    }
    for email, name, memberships, group_slugs in PEOPLE:
        person = provision_person(email, name)
        for organisation, role in memberships:
            ensure_membership(person, organisations[organisation], role)
        for slug in group_slugs:
            group = group_by_slug(slug)
            if group is None:  # the migrations seed the alliance's groups
                raise RuntimeError(f"group {slug} is missing: run `registry init`")
            ensure_group_membership(person, group)
    db.session.commit()
