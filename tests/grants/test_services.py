"""Grants and revocations are signed, timestamped statements in the transparency log."""

from __future__ import annotations

import uuid

from registry.db import db
from registry.evidence import statements as st
from registry.evidence.jcs import canonicalize
from registry.evidence.models import Statement
from registry.grants.models import Grant
from tests.grants.conftest import PAT, QUINN


def test_grant_and_revocation_are_logged_statements_that_verify(
    app, make_idea, share, revoke, read, verified
):
    idea = make_idea(by=PAT)
    grant = share(idea["id"], person=QUINN)
    revoke(idea["id"], grant["id"])
    with app.app_context():
        row = db.session.get(Grant, uuid.UUID(grant["id"]))
        revocation = db.session.get(Statement, row.revocation_statement_id)
        evidence = app.extensions["registry.evidence"]
        receipt = evidence.receipt(db.session, revocation, None)
        log_index = revocation.log_index
    verified(receipt)

    statement = receipt["statement"]
    assert statement["type"] == st.IDEA_GRANT_REVOCATION
    assert statement["grant"] == grant["id"]
    assert statement["revoked_by"] == read("/me", by=PAT)["id"]
    granted = canonicalize(grant["receipt"]["statement"])
    assert statement["previous"] == st.statement_hash(granted).hex()
    logged = read("/log/entries", by=QUINN, start=log_index - 1, end=log_index + 1)["entries"]
    assert [e["statement"]["type"] for e in logged] == [st.IDEA_GRANT, st.IDEA_GRANT_REVOCATION]
