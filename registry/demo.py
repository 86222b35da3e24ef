"""The demo alliance loaded by `make run` and `registry demo`. Loading twice changes nothing."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import exists, select

from registry.alliance.models import OrganisationKind, Role
from registry.alliance.services import (
    ensure_group_membership,
    ensure_membership,
    ensure_organisation,
    group_by_slug,
    provision_person,
)
from registry.auth.principal import Principal
from registry.db import db
from registry.ip.models import IdeaVersion, Origin, Sensitivity
from registry.ip.services import IdeaRegister

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


# submitter, origin, group slug, sensitivity, title, summary, body, tags
IDEAS = [
    (
        "quinn@riverside.example",
        Origin.PROVIDER,
        None,
        Sensitivity.COMMERCIAL,
        "Virtual ward step-down for COPD",
        "Community nurses monitor patients at home after discharge.",
        "Riverside's model pairs pulse oximetry with daily nurse calls for fourteen days.",
        ["copd", "virtual ward"],
    ),
    (
        "pat@northside.example",
        Origin.PROVIDER,
        None,
        Sensitivity.ALLIANCE,
        "Shared care plans for frailty",
        "One care plan, visible to every practice in the federation.",
        "Northside keeps a single frailty care plan per patient, reviewed at each contact.",
        ["frailty"],
    ),
    (
        "fran@northside.example",
        Origin.FORUM,
        "general-practice",
        Sensitivity.PUBLIC,
        "Same-day access hub for the alliance",
        "Practices pool same-day appointments in one hub per cluster.",
        "The General Practice forum agreed a hub model for same-day demand.",
        ["access", "same-day"],
    ),
]


def load() -> None:
    load_alliance()
    load_ideas()


def load_alliance() -> None:
    """The CCG, providers, people and their memberships."""
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


def load_ideas() -> None:
    """A few ideas, submitted through the register by their demo authors."""
    register = IdeaRegister(db.session, current_app.extensions["registry.evidence"])
    for email, origin, slug, sensitivity, title, summary, body, tags in IDEAS:
        if db.session.scalar(select(exists().where(IdeaVersion.title == title))):
            continue
        group = group_by_slug(slug) if slug else None
        register.submit(
            Principal.of(provision_person(email, email)),
            {
                "origin": origin,
                "owner": None,
                "group": group.id if group else None,
                "sensitivity": sensitivity,
                "title": title,
                "summary": summary,
                "body": body,
                "tags": tags,
                "derived_from": [],
            },
        )
