"""Leaks: what a persona may not read never reaches them, by any path.

Every idea here carries unique marker words in its title, summary, body and tag, and in
the name and bytes of a file attached to it. Each persona's responses from every endpoint
of the access matrix (tests/access/test_matrix.py), from the search, and from every error
that can be provoked, are searched for the markers of what the golden table says that
persona may not read; error responses must carry no marker at all; list and search counts
and pages must not move when ideas a persona may not know are added; no response carries
an ETag; the transparency log's exports carry neither markers nor unsalted hashes of
content; and server logs at DEBUG carry neither content nor tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry.alliance.models import Organisation, Person, Role
from registry.alliance.services import ensure_membership
from registry.auth.models import ServiceClient, hash_secret
from registry.db import db
from tests.access.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    CCG,
    FRAN,
    GENERAL_PRACTICE,
    HARBOUR,
    NORTHSIDE,
    PAT,
    QUINN,
    RIVERSIDE,
    Alliance,
)
from tests.access.test_matrix import (
    BREAK_GLASS,
    ENDPOINTS,
    GOLDEN,
    ORIGINS,
    OWNER,
    PERSONAS,
    SENSITIVITIES,
    Target,
    _send,
    _url,
)

EMAILS = (PAT, FRAN, QUINN, CAROL, AUDREY, ADAM, None)
# Whose responses the sweep reads: fran may read every idea here (a Northside member and
# in the General Practice forum), and pat's refusals and the conflicts stand for the
# owner's side's errors.
SWEPT = (PAT, QUINN, CAROL, AUDREY, ADAM, None)
# Every content field of an idea, its attached file's name and bytes included.
FIELDS = ("title", "summary", "body", "tag", "filename", "file")
# What is stored sealed (README, Encryption at rest; attachments of commercial and
# confidential versions): it never reaches the database in clear.
SEALED = {
    "public": set(),
    "alliance": set(),
    "commercial": {"body", "filename", "file"},
    "confidential": {"title", "summary", "body", "filename", "file"},
}
# What each golden "idea" cell hides of an idea (attachments are read where the body is).
HIDDEN = {
    "full": set(),
    "abstract": {"body", "filename", "file"},
    "reg": set(FIELDS),
    "404": set(FIELDS),
}


def _marker() -> str:
    return f"zq{secrets.token_hex(8)}"  # lower case: it survives as a tag


@dataclass(frozen=True)
class Marked:
    """An idea whose every content field carries a marker of its own."""

    target: Target
    granted: bool  # the copy granted to Riverside (the grantee's)
    markers: dict[str, str]  # field -> marker
    values: dict[str, Any]  # field -> the stored value (tags: the list; file: bytes)


def _submit_marked(alliance: Alliance, origin: str, sensitivity: str, granted: bool) -> Marked:
    markers = {f: _marker() for f in FIELDS}
    values = {
        "title": f"Title {markers['title']}",
        "summary": f"Summary {markers['summary']}",
        "body": f"Body {markers['body']} of a {sensitivity} {origin} idea.",
        "tags": [markers["tag"]],
        "filename": f"{markers['filename']}.txt",
        "file": f"File {markers['file']}.\n".encode(),
    }
    owner = OWNER[origin]
    content = {f: values[f] for f in ("title", "summary", "body", "tags")}
    submitted = alliance.submit(owner, origin, sensitivity, **content)
    receipt = {k: v for k, v in submitted["receipt"].items() if k != "openings"}
    grant = alliance.grant(submitted["id"], owner, organisation=RIVERSIDE if granted else HARBOUR)
    attached = alliance.attach(submitted["id"], owner, values["filename"], values["file"])
    target = Target(
        submitted["id"],
        origin,
        sensitivity,
        owner,
        values["title"],
        values["body"],
        markers["tag"],
        submitted["registered_at"],
        receipt["log"]["index"],
        receipt,
        grant["id"],
        attached["id"],
        values["filename"],
        values["file"],
    )
    return Marked(target, granted, markers, values)


@pytest.fixture(scope="module")
def marked(module_alliance: Alliance) -> list[Marked]:
    """For each origin and sensitivity, a marked idea granted to Harbour (reaching no
    persona) and a marked copy granted to Riverside (quinn's, as grantee)."""
    with module_alliance.installed():
        return [
            _submit_marked(module_alliance, origin, sensitivity, granted)
            for origin in ORIGINS
            for sensitivity in SENSITIVITIES
            for granted in (False, True)
        ]


def _row(email: str | None, idea: Marked) -> str:
    """The golden table's persona for ``email`` reading ``idea``."""
    if idea.granted and email == QUINN:
        return "grantee"
    return next(n for n, p in PERSONAS.items() if p.email == email and not p.granted)


def _cell(email: str | None, idea: Marked, endpoint: str) -> str:
    cells = GOLDEN[idea.target.origin, endpoint, _row(email, idea)]
    return cells[SENSITIVITIES.index(idea.target.sensitivity)]


def _forbidden(email: str | None, ideas: list[Marked]) -> set[str]:
    """The markers of every field ``email`` may not read, by the golden table."""
    return {idea.markers[field] for idea in ideas for field in HIDDEN[_cell(email, idea, "idea")]}


# --- Every response of every endpoint, and every error we can provoke -------------------


@dataclass(frozen=True)
class Seen:
    """A response, and to whom it went."""

    email: str | None
    request: str
    status: int
    body: str
    headers: str  # one "Name: value" a line

    @classmethod
    def of(cls, email: str | None, request: str, response: TestResponse) -> Seen:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        return cls(email, request, response.status_code, response.get_data(as_text=True), headers)

    @property
    def text(self) -> str:
        return f"{self.body}\n{self.headers}"


PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
RANDOM = "00000000-0000-4000-8000-000000000001"
VERSION = {"title": "t", "summary": "s", "body": "b", "sensitivity": "alliance"}


def _probes(alliance: Alliance, idea: Marked, owners_side: bool) -> list[tuple]:
    """Requests about ``idea`` that end in an error whose answer may depend on the idea
    and on who asks: (method, path, JSON body, extra arguments). Past the access check
    only for the owner's side, so the rest are tried by it alone. None changes anything."""
    t = idea.target
    path = f"/ideas/{t.idea}"
    files = f"{path}/versions/1/attachments"
    readers = [
        ("GET", f"{files}/{RANDOM}", None, {}),
        ("GET", f"{files}/{RANDOM}/receipt", None, {}),
    ]
    if not owners_side:
        return readers
    other_origin = "forum" if t.origin == "provider" else "provider"
    owner_org = alliance.ids[NORTHSIDE] if t.origin == "provider" else alliance.ids[CCG]
    existing = alliance.ids[RIVERSIDE if idea.granted else HARBOUR]
    return [
        *readers,
        ("GET", f"{path}/grants/{RANDOM}/receipt", None, {}),
        ("DELETE", f"{path}/grants/{RANDOM}", None, {}),
        ("POST", f"{path}/versions", {**VERSION, "origin": other_origin}, {}),
        ("POST", f"{path}/versions", {**VERSION, "derived_from": [t.idea]}, {}),
        ("POST", f"{path}/shred", {}, {}),  # an active idea: 409
        ("POST", f"{path}/grants", {"organisation": RANDOM}, {}),
        ("POST", f"{path}/grants", {"organisation": owner_org}, {}),
        ("POST", f"{path}/grants", {"person": t.owner}, {}),
        ("POST", f"{path}/grants", {"organisation": existing}, {}),  # 409: granted already
        ("POST", f"{path}/grants", {"organisation": existing, "expires_at": PAST}, {}),
    ]


def _refusals(alliance: Alliance, idea: Marked) -> list[tuple]:
    """Errors answered before any idea is looked up, or the same for every idea (token,
    media type, method, body, query, break-glass header): tried on one idea."""
    path = f"/ideas/{idea.target.idea}"
    glass = {"headers": {BREAK_GLASS: "Looking into a complaint."}}
    citing = {**VERSION, "origin": "provider", "derived_from": [idea.target.idea]}
    return [
        ("GET", path, None, {"headers": {"Authorization": "Bearer not-a-token"}}),
        ("GET", f"{path}/versions/99", None, {}),
        ("GET", f"{path}/versions/99/attachments", None, {}),
        ("POST", f"{path}/versions", None, {"data": "x", "content_type": "text/plain"}),
        ("POST", f"{path}/versions", {**VERSION, "sensitivity": "secret"}, {}),
        ("POST", f"{path}/withdraw", {}, {}),
        ("POST", f"{path}/grants", {"organisation": RANDOM, "group": RANDOM}, {}),
        ("PUT", path, {}, {}),
        ("GET", f"{path}/access-log?page=0", None, {}),
        ("GET", f"{path}/access-log?bogus=1", None, {}),
        ("GET", f"{path}/grants", None, glass),
        ("GET", f"/ideas/{RANDOM}", None, {}),
        ("GET", "/ideas?bogus=1", None, {}),
        ("GET", "/ideas?page=0", None, {}),
        ("GET", "/ideas?include_withdrawn=true&per_page=100", None, {}),
        ("GET", "/ideas", None, glass),
        # Search lists ideas too: its hits, snippets, facets and totals (registry/search).
        ("GET", "/search?q=body&per_page=100", None, {}),
        ("GET", "/search?q=title OR summary&per_page=100&include_withdrawn=true", None, {}),
        ("GET", "/search?per_page=100", None, {}),
        ("POST", "/ideas", {}, {}),
        ("POST", "/ideas", {**citing, "derived_from": [idea.target.idea] * 2}, {}),
        ("POST", "/ideas", {**citing, "owner": alliance.ids[HARBOUR]}, {}),
        ("GET", "/log/entries?start=5&end=2", None, {}),
        ("GET", "/log/proof/inclusion?index=1000000", None, {}),
        ("POST", "/verify", {"receipt": {}}, {}),
    ]


def _conflicts(alliance: Alliance, origin: str, sensitivity: str) -> tuple[Marked, list]:
    """409s to the owner's side, on a marked idea of their own: a grant twice, a revocation
    twice, a shred of an active idea, a withdrawal twice, a version of a withdrawn idea,
    a second shred. Returns the idea and the (request, response) pairs."""
    idea = _submit_marked(alliance, origin, sensitivity, granted=False)
    t, seen = idea.target, []

    def call(method: str, path: str, body: Any = None) -> None:
        seen.append((f"{method} {path}", alliance.call(method, path, t.owner, body)))

    path = f"/ideas/{t.idea}"
    call("POST", f"{path}/grants", {"organisation": alliance.ids[HARBOUR]})
    call("DELETE", f"{path}/grants/{t.grant}")
    call("DELETE", f"{path}/grants/{t.grant}")
    call("POST", f"{path}/shred", {})
    call("POST", f"{path}/withdraw", {"reason": "Superseded."})
    call("POST", f"{path}/withdraw", {"reason": "Again."})
    call("POST", f"{path}/versions", VERSION)
    response = alliance.upload(t.idea, t.owner, "late.txt", b"Too late.\n")
    seen.append((f"POST {path}/versions/1/attachments", response))
    call("POST", f"{path}/shred", {})
    call("POST", f"{path}/shred", {})
    return idea, seen


@dataclass(frozen=True)
class Sweep:
    ideas: list[Marked]  # every marked idea, the conflicts' too
    seen: list[Seen]


@pytest.fixture(scope="module")
def sweep(module_alliance: Alliance, marked: list[Marked]) -> Sweep:
    """Every persona, every marked idea, every endpoint of the matrix and every probe.

    Changes are tried only where the golden table says they are refused (a refusal
    changes nothing: test_matrix checks it), so the marked ideas stay as submitted. A
    grant to Riverside changes what quinn alone may read: the other personas see the
    copies granted to Riverside as the others, so they read the others only."""
    alliance, seen = module_alliance, []
    with alliance.installed():
        for email in SWEPT:
            for idea in marked:
                if idea.granted and email != QUINN:
                    continue
                for name, endpoint in ENDPOINTS.items():
                    if endpoint.fresh and _cell(email, idea, name) not in {"401", "403", "404"}:
                        continue
                    if endpoint.kind == "evidence" and email != QUINN:
                        continue  # the same answer for every token
                    response = _send(alliance, endpoint, idea.target, email)
                    request = f"{endpoint.method} {_url(endpoint, idea.target)}"
                    seen.append(Seen.of(email, request, response))
                owners_side = _cell(email, idea, "grant") == "201"
                for method, path, body, extra in _probes(alliance, idea, owners_side):
                    response = alliance.call(method, path, email, body, **extra)
                    seen.append(Seen.of(email, f"{method} {path}", response))
            for method, path, body, extra in _refusals(alliance, marked[0]):
                response = alliance.call(method, path, email, body, **extra)
                seen.append(Seen.of(email, f"{method} {path}", response))
        conflicts = []
        for origin in ORIGINS:
            for sensitivity in SENSITIVITIES:
                idea, pairs = _conflicts(alliance, origin, sensitivity)
                conflicts.append(idea)
                seen += [Seen.of(idea.target.owner, r, response) for r, response in pairs]
    return Sweep(marked + conflicts, seen)


def test_no_persona_gets_what_it_may_not_read_from_any_endpoint(sweep, marked):
    forbidden = {email: _forbidden(email, marked) for email in EMAILS}
    assert not forbidden[FRAN]  # so she is not swept
    assert all(forbidden[e] for e in SWEPT)  # each is refused something
    found = [
        f"{s.email} {s.request} -> {s.status}: {marker}"
        for s in sweep.seen
        for marker in forbidden[s.email]
        if marker in s.text
    ]
    assert not found, "\n".join(found)


def test_no_error_carries_any_content(sweep):
    """Whoever gets it, the owner's side too: an error says what is wrong, never what is in
    an idea."""
    markers = {m for idea in sweep.ideas for m in idea.markers.values()}
    errors = [s for s in sweep.seen if s.status >= 400]
    assert {s.status for s in errors} >= {400, 401, 403, 404, 405, 409, 415, 422}
    for s in errors:
        assert set(json.loads(s.body)) == {"code", "status", "message", "errors"}, s.request
    found = [
        f"{s.email} {s.request} -> {s.status}" for s in errors if any(m in s.text for m in markers)
    ]
    assert not found, "\n".join(found)


def test_no_response_carries_an_etag(sweep, app):
    """Decided: the API has no ETags (no view uses flask-smorest's ``etag``; werkzeug adds
    none to JSON), so none can vary with content the reader may not see. Nor Last-Modified,
    which would say when a hidden version was stored."""
    tagged = [
        s.request
        for s in sweep.seen
        if re.search(r"^(ETag|Last-Modified):", s.headers, re.IGNORECASE | re.MULTILINE)
    ]
    assert not tagged
    with app.app_context():
        etagged = [
            name
            for name, view in app.view_functions.items()
            if getattr(view, "_apidoc", {}).get("etag")
        ]
    assert not etagged, "an ETag must not vary with content the reader may not see"


def test_a_conditional_request_is_answered_in_full(alliance, marked):
    t = marked[0].target
    for condition in ("If-None-Match", "If-Modified-Since"):
        value = "*" if condition == "If-None-Match" else "Sat, 01 Jan 2000 00:00:00 GMT"
        response = alliance.call("GET", f"/ideas/{t.idea}", t.owner, headers={condition: value})
        assert response.status_code == 200  # never a 304 that says "unchanged"


# --- Counts --------------------------------------------------------------------------

LIST_QUERIES = [
    {},
    {"origin": "provider"},
    {"origin": "forum"},
    {"owner": NORTHSIDE},
    {"owner": CCG},
    {"group": GENERAL_PRACTICE},
    {"tag": "frailty"},
    {"include_withdrawn": "true"},
]


def _pages(client, headers: dict, directory: dict, since: str) -> list:
    """Every page (of two) of the list and of the search, for every filter, as the
    reader sees it."""
    seen = []
    for query in [*LIST_QUERIES, {"submitted_after": since}]:
        query = {k: directory.get(v, v) for k, v in query.items()}
        for path in ("/api/v1/ideas", "/api/v1/search"):
            for page in (1, 2, 3):
                response = client.get(
                    path, query_string={**query, "per_page": 2, "page": page}, headers=headers
                )
                assert response.status_code == 200, response.json
                seen.append(response.json)
    return seen


# Ideas each persona may not know exist (the golden table's "-" in the list rows for
# pat's provider ideas and fran's forum ideas; quinn's confidential one by the same rule).
UNKNOWABLE = {
    persona: [
        (OWNER[origin], origin, sensitivity)
        for origin in ORIGINS
        for sensitivity in SENSITIVITIES
        if GOLDEN[origin, "list", persona][SENSITIVITIES.index(sensitivity)] == "-"
    ]
    + ([(QUINN, "provider", "confidential")] if persona not in {"quinn", "audrey"} else [])
    for persona in ("pat", "fran", "quinn", "carol", "adam", "anonymous")
}


@pytest.mark.parametrize("persona", sorted(UNKNOWABLE))
def test_counts_and_pages_are_as_if_unknowable_ideas_did_not_exist(
    client, auth, make_idea, directory, persona
):
    email = PERSONAS[persona].email
    headers = auth(email) if email else {}
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    # What the reader may know: pages to fill, before and after the unknowable ones.
    make_idea(by=PAT, sensitivity="public")
    make_idea(by=QUINN, sensitivity="public")
    make_idea(by=FRAN, sensitivity="public", origin="forum", group=directory[GENERAL_PRACTICE])
    before = _pages(client, headers, directory, since)
    assert any(page["total"] for page in before)

    for by, origin, sensitivity in UNKNOWABLE[persona]:
        group = {"group": directory[GENERAL_PRACTICE]} if origin == "forum" else {}
        make_idea(by=by, sensitivity=sensitivity, origin=origin, **group)
        withdrawn = make_idea(by=by, sensitivity=sensitivity, origin=origin, **group)
        response = client.post(
            f"/api/v1/ideas/{withdrawn['id']}/withdraw", json={"reason": "r"}, headers=auth(by)
        )
        assert response.status_code == 200
    assert UNKNOWABLE[persona]
    assert _pages(client, headers, directory, since) == before


# --- Exports ------------------------------------------------------------------------


def _digest(value: Any) -> bytes:
    """The plain SHA-256 of a field's value as a verifier would compute it, without salt
    (tags: of their RFC 8785 JSON, which for these ASCII tags json.dumps writes alike)."""
    if isinstance(value, list):
        value = json.dumps(value, separators=(",", ":"))
    return hashlib.sha256(value if isinstance(value, bytes) else value.encode()).digest()


def _strings(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [s for v in document.values() for s in _strings(v)] + list(map(str, document))
    if isinstance(document, list):
        return [s for v in document for s in _strings(v)]
    return [document] if isinstance(document, str) else []


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def test_exports_carry_neither_content_nor_its_plain_hash(alliance, sweep):
    """The public transparency-log endpoints, its entries and proofs, and every receipt
    any persona got: no marker, and no unsalted SHA-256 of any content field, in hex, in
    base64, or inside anything base64-encoded (time-stamp tokens, proofs)."""
    exports = [
        alliance.call("GET", path, None).get_data(as_text=True)
        for path in ("/keys", "/log/key", "/log/checkpoint", "/tsa/certs")
    ]
    size = alliance.ok("GET", "/log/proof/inclusion?index=0", QUINN)["tree_size"]
    assert size >= len(sweep.ideas)
    entries = alliance.ok("GET", f"/log/entries?start=0&end={size}", QUINN)
    assert len(entries["entries"]) == size
    exports.append(json.dumps(entries))
    for index in range(size):
        exports.append(json.dumps(alliance.ok("GET", f"/log/proof/inclusion?index={index}", QUINN)))
    exports.append(
        json.dumps(alliance.ok("GET", f"/log/proof/consistency?first=1&second={size}", QUINN))
    )
    receipts = [s.body for s in sweep.seen if s.status == 200 and '"statement"' in s.body]
    assert receipts
    exports += receipts

    markers = [m for idea in sweep.ideas for m in idea.markers.values()]
    digests = [_digest(v) for idea in sweep.ideas for v in idea.values.values()]
    hexes = [d.hex() for d in digests] + [base64.b64encode(d).decode() for d in digests]
    for text in exports:
        assert not [m for m in markers if m in text]
        assert not [h for h in hexes if h in text]
        words = _strings(json.loads(text)) if text.startswith(("{", "[")) else text.split()
        blobs = [_decoded(w) for w in words if len(w) >= 44]
        assert not [d for d in digests for blob in blobs if d in blob]


def test_receipts_carry_openings_only_for_the_owners_side(sweep, marked):
    by_idea = {idea.target.idea: idea for idea in marked}
    receipts = re.compile(
        r"GET /ideas/([0-9a-f-]{36})/versions/1(/attachments/[0-9a-f-]{36})?/receipt"
    )
    checked = 0
    for s in sweep.seen:
        match = receipts.fullmatch(s.request)
        if s.status != 200 or not match:
            continue
        idea = by_idea[match.group(1)]
        endpoint = "attachment-receipt" if match.group(2) else "receipt"
        has_openings = "openings" in json.loads(s.body)
        assert has_openings == (_cell(s.email, idea, endpoint) == "open"), (s.email, s.request)
        checked += 1
    swept = [(e, i) for e in SWEPT for i in marked if not i.granted or e == QUINN]
    served = [
        (e, i, name)
        for e, i in swept
        for name in ("receipt", "attachment-receipt")
        if _cell(e, i, name) in {"open", "rcpt"}
    ]
    assert checked == len(served)


# --- Server logs ---------------------------------------------------------------------

ECHO = "sqlalchemy.engine"  # SQLAlchemy's echo: every statement, its parameters, its rows


def _service_client(alliance: Alliance) -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    with alliance.app.app_context():
        northside = db.session.scalar(select(Organisation).where(Organisation.name == NORTHSIDE))
        person = Person(email=None, display_name="Northside EPR (service client)")
        db.session.add(person)
        db.session.flush()
        ensure_membership(person, northside, Role.MEMBER)
        client = ServiceClient(
            client_id="svc-" + secrets.token_hex(8),
            secret_hash=hash_secret(secret),
            name="Northside EPR",
            organisation=northside,
            person=person,
        )
        db.session.add(client)
        db.session.commit()
        return client.client_id, secret


@pytest.fixture
def every_logger_at_debug(caplog):
    """Every logger at DEBUG and enabled, all captured: more than REGISTRY_LOG_LEVEL=DEBUG
    does (it sets the root logger; SQLAlchemy keeps its own echo at WARNING), so that
    SQLAlchemy's echo of every statement, parameter and row is searched too."""
    names = ["", *logging.root.manager.loggerDict]
    disabled = [n for n in names if logging.getLogger(n).disabled]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name or None)
        logging.getLogger(name).disabled = False
    yield caplog
    for name in disabled:
        logging.getLogger(name).disabled = True


def test_server_logs_carry_no_content_and_no_token(alliance, every_logger_at_debug):
    """Submissions, reads, refusals, grants, a revocation, withdrawals and shreddings, a
    service client's token and a forged one: no log record holds content or a token.
    authlib logs every token it issues at DEBUG; registry/auth/server.py redacts it."""
    caplog = every_logger_at_debug
    ideas = []
    client_id, secret = _service_client(alliance)
    issued = alliance.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert issued.status_code == 200, issued.json
    service = {"Authorization": f"Bearer {issued.json['access_token']}"}

    for origin in ORIGINS:
        for sensitivity in SENSITIVITIES:
            idea = _submit_marked(alliance, origin, sensitivity, granted=True)
            ideas.append(idea)
            t = idea.target
            # Reads (quinn's on the record, as grantee), registrations only, refusals.
            for email, names in (
                (QUINN, ("idea", "download", "add-version")),
                (PAT if origin == "forum" else CAROL, ("idea", "list", "grants")),
                (AUDREY, ("idea", "receipt", "withdraw")),
                (None, ("idea", "download", "grant")),
            ):
                for name in names:
                    _send(alliance, ENDPOINTS[name], t, email)
            alliance.ok("GET", f"/ideas/{t.idea}/access-log", t.owner)
            alliance.call("DELETE", f"/ideas/{t.idea}/grants/{t.grant}", t.owner)
            alliance.call("GET", f"/ideas/{t.idea}", QUINN)  # refused or read as a member
            alliance.withdraw(t.idea, t.owner)
            alliance.call("POST", f"/ideas/{t.idea}/shred", t.owner, {})
    # A provider's system, by its own token, submits and reads.
    markers = {f: _marker() for f in ("title", "summary", "body", "tag")}
    content = {"title": markers["title"], "summary": markers["summary"], "body": markers["body"]}
    submitted = alliance.call(
        "POST",
        "/ideas",
        None,
        {**content, "tags": [markers["tag"]], "sensitivity": "confidential", "origin": "provider"},
        headers=service,
    )
    assert submitted.status_code == 201, submitted.json
    read = alliance.call("GET", f"/ideas/{submitted.json['id']}", None, headers=service)
    assert read.json["body"] == markers["body"]
    garbage = "eyJhbGciOiJub25lIn0." + secrets.token_urlsafe(24) + "."
    alliance.client.get("/api/v1/ideas", headers={"Authorization": f"Bearer {garbage}"})

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [(r.name, formatter.format(r)) for r in caplog.records]
    names = {name for name, _ in records}
    # The capture sees what it must: the token issuer's records and SQLAlchemy's echo, in
    # which what is stored in clear does appear.
    assert "authlib.oauth2.rfc6749.grants.client_credentials" in names
    clear = [i.markers["body"] for i in ideas if i.target.sensitivity in {"public", "alliance"}]
    assert any(clear[0] in text for name, text in records if name.startswith(ECHO))

    secrets_ = [*alliance.tokens.values(), service["Authorization"][7:], secret, garbage]
    sealed = [i.markers[f] for i in ideas for f in SEALED[i.target.sensitivity]]
    sealed += [markers[f] for f in ("title", "summary", "body")]
    every = [m for i in ideas for m in i.markers.values()] + list(markers.values())
    found = []
    for name, text in records:
        # SQL echo shows the database's own rows: what is stored in clear is in them,
        # what is sealed must not be.
        shown = sealed if name.startswith(ECHO) else every
        found += [f"{name}: content {m}" for m in shown if m in text]
        found += [f"{name}: a token or secret" for s in secrets_ if s in text]
    assert not found, "\n".join(found[:20])
