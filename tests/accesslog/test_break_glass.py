"""Break-glass entries in the access log: the reason is part of what the chain commits
to, and entries without one hash as before (the audit of a tampered reason is in
test_audit.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from registry.accesslog.models import GENESIS, AccessLogEntry, AccessOutcome
from registry.accesslog.services import canonical, chained, check_chain
from registry.db import db
from tests.grants.conftest import ADAM, PAT, QUINN

REASON = "Complaint 2291: the owner's practice manager asked for a review"
BREAK_GLASS = "Break-Glass-Reason"


def _entry(reason: str | None) -> AccessLogEntry:
    return AccessLogEntry(
        position=7,
        idea_id=uuid.UUID("0b9c1f52-64f4-4a57-8a57-3c1a4f1d2e90"),
        version=2,
        person_id=uuid.UUID("5d0e7a61-2b1c-4a8e-9f3d-6c7b8a9d0e1f"),
        organisations=["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
        fields=["body"],
        at=datetime(2026, 11, 22, 19, 20, 6, 965320, tzinfo=UTC),
        endpoint="ideas.get_idea",
        request_id="trace-42",
        outcome=AccessOutcome.READ,
        reason=reason,
    )


# An entry's canonical form as it was before break-glass existed, written out by hand
# (RFC 8785: keys sorted, no spaces): entries without a reason keep this form and hash.
WITHOUT_REASON = (
    b'{"at":"2026-11-22T19:20:06.965320Z","endpoint":"ideas.get_idea","fields":["body"],'
    b'"idea":"0b9c1f52-64f4-4a57-8a57-3c1a4f1d2e90","organisations":'
    b'["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],"outcome":"read",'
    b'"person":"5d0e7a61-2b1c-4a8e-9f3d-6c7b8a9d0e1f","position":7,'
    b'"request_id":"trace-42","version":2}'
)


def test_an_entry_without_a_reason_is_canonicalised_as_before():
    assert canonical(_entry(None)) == WITHOUT_REASON
    assert chained(GENESIS, _entry(None)) == hashlib.sha256(GENESIS + WITHOUT_REASON).digest()


def test_the_reason_is_part_of_what_an_entry_commits_to():
    with_reason = canonical(_entry("Zoë asked: “why?”"))
    assert with_reason == WITHOUT_REASON.replace(
        b',"request_id"', ',"reason":"Zoë asked: “why?”","request_id"'.encode()
    )
    assert chained(GENESIS, _entry("a reason, one")) != chained(GENESIS, _entry("a reason, two"))
    assert chained(GENESIS, _entry("")) != chained(GENESIS, _entry(None))


def test_break_glass_entries_chain_with_the_rest(app, client, auth, make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="confidential")
    share(idea["id"], person=QUINN)
    read(f"/ideas/{idea['id']}", by=QUINN)
    path = f"/api/v1/ideas/{idea['id']}"
    assert client.get(path, headers={**auth(ADAM), BREAK_GLASS: REASON}).status_code == 200
    read(f"/ideas/{idea['id']}", by=QUINN)

    items = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    assert [(e["person_name"], e["reason"]) for e in items] == [
        ("Quinn (Riverside)", None),
        ("Adam (administrator)", REASON),
        ("Quinn (Riverside)", None),
    ]
    with app.app_context():
        assert check_chain(db.session) == (3, [])


def test_a_refusal_without_a_token_has_no_name(client, make_idea, read):
    idea = make_idea(by=PAT, sensitivity="confidential")
    assert client.get(f"/api/v1/ideas/{idea['id']}").status_code == 404
    (entry,) = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    assert (entry["person"], entry["person_name"], entry["reason"]) == (None, None, None)
