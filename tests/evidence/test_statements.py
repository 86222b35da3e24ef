"""The statements' recipes: which column of which row each field is read from.

The service records statements and `registry audit` rebuilds them with the same recipe,
so the audit cannot catch a recipe that reads the wrong column: these tests pin each
field to its column.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from registry.evidence import statements as st
from registry.ip.models import Origin, Sensitivity

REGISTRY = "registry.example/log"
PREVIOUS = "ab" * 32
AT = datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=UTC)
IDEA, OWNER, GROUP, PERSON, OTHER, GRANT = (uuid.UUID(int=n) for n in range(1, 7))


def _idea(**changes) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            "id": IDEA,
            "owner_id": OWNER,
            "origin": Origin.FORUM,
            "group_id": GROUP,
            "withdrawn_by_id": PERSON,
            "withdrawn_at": AT,
            "withdrawal_reason": "Superseded by the cluster's pathway.",
            **changes,
        }
    )


def _grant(**changes) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            "id": GRANT,
            "idea_id": IDEA,
            "organisation_id": None,
            "group_id": None,
            "person_id": OTHER,
            "granted_by_id": PERSON,
            "granted_at": AT,
            "expires_at": AT + timedelta(days=30),
            **changes,
        }
    )


def test_a_version_statement_reads_the_idea_and_the_version():
    version = SimpleNamespace(
        number=2, sensitivity=Sensitivity.COMMERCIAL, submitted_by_id=PERSON, submitted_at=AT
    )
    statement = st.idea_version_statement(
        REGISTRY,
        _idea(),
        version,
        previous=PREVIOUS,
        derived_from=["cd" * 32],
        committed={"title": "ef" * 32},
    )
    assert statement == {
        "type": "idea-version",
        "statement_version": 1,
        "registry": REGISTRY,
        "idea": str(IDEA),
        "version": 2,
        "previous": PREVIOUS,
        "owner": str(OWNER),
        "origin": "forum",
        "group": str(GROUP),
        "derived_from": ["cd" * 32],
        "sensitivity": "commercial",
        "submitter": str(PERSON),
        "submitted_at": "2026-11-23T09:30:00.123456Z",
        "commitments": {"title": "ef" * 32},
    }


def test_a_provider_ideas_version_statement_names_no_group():
    version = SimpleNamespace(
        number=1, sensitivity=Sensitivity.PUBLIC, submitted_by_id=PERSON, submitted_at=AT
    )
    idea = _idea(origin=Origin.PROVIDER, group_id=None)
    statement = st.idea_version_statement(
        REGISTRY, idea, version, previous=None, derived_from=[], committed={}
    )
    assert (statement["origin"], statement["group"], statement["previous"]) == (
        "provider",
        None,
        None,
    )


def test_a_withdrawal_statement_hashes_the_reason():
    statement = st.withdrawal_statement(REGISTRY, _idea(), PREVIOUS)
    assert statement == {
        "type": "idea-withdrawal",
        "statement_version": 1,
        "registry": REGISTRY,
        "idea": str(IDEA),
        "previous": PREVIOUS,
        "withdrawn_by": str(PERSON),
        "withdrawn_at": "2026-11-23T09:30:00.123456Z",
        "reason_sha256": hashlib.sha256(b"Superseded by the cluster's pathway.").hexdigest(),
    }
    no_reason = st.withdrawal_statement(REGISTRY, _idea(withdrawal_reason=None), PREVIOUS)
    assert no_reason["reason_sha256"] == hashlib.sha256(b"").hexdigest()


def test_a_shredding_statement_reads_the_shredding():
    shredding = SimpleNamespace(idea_id=IDEA, shredded_by_id=PERSON, shredded_at=AT)
    assert st.shredding_statement(REGISTRY, shredding, PREVIOUS) == {
        "type": "idea-shredding",
        "statement_version": 1,
        "registry": REGISTRY,
        "idea": str(IDEA),
        "previous": PREVIOUS,
        "shredded_by": str(PERSON),
        "shredded_at": "2026-11-23T09:30:00.123456Z",
    }


def test_a_grant_statement_reads_the_grant():
    assert st.grant_statement(REGISTRY, _grant(), PREVIOUS) == {
        "type": "idea-grant",
        "statement_version": 1,
        "registry": REGISTRY,
        "idea": str(IDEA),
        "previous": PREVIOUS,
        "grant": str(GRANT),
        "grantee_kind": "person",
        "grantee": str(OTHER),
        "granted_by": str(PERSON),
        "granted_at": "2026-11-23T09:30:00.123456Z",
        "expires_at": "2026-12-23T09:30:00.123456Z",
    }
    assert st.grant_statement(REGISTRY, _grant(expires_at=None), PREVIOUS)["expires_at"] is None


def test_a_revocation_statement_takes_who_revoked_and_when_apart_from_the_grant():
    # The service records it before the grant's row takes them.
    statement = st.grant_revocation_statement(
        REGISTRY, _grant(), PREVIOUS, revoked_by=OWNER, revoked_at=AT + timedelta(days=1)
    )
    assert statement == {
        "type": "idea-grant-revocation",
        "statement_version": 1,
        "registry": REGISTRY,
        "idea": str(IDEA),
        "previous": PREVIOUS,
        "grant": str(GRANT),
        "grantee_kind": "person",
        "grantee": str(OTHER),
        "revoked_by": str(OWNER),
        "revoked_at": "2026-11-24T09:30:00.123456Z",
    }


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ({"organisation_id": OWNER, "person_id": None}, ("organisation", str(OWNER))),
        ({"group_id": GROUP, "person_id": None}, ("group", str(GROUP))),
        ({}, ("person", str(OTHER))),
        # A row tampered with: never taken for one grantee.
        ({"person_id": None}, ("none", "")),
        ({"group_id": GROUP}, ("none", f"{GROUP},{OTHER}")),
    ],
)
def test_the_grantee_is_the_one_the_row_names(named, expected):
    assert st.grantee(_grant(**named)) == expected


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        st.shredding_statement(
            REGISTRY,
            SimpleNamespace(
                idea_id=IDEA, shredded_by_id=PERSON, shredded_at=AT.replace(tzinfo=None)
            ),
            PREVIOUS,
        )
