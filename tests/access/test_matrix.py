"""The exhaustive access matrix: every persona x every sensitivity x both origins x every
endpoint that names an idea (or its statements), against a golden table written by hand
from the alliance's rules (README "Who sees what", docs/access-policy.md), not computed
from registry/access/policy.py. A second test checks that table against policy.TABLE
cell by cell, so a change to either shows up.

Adding an endpoint is one entry in ENDPOINTS and its rows in GOLDEN (a route on an idea
without its entry fails test_every_route_that_names_an_idea_is_in_the_matrix); adding a
persona is one entry in PERSONAS, its rows, and its relations in RELATIONS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry.access import policy
from registry.access.policy import Action, Relation
from registry.alliance.services import person_by_email
from registry.attachments.models import Attachment
from registry.auth.principal import Principal
from registry.db import db
from registry.evidence.models import Statement
from registry.grants.models import Grant, shared_with
from registry.ip.models import Idea, IdeaVersion, Sensitivity
from registry.sealing.models import DataKey, Shredding
from tests.access.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    FRAN,
    HARBOUR,
    PAT,
    QUINN,
    RIVERSIDE,
    Alliance,
)
from tests.ip.checks import error_body

ORIGINS = ("provider", "forum")
SENSITIVITIES = ("public", "alliance", "commercial", "confidential")
OWNER = {"provider": PAT, "forum": FRAN}  # who submits each origin's ideas
BREAK_GLASS = "Break-Glass-Reason"


@dataclass(frozen=True)
class Persona:
    email: str | None  # None: no token
    # Reads the copy of the idea its owner's side granted to Riverside (an organisation
    # grant, for provider and forum ideas alike); on writes, a fresh idea granted so.
    granted: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request


PERSONAS = {
    "pat": Persona(PAT),  # Northside: the owner's member of provider ideas
    "fran": Persona(FRAN),  # Northside and the General Practice forum
    "quinn": Persona(QUINN),  # another provider
    "carol": Persona(CAROL),  # CCG staff
    "audrey": Persona(AUDREY),  # auditor
    "adam": Persona(ADAM),  # administrator
    # An administrator breaking glass: a stated reason on every request, which only the
    # routes that read one idea's content take (GET the idea, a version, its attachments;
    # registry/access/breakglass.py): a 400 elsewhere, before anything else.
    "adam-break-glass": Persona(ADAM, headers={BREAK_GLASS: "Investigating a complaint."}),
    "anonymous": Persona(None),
    "grantee": Persona(QUINN, granted=True),  # quinn, after the owner's side grants Riverside
}

# --- The golden table --------------------------------------------------------------
#
# One row per endpoint and persona, a column per sensitivity. Cells:
#   full, abstract, reg  200, showing the body / the abstract (title, summary, tags) /
#                        only the registration (that it exists, whose, when)
#   -                    list: not in it, nor counted in its total
#   open, rcpt           200, a receipt with / without the openings
#   stmt                 200, the idea's statement (never content)
#   a number             that status
# 404: as unknown as a made-up id. 403: may know it exists, may not do this (or, before
# any idea is looked up, may never do it: auditors and administrators write nothing).
# 401: needs a token. 400: the break-glass header, on a route that does not take it.
# 422 (cite): an idea one may not know is cited as an unknown id. Writes (add-version,
# attach, withdraw, shred, grant, revoke) are tried on a fresh idea per cell; the shred
# cells on a withdrawn one, the revoke cells on one with a grant to Harbour.

GOLDEN_TABLE = """
provider:  owned by Northside, submitted by pat; the grantee reads a copy granted to Riverside

endpoint            persona            public    alliance  commercial  confidential
idea                pat                full      full      full        full
idea                fran               full      full      full        full
idea                quinn              full      full      abstract    404
idea                carol              full      full      abstract    404
idea                audrey             full      reg       reg         reg
idea                adam               full      reg       reg         404
idea                adam-break-glass   full      full      full        full
idea                anonymous          full      404       404         404
idea                grantee            full      full      full        full

version             pat                full      full      full        full
version             fran               full      full      full        full
version             quinn              full      full      abstract    404
version             carol              full      full      abstract    404
version             audrey             full      reg       reg         reg
version             adam               full      reg       reg         404
version             adam-break-glass   full      full      full        full
version             anonymous          full      404       404         404
version             grantee            full      full      full        full

list                pat                full      full      full        full
list                fran               full      full      full        full
list                quinn              full      full      abstract    -
list                carol              full      full      abstract    -
list                audrey             full      reg       reg         reg
list                adam               full      reg       reg         -
list                adam-break-glass   400       400       400         400
list                anonymous          full      -         -           -
list                grantee            full      full      abstract    abstract

receipt             pat                open      open      open        open
receipt             fran               open      open      open        open
receipt             quinn              rcpt      rcpt      rcpt        404
receipt             carol              rcpt      rcpt      rcpt        404
receipt             audrey             rcpt      rcpt      rcpt        rcpt
receipt             adam               rcpt      rcpt      rcpt        404
receipt             adam-break-glass   400       400       400         400
receipt             anonymous          rcpt      404       404         404
receipt             grantee            rcpt      rcpt      rcpt        rcpt

attachments         pat                200       200       200         200
attachments         fran               200       200       200         200
attachments         quinn              200       200       403         404
attachments         carol              200       200       403         404
attachments         audrey             200       403       403         403
attachments         adam               200       403       403         404
attachments         adam-break-glass   200       200       200         200
attachments         anonymous          200       404       404         404
attachments         grantee            200       200       200         200

download            pat                200       200       200         200
download            fran               200       200       200         200
download            quinn              200       200       403         404
download            carol              200       200       403         404
download            audrey             200       403       403         403
download            adam               200       403       403         404
download            adam-break-glass   200       200       200         200
download            anonymous          200       404       404         404
download            grantee            200       200       200         200

attachment-receipt  pat                open      open      open        open
attachment-receipt  fran               open      open      open        open
attachment-receipt  quinn              rcpt      rcpt      rcpt        404
attachment-receipt  carol              rcpt      rcpt      rcpt        404
attachment-receipt  audrey             rcpt      rcpt      rcpt        rcpt
attachment-receipt  adam               rcpt      rcpt      rcpt        404
attachment-receipt  adam-break-glass   400       400       400         400
attachment-receipt  anonymous          rcpt      404       404         404
attachment-receipt  grantee            rcpt      rcpt      rcpt        rcpt

cite                pat                201       201       201         201
cite                fran               201       201       201         201
cite                quinn              201       201       201         422
cite                carol              403       403       403         403
cite                audrey             403       403       403         403
cite                adam               403       403       403         403
cite                adam-break-glass   400       400       400         400
cite                anonymous          401       401       401         401
cite                grantee            201       201       201         201

add-version         pat                201       201       201         201
add-version         fran               201       201       201         201
add-version         quinn              403       403       403         404
add-version         carol              403       403       403         404
add-version         audrey             403       403       403         403
add-version         adam               403       403       403         403
add-version         adam-break-glass   400       400       400         400
add-version         anonymous          401       401       401         401
add-version         grantee            403       403       403         403

attach              pat                201       201       201         201
attach              fran               201       201       201         201
attach              quinn              403       403       403         404
attach              carol              403       403       403         404
attach              audrey             403       403       403         403
attach              adam               403       403       403         403
attach              adam-break-glass   400       400       400         400
attach              anonymous          401       401       401         401
attach              grantee            403       403       403         403

withdraw            pat                200       200       200         200
withdraw            fran               200       200       200         200
withdraw            quinn              403       403       403         404
withdraw            carol              403       403       403         404
withdraw            audrey             403       403       403         403
withdraw            adam               403       403       403         403
withdraw            adam-break-glass   400       400       400         400
withdraw            anonymous          401       401       401         401
withdraw            grantee            403       403       403         403

shred               pat                409       409       200         200
shred               fran               409       409       200         200
shred               quinn              403       403       403         404
shred               carol              403       403       403         404
shred               audrey             403       403       403         403
shred               adam               403       403       403         403
shred               adam-break-glass   400       400       400         400
shred               anonymous          401       401       401         401
shred               grantee            403       403       403         403

grant               pat                201       201       201         201
grant               fran               201       201       201         201
grant               quinn              403       403       403         404
grant               carol              403       403       403         404
grant               audrey             403       403       403         403
grant               adam               403       403       403         403
grant               adam-break-glass   400       400       400         400
grant               anonymous          401       401       401         401
grant               grantee            403       403       403         403

grants              pat                200       200       200         200
grants              fran               200       200       200         200
grants              quinn              403       403       403         404
grants              carol              403       403       403         404
grants              audrey             403       403       403         403
grants              adam               403       403       403         403
grants              adam-break-glass   400       400       400         400
grants              anonymous          401       401       401         401
grants              grantee            403       403       403         403

revoke              pat                204       204       204         204
revoke              fran               204       204       204         204
revoke              quinn              403       403       403         404
revoke              carol              403       403       403         404
revoke              audrey             403       403       403         403
revoke              adam               403       403       403         403
revoke              adam-break-glass   400       400       400         400
revoke              anonymous          401       401       401         401
revoke              grantee            403       403       403         403

grant-receipt       pat                200       200       200         200
grant-receipt       fran               200       200       200         200
grant-receipt       quinn              403       403       403         404
grant-receipt       carol              403       403       403         404
grant-receipt       audrey             403       403       403         403
grant-receipt       adam               403       403       403         403
grant-receipt       adam-break-glass   400       400       400         400
grant-receipt       anonymous          401       401       401         401
grant-receipt       grantee            403       403       403         403

access-log          pat                200       200       200         200
access-log          fran               200       200       200         200
access-log          quinn              403       403       403         404
access-log          carol              403       403       403         404
access-log          audrey             403       403       403         403
access-log          adam               403       403       403         403
access-log          adam-break-glass   400       400       400         400
access-log          anonymous          401       401       401         401
access-log          grantee            403       403       403         403

log-entries         pat                stmt      stmt      stmt        stmt
log-entries         fran               stmt      stmt      stmt        stmt
log-entries         quinn              stmt      stmt      stmt        stmt
log-entries         carol              stmt      stmt      stmt        stmt
log-entries         audrey             stmt      stmt      stmt        stmt
log-entries         adam               stmt      stmt      stmt        stmt
log-entries         adam-break-glass   400       400       400         400
log-entries         anonymous          401       401       401         401
log-entries         grantee            stmt      stmt      stmt        stmt

inclusion           pat                200       200       200         200
inclusion           fran               200       200       200         200
inclusion           quinn              200       200       200         200
inclusion           carol              200       200       200         200
inclusion           audrey             200       200       200         200
inclusion           adam               200       200       200         200
inclusion           adam-break-glass   400       400       400         400
inclusion           anonymous          401       401       401         401
inclusion           grantee            200       200       200         200

verify              pat                200       200       200         200
verify              fran               200       200       200         200
verify              quinn              200       200       200         200
verify              carol              200       200       200         200
verify              audrey             200       200       200         200
verify              adam               200       200       200         200
verify              adam-break-glass   400       400       400         400
verify              anonymous          401       401       401         401
verify              grantee            200       200       200         200


forum:  evolved in General Practice, owned by the CCG, submitted by fran; the group's
        members and CCG staff act as the owner's members

endpoint            persona            public    alliance  commercial  confidential
idea                pat                full      full      abstract    404
idea                fran               full      full      full        full
idea                quinn              full      full      abstract    404
idea                carol              full      full      full        full
idea                audrey             full      reg       reg         reg
idea                adam               full      reg       reg         404
idea                adam-break-glass   full      full      full        full
idea                anonymous          full      404       404         404
idea                grantee            full      full      full        full

version             pat                full      full      abstract    404
version             fran               full      full      full        full
version             quinn              full      full      abstract    404
version             carol              full      full      full        full
version             audrey             full      reg       reg         reg
version             adam               full      reg       reg         404
version             adam-break-glass   full      full      full        full
version             anonymous          full      404       404         404
version             grantee            full      full      full        full

list                pat                full      full      abstract    -
list                fran               full      full      full        full
list                quinn              full      full      abstract    -
list                carol              full      full      full        full
list                audrey             full      reg       reg         reg
list                adam               full      reg       reg         -
list                adam-break-glass   400       400       400         400
list                anonymous          full      -         -           -
list                grantee            full      full      abstract    abstract

receipt             pat                rcpt      rcpt      rcpt        404
receipt             fran               open      open      open        open
receipt             quinn              rcpt      rcpt      rcpt        404
receipt             carol              open      open      open        open
receipt             audrey             rcpt      rcpt      rcpt        rcpt
receipt             adam               rcpt      rcpt      rcpt        404
receipt             adam-break-glass   400       400       400         400
receipt             anonymous          rcpt      404       404         404
receipt             grantee            rcpt      rcpt      rcpt        rcpt

attachments         pat                200       200       403         404
attachments         fran               200       200       200         200
attachments         quinn              200       200       403         404
attachments         carol              200       200       200         200
attachments         audrey             200       403       403         403
attachments         adam               200       403       403         404
attachments         adam-break-glass   200       200       200         200
attachments         anonymous          200       404       404         404
attachments         grantee            200       200       200         200

download            pat                200       200       403         404
download            fran               200       200       200         200
download            quinn              200       200       403         404
download            carol              200       200       200         200
download            audrey             200       403       403         403
download            adam               200       403       403         404
download            adam-break-glass   200       200       200         200
download            anonymous          200       404       404         404
download            grantee            200       200       200         200

attachment-receipt  pat                rcpt      rcpt      rcpt        404
attachment-receipt  fran               open      open      open        open
attachment-receipt  quinn              rcpt      rcpt      rcpt        404
attachment-receipt  carol              open      open      open        open
attachment-receipt  audrey             rcpt      rcpt      rcpt        rcpt
attachment-receipt  adam               rcpt      rcpt      rcpt        404
attachment-receipt  adam-break-glass   400       400       400         400
attachment-receipt  anonymous          rcpt      404       404         404
attachment-receipt  grantee            rcpt      rcpt      rcpt        rcpt

cite                pat                201       201       201         422
cite                fran               201       201       201         201
cite                quinn              201       201       201         422
cite                carol              403       403       403         403
cite                audrey             403       403       403         403
cite                adam               403       403       403         403
cite                adam-break-glass   400       400       400         400
cite                anonymous          401       401       401         401
cite                grantee            201       201       201         201

add-version         pat                403       403       403         404
add-version         fran               201       201       201         201
add-version         quinn              403       403       403         404
add-version         carol              201       201       201         201
add-version         audrey             403       403       403         403
add-version         adam               403       403       403         403
add-version         adam-break-glass   400       400       400         400
add-version         anonymous          401       401       401         401
add-version         grantee            403       403       403         403

attach              pat                403       403       403         404
attach              fran               201       201       201         201
attach              quinn              403       403       403         404
attach              carol              201       201       201         201
attach              audrey             403       403       403         403
attach              adam               403       403       403         403
attach              adam-break-glass   400       400       400         400
attach              anonymous          401       401       401         401
attach              grantee            403       403       403         403

withdraw            pat                403       403       403         404
withdraw            fran               200       200       200         200
withdraw            quinn              403       403       403         404
withdraw            carol              200       200       200         200
withdraw            audrey             403       403       403         403
withdraw            adam               403       403       403         403
withdraw            adam-break-glass   400       400       400         400
withdraw            anonymous          401       401       401         401
withdraw            grantee            403       403       403         403

shred               pat                403       403       403         404
shred               fran               409       409       200         200
shred               quinn              403       403       403         404
shred               carol              409       409       200         200
shred               audrey             403       403       403         403
shred               adam               403       403       403         403
shred               adam-break-glass   400       400       400         400
shred               anonymous          401       401       401         401
shred               grantee            403       403       403         403

grant               pat                403       403       403         404
grant               fran               201       201       201         201
grant               quinn              403       403       403         404
grant               carol              201       201       201         201
grant               audrey             403       403       403         403
grant               adam               403       403       403         403
grant               adam-break-glass   400       400       400         400
grant               anonymous          401       401       401         401
grant               grantee            403       403       403         403

grants              pat                403       403       403         404
grants              fran               200       200       200         200
grants              quinn              403       403       403         404
grants              carol              200       200       200         200
grants              audrey             403       403       403         403
grants              adam               403       403       403         403
grants              adam-break-glass   400       400       400         400
grants              anonymous          401       401       401         401
grants              grantee            403       403       403         403

revoke              pat                403       403       403         404
revoke              fran               204       204       204         204
revoke              quinn              403       403       403         404
revoke              carol              204       204       204         204
revoke              audrey             403       403       403         403
revoke              adam               403       403       403         403
revoke              adam-break-glass   400       400       400         400
revoke              anonymous          401       401       401         401
revoke              grantee            403       403       403         403

grant-receipt       pat                403       403       403         404
grant-receipt       fran               200       200       200         200
grant-receipt       quinn              403       403       403         404
grant-receipt       carol              200       200       200         200
grant-receipt       audrey             403       403       403         403
grant-receipt       adam               403       403       403         403
grant-receipt       adam-break-glass   400       400       400         400
grant-receipt       anonymous          401       401       401         401
grant-receipt       grantee            403       403       403         403

access-log          pat                403       403       403         404
access-log          fran               200       200       200         200
access-log          quinn              403       403       403         404
access-log          carol              200       200       200         200
access-log          audrey             403       403       403         403
access-log          adam               403       403       403         403
access-log          adam-break-glass   400       400       400         400
access-log          anonymous          401       401       401         401
access-log          grantee            403       403       403         403

log-entries         pat                stmt      stmt      stmt        stmt
log-entries         fran               stmt      stmt      stmt        stmt
log-entries         quinn              stmt      stmt      stmt        stmt
log-entries         carol              stmt      stmt      stmt        stmt
log-entries         audrey             stmt      stmt      stmt        stmt
log-entries         adam               stmt      stmt      stmt        stmt
log-entries         adam-break-glass   400       400       400         400
log-entries         anonymous          401       401       401         401
log-entries         grantee            stmt      stmt      stmt        stmt

inclusion           pat                200       200       200         200
inclusion           fran               200       200       200         200
inclusion           quinn              200       200       200         200
inclusion           carol              200       200       200         200
inclusion           audrey             200       200       200         200
inclusion           adam               200       200       200         200
inclusion           adam-break-glass   400       400       400         400
inclusion           anonymous          401       401       401         401
inclusion           grantee            200       200       200         200

verify              pat                200       200       200         200
verify              fran               200       200       200         200
verify              quinn              200       200       200         200
verify              carol              200       200       200         200
verify              audrey             200       200       200         200
verify              adam               200       200       200         200
verify              adam-break-glass   400       400       400         400
verify              anonymous          401       401       401         401
verify              grantee            200       200       200         200
"""

Row = tuple[str, str, str]  # origin, endpoint, persona


def _parse(text: str) -> dict[Row, tuple[str, ...]]:
    """The golden table as {(origin, endpoint, persona): cells by SENSITIVITIES}."""
    table: dict[Row, tuple[str, ...]] = {}
    origin = None
    for line in text.splitlines():
        words = line.split()
        if not words or line.startswith(" "):  # blank, or a section's note going on
            continue
        if words[0].endswith(":"):
            origin = words[0].removesuffix(":")
            continue
        if words[0] == "endpoint":
            assert words[2:] == list(SENSITIVITIES), line
            continue
        endpoint, persona, *cells = words
        assert len(cells) == len(SENSITIVITIES), line
        assert (origin, endpoint, persona) not in table, f"twice: {line}"
        table[origin, endpoint, persona] = tuple(cells)
    return table


GOLDEN = _parse(GOLDEN_TABLE)

# --- The ideas the cells are tried on --------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An idea, as submitted: what a reader who may read it must see."""

    idea: str
    origin: str
    sensitivity: str
    owner: str  # who acts for its owner (submitted it)
    title: str
    body: str
    tag: str
    registered_at: str  # when its first version was stored, as the API gave it
    log_index: int  # its first version's statement in the transparency log
    receipt: dict[str, Any]  # that statement's receipt, without the openings
    grant: str | None = None  # one of its grants (to Harbour, or to Riverside)
    attachment: str | None = None  # a file attached to its first version
    filename: str = ""
    file: bytes = b""


def _submit(alliance: Alliance, origin: str, sensitivity: str, tag: str) -> Target:
    owner = OWNER[origin]
    title, body = f"Matrix {tag}", f"The body of {tag}."
    submitted = alliance.submit(owner, origin, sensitivity, title=title, body=body, tags=[tag])
    receipt = {k: v for k, v in submitted["receipt"].items() if k != "openings"}
    return Target(
        submitted["id"],
        origin,
        sensitivity,
        owner,
        title,
        body,
        tag,
        submitted["registered_at"],
        receipt["log"]["index"],
        receipt,
    )


def _with_file(alliance: Alliance, target: Target) -> Target:
    filename, file = f"{target.tag}.txt", f"Attached to {target.tag}.\n".encode()
    attached = alliance.attach(target.idea, target.owner, filename, file)
    return replace(target, attachment=attached["id"], filename=filename, file=file)


@pytest.fixture(scope="module")
def targets(module_alliance: Alliance) -> dict[tuple[str, str, bool], Target]:
    """For each origin and sensitivity, an idea shared with Harbour (a grant that reaches
    no persona) and a copy granted to Riverside (the grantee's), each with a file attached:
    (origin, sensitivity, granted) -> Target. Only read, never changed."""
    made = {}
    with module_alliance.installed():
        for origin in ORIGINS:
            for sensitivity in SENSITIVITIES:
                for granted, grantee in ((False, HARBOUR), (True, RIVERSIDE)):
                    tag = f"{origin}-{sensitivity}-{'granted' if granted else 'plain'}"
                    target = _submit(module_alliance, origin, sensitivity, tag)
                    grant = module_alliance.grant(target.idea, target.owner, organisation=grantee)
                    target = _with_file(module_alliance, replace(target, grant=grant["id"]))
                    made[origin, sensitivity, granted] = target
    return made


def _fresh(alliance: Alliance, origin: str, sensitivity: str, granted: bool) -> Target:
    target = _submit(alliance, origin, sensitivity, f"fresh-{uuid.uuid4().hex[:12]}")
    if granted:
        alliance.grant(target.idea, target.owner, organisation=RIVERSIDE)
    return target


# --- Observing what an endpoint answers ----------------------------------------------

CONTENT = {"title", "summary", "tags", "body", "derived_from", "withdrawal_reason"}
ABSTRACT = {"title", "summary", "tags"}


def _shown(item: dict, target: Target) -> str:
    """full / abstract / reg: what an idea's representation shows, checked against what
    was submitted (a sealed field must come back opened, not empty)."""
    assert item["id"] == target.idea, item
    if "body" in item:
        assert (item["title"], item["body"]) == (target.title, target.body), item
        return "full"
    if item.keys() >= ABSTRACT:
        assert (item["title"], item["tags"]) == (target.title, [target.tag]), item
        return "abstract"
    assert not CONTENT & item.keys(), item
    return "reg"


def _status(response: TestResponse, target: Target) -> str:
    if response.status_code >= 400:
        error_body(response, response.status_code)
    return str(response.status_code)


def _read(response: TestResponse, target: Target) -> str:
    if response.status_code != 200:
        return _status(response, target)
    return _shown(response.json, target)


def _listed(response: TestResponse, target: Target) -> str:
    if response.status_code != 200:
        return _status(response, target)
    page = response.json
    assert page["total"] == len(page["items"]), page  # a count of nothing hidden
    if not page["items"]:
        return "-"
    (item,) = page["items"]
    return _shown(item, target)


def _receipt(response: TestResponse, target: Target) -> str:
    if response.status_code != 200:
        return _status(response, target)
    assert response.json["statement"]["idea"] == target.idea
    assert response.json["log"]["index"] == target.log_index
    return "open" if "openings" in response.json else "rcpt"


def _files(response: TestResponse, target: Target) -> str:
    if response.status_code == 200:
        listed = {a["id"]: a["filename"] for a in response.json}
        assert listed == {target.attachment: target.filename}, response.json
    return _status(response, target)


def _download(response: TestResponse, target: Target) -> str:
    if response.status_code == 200:
        assert response.data == target.file
    return _status(response, target)


def _attachment_receipt(response: TestResponse, target: Target) -> str:
    if response.status_code != 200:
        return _status(response, target)
    statement = response.json["statement"]
    assert (statement["idea"], statement["attachment"]) == (target.idea, target.attachment)
    return "open" if "openings" in response.json else "rcpt"


def _statement(response: TestResponse, target: Target) -> str:
    if response.status_code != 200:
        return _status(response, target)
    (entry,) = response.json["entries"]
    assert entry["index"] == target.log_index
    assert (entry["statement"]["type"], entry["statement"]["idea"]) == (
        "idea-version",
        target.idea,
    )
    return "stmt"


def _verified(response: TestResponse, target: Target) -> str:
    if response.status_code == 200:
        assert response.json["ok"] is True, response.json
    return _status(response, target)


# --- The endpoints -------------------------------------------------------------------

# Who gets past a route's own check, before any idea is looked up (registry/access
# can()): those who could act for an owner, and those who may submit ideas.
MAY_OWN = frozenset({"pat", "fran", "quinn", "carol", "grantee"})
MAY_SUBMIT = frozenset({"pat", "fran", "quinn", "grantee"})


@dataclass(frozen=True)
class Endpoint:
    """An endpoint of the matrix: how to call it on a target and read the answer, and
    what the policy must allow for it (for the golden table's check against the policy)."""

    route: str  # the Flask endpoint
    method: str
    path: str  # under /api/v1; {idea}, {grant}, {attachment}, {tag}, {index} from the target
    observe: Callable[[TestResponse, Target], str]
    kind: str  # read, list, receipt, act, cite or evidence: how the policy decides it
    action: Action | None = None  # for "act": what the policy must allow
    done: str = "200"  # for "act" and "evidence": the cell where the policy allows it
    done_at: Mapping[str, str] = field(default_factory=dict)  # by sensitivity, if it differs
    anonymous: bool = False  # answers without a token
    breaks_glass: bool = False  # reads one idea's content: takes the Break-Glass-Reason
    gate: frozenset[str] | None = None  # personas past the route's own check
    fresh: bool = False  # changes the idea: each cell gets a new one
    prepare: Callable[[Alliance, Target], Target] | None = None  # as the owner, first
    body: Callable[[Alliance, Target], Any] | None = None  # JSON
    upload: Callable[[Target], tuple[str, bytes]] | None = None  # a file: its name, bytes

    def success(self, sensitivity: str) -> str:
        return self.done_at.get(sensitivity, self.done)


def _withdrawn(alliance: Alliance, target: Target) -> Target:
    alliance.withdraw(target.idea, target.owner)
    return target


def _with_grant(alliance: Alliance, target: Target) -> Target:
    grant = alliance.grant(target.idea, target.owner, organisation=HARBOUR)
    return replace(target, grant=grant["id"])


def _version(alliance: Alliance, target: Target) -> dict:
    content = {"title": "v2", "summary": "s2", "body": "b2", "tags": [target.tag]}
    return {**content, "sensitivity": target.sensitivity}


def _citing(alliance: Alliance, target: Target) -> dict:
    return {
        "title": "Builds on another",
        "summary": "s",
        "body": "b",
        "sensitivity": "alliance",
        "origin": "provider",
        "derived_from": [target.idea],
    }


ENDPOINTS = {
    "idea": Endpoint(
        "ideas.get_idea", "GET", "/ideas/{idea}", _read, "read", anonymous=True, breaks_glass=True
    ),
    "version": Endpoint(
        "ideas.get_version",
        "GET",
        "/ideas/{idea}/versions/1",
        _read,
        "read",
        anonymous=True,
        breaks_glass=True,
    ),
    "list": Endpoint(
        "ideas.list_ideas",
        "GET",
        "/ideas?submitted_after={registered}&submitted_before={registered_next}&per_page=100",
        _listed,
        "list",
        anonymous=True,
    ),
    "receipt": Endpoint(
        "ideas.get_receipt",
        "GET",
        "/ideas/{idea}/versions/1/receipt",
        _receipt,
        "receipt",
        anonymous=True,
    ),
    # Attachments are read exactly where the version's body is, attached only by the
    # owner's side (as a version is added), their receipts as the version's.
    "attachments": Endpoint(
        "attachments.list_attachments",
        "GET",
        "/ideas/{idea}/versions/1/attachments",
        _files,
        "act",
        Action.READ_BODY,
        anonymous=True,
        breaks_glass=True,
    ),
    "download": Endpoint(
        "attachments.download",
        "GET",
        "/ideas/{idea}/versions/1/attachments/{attachment}",
        _download,
        "act",
        Action.READ_BODY,
        anonymous=True,
        breaks_glass=True,
    ),
    "attachment-receipt": Endpoint(
        "attachments.get_receipt",
        "GET",
        "/ideas/{idea}/versions/1/attachments/{attachment}/receipt",
        _attachment_receipt,
        "receipt",
        anonymous=True,
    ),
    "cite": Endpoint(
        "ideas.submit", "POST", "/ideas", _status, "cite", gate=MAY_SUBMIT, body=_citing
    ),
    "add-version": Endpoint(
        "ideas.add_version",
        "POST",
        "/ideas/{idea}/versions",
        _status,
        "act",
        Action.ADD_VERSION,
        "201",
        gate=MAY_OWN,
        fresh=True,
        body=_version,
    ),
    "attach": Endpoint(
        "attachments.attach",
        "POST",
        "/ideas/{idea}/versions/1/attachments",
        _status,
        "act",
        Action.ADD_VERSION,
        "201",
        gate=MAY_OWN,
        fresh=True,
        upload=lambda target: ("plan.txt", b"A plan attached by the matrix.\n"),
    ),
    "withdraw": Endpoint(
        "ideas.withdraw",
        "POST",
        "/ideas/{idea}/withdraw",
        _status,
        "act",
        Action.WITHDRAW,
        gate=MAY_OWN,
        fresh=True,
        body=lambda alliance, target: {"reason": "Tried by the matrix."},
    ),
    "shred": Endpoint(
        "ideas.shred",
        "POST",
        "/ideas/{idea}/shred",
        _status,
        "act",
        Action.SHRED,
        # Public and alliance versions are stored in clear: nothing sealed to erase.
        done_at={"public": "409", "alliance": "409"},
        gate=MAY_OWN,
        fresh=True,
        prepare=_withdrawn,
        body=lambda alliance, target: {},
    ),
    "grant": Endpoint(
        "grants.grant",
        "POST",
        "/ideas/{idea}/grants",
        _status,
        "act",
        Action.GRANT,
        "201",
        gate=MAY_OWN,
        fresh=True,
        body=lambda alliance, target: {"organisation": alliance.ids[HARBOUR]},
    ),
    "grants": Endpoint(
        "grants.list_grants",
        "GET",
        "/ideas/{idea}/grants",
        _status,
        "act",
        Action.GRANT,
        gate=MAY_OWN,
    ),
    "revoke": Endpoint(
        "grants.revoke",
        "DELETE",
        "/ideas/{idea}/grants/{grant}",
        _status,
        "act",
        Action.GRANT,
        "204",
        gate=MAY_OWN,
        fresh=True,
        prepare=_with_grant,
    ),
    "grant-receipt": Endpoint(
        "grants.get_receipt",
        "GET",
        "/ideas/{idea}/grants/{grant}/receipt",
        _status,
        "act",
        Action.GRANT,
        gate=MAY_OWN,
    ),
    "access-log": Endpoint(
        "accesslog.access_log",
        "GET",
        "/ideas/{idea}/access-log",
        _status,
        "act",
        Action.READ_ACCESS_LOG,
        gate=MAY_OWN,
    ),
    # The transparency log is for every signed-in verifier: statements name ideas and
    # commit to their content with salts, never carry it.
    "log-entries": Endpoint(
        "evidence.entries",
        "GET",
        "/log/entries?start={index}&end={index_end}",
        _statement,
        "evidence",
        done="stmt",
    ),
    "inclusion": Endpoint(
        "evidence.inclusion", "GET", "/log/proof/inclusion?index={index}", _status, "evidence"
    ),
    "verify": Endpoint(
        "evidence.verify",
        "POST",
        "/verify",
        _verified,
        "evidence",
        body=lambda alliance, target: {"receipt": target.receipt},
    ),
}


def _url(endpoint: Endpoint, target: Target) -> str:
    return endpoint.path.format(
        idea=target.idea,
        grant=target.grant,
        attachment=target.attachment,
        tag=target.tag,
        # The list found by time of registration, a filter everyone may use (a tag filter
        # would hide what the reader may list but not read the abstract of).
        registered=quote(target.registered_at),
        registered_next=quote(
            (datetime.fromisoformat(target.registered_at) + timedelta(microseconds=1)).isoformat()
        ),
        index=target.log_index,
        index_end=target.log_index + 1,
    )


def _send(
    alliance: Alliance, endpoint: Endpoint, target: Target, email: str | None, headers=None
) -> TestResponse:
    """Call ``endpoint`` on ``target`` as ``email``, with its body or file."""
    headers = headers or {}
    if endpoint.upload:
        filename, content = endpoint.upload(target)
        return alliance.upload(target.idea, email, filename, content, headers=headers)
    body = endpoint.body(alliance, target) if endpoint.body else None
    return alliance.call(endpoint.method, _url(endpoint, target), email, body, headers=headers)


def _footprint(alliance: Alliance, idea_id: str) -> tuple:
    """Everything a change to the idea leaves in the database: its row, and how many
    versions, statements, grants (and revocations), attachments, data keys and shreddings
    it has. The access log aside: it records refusals."""
    idea_id = uuid.UUID(idea_id)
    versions = select(IdeaVersion.id).where(IdeaVersion.idea_id == idea_id)

    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    with alliance.app.app_context():
        idea = db.session.get(Idea, idea_id)
        return (
            (idea.state, idea.latest_version, idea.withdrawn_at, idea.updated_at),
            count(IdeaVersion, IdeaVersion.idea_id == idea_id),
            count(Statement, Statement.idea_id == idea_id),
            count(Grant, Grant.idea_id == idea_id),
            count(Grant, Grant.idea_id == idea_id, Grant.revoked_at.is_not(None)),
            count(Attachment, Attachment.version_id.in_(versions)),
            count(DataKey, DataKey.version_id.in_(versions)),
            count(Shredding, Shredding.idea_id == idea_id),
        )


def observe(alliance: Alliance, targets, endpoint: Endpoint, origin: str, persona: str) -> list:
    """The cells of one row: what ``persona`` gets from ``endpoint`` at each sensitivity."""
    who = PERSONAS[persona]
    cells = []
    for sensitivity in SENSITIVITIES:
        if endpoint.fresh:
            target = _fresh(alliance, origin, sensitivity, who.granted)
        else:
            target = targets[origin, sensitivity, who.granted]
        if endpoint.prepare:
            target = endpoint.prepare(alliance, target)
        before = _footprint(alliance, target.idea) if endpoint.fresh else None
        response = _send(alliance, endpoint, target, who.email, who.headers)
        cell = endpoint.observe(response, target)
        if endpoint.fresh and response.status_code >= 400:
            # Refused: nothing half-written.
            assert _footprint(alliance, target.idea) == before, (persona, sensitivity)
        cells.append(cell)
    return cells


ROWS = sorted(GOLDEN)


@pytest.mark.parametrize(("origin", "endpoint", "persona"), ROWS)
def test_every_persona_gets_what_the_golden_table_says(
    alliance, targets, origin, endpoint, persona
):
    observed = observe(alliance, targets, ENDPOINTS[endpoint], origin, persona)
    assert dict(zip(SENSITIVITIES, observed, strict=True)) == dict(
        zip(SENSITIVITIES, GOLDEN[origin, endpoint, persona], strict=True)
    )


def test_the_golden_table_has_every_row_once():
    expected = {(o, e, p) for o in ORIGINS for e in ENDPOINTS for p in PERSONAS}
    assert set(GOLDEN) == expected
    assert len(GOLDEN) == len(expected)


def test_every_route_that_names_an_idea_is_in_the_matrix(app):
    """A new route on an idea (attachments, say) fails here until it has its entry."""
    naming = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "idea_id" in rule.arguments and rule.endpoint != "static"
    }
    assert naming <= {e.route for e in ENDPOINTS.values()}


# --- The golden table against policy.TABLE ------------------------------------------

R = Relation
# Every relation each persona holds to the ideas of each origin, written by hand from
# the rules (and checked against policy.relations below).
RELATIONS: dict[str, dict[str, frozenset[Relation]]] = {
    "provider": {
        "pat": frozenset({R.ANYONE, R.MEMBER, R.OWNER}),
        "fran": frozenset({R.ANYONE, R.MEMBER, R.OWNER}),
        "quinn": frozenset({R.ANYONE, R.MEMBER}),
        "carol": frozenset({R.ANYONE, R.MEMBER, R.CCG_STAFF}),
        "audrey": frozenset({R.ANYONE, R.AUDITOR}),
        "adam": frozenset({R.ANYONE, R.ADMIN}),
        "adam-break-glass": frozenset({R.ANYONE, R.ADMIN, R.BREAK_GLASS}),
        "anonymous": frozenset({R.ANYONE}),
        "grantee": frozenset({R.ANYONE, R.MEMBER, R.GRANTEE}),
    },
    "forum": {
        "pat": frozenset({R.ANYONE, R.MEMBER}),
        "fran": frozenset({R.ANYONE, R.MEMBER, R.GROUP_MEMBER}),
        "quinn": frozenset({R.ANYONE, R.MEMBER}),
        "carol": frozenset({R.ANYONE, R.MEMBER, R.CCG_STAFF, R.OWNER}),
        "audrey": frozenset({R.ANYONE, R.AUDITOR}),
        "adam": frozenset({R.ANYONE, R.ADMIN}),
        "adam-break-glass": frozenset({R.ANYONE, R.ADMIN, R.BREAK_GLASS}),
        "anonymous": frozenset({R.ANYONE}),
        "grantee": frozenset({R.ANYONE, R.MEMBER, R.GRANTEE}),
    },
}


def _from_table(endpoint: Endpoint, origin: str, persona: str, sensitivity: str) -> str:
    """The cell policy.TABLE implies, given the relations held and the route's own check."""
    if BREAK_GLASS in PERSONAS[persona].headers and not endpoint.breaks_glass:
        return "400"  # refused before anything else, so it can widen nothing
    if persona == "anonymous" and not endpoint.anonymous:
        return "401"
    if endpoint.gate is not None and persona not in endpoint.gate:
        return "403"
    held = RELATIONS[origin][persona]
    level = Sensitivity(sensitivity)
    allowed = frozenset().union(*(policy.TABLE[r][level] for r in held))
    unknown = "403" if Action.LIST in allowed else "404"
    if endpoint.kind == "read":
        if Action.LIST not in allowed:
            return "404"
    elif endpoint.kind == "list":
        if Action.LIST not in allowed:
            return "-"
        # A body only a recorded relation (a grant) opens is read one idea at a time.
        unrecorded = held - policy.RECORDED
        if not any(Action.READ_BODY in policy.TABLE[r][level] for r in unrecorded):
            allowed -= {Action.READ_BODY}
    elif endpoint.kind == "receipt":
        if Action.READ_RECEIPT not in allowed:
            return unknown
        return "open" if Action.READ_OPENINGS in allowed else "rcpt"
    elif endpoint.kind == "cite":
        return "201" if Action.LIST in allowed else "422"  # as unknown as a made-up id
    elif endpoint.kind == "act":
        return endpoint.success(sensitivity) if endpoint.action in allowed else unknown
    elif endpoint.kind == "evidence":
        return endpoint.success(sensitivity)
    else:
        raise AssertionError(f"no rule for {endpoint.kind}")
    if Action.READ_BODY in allowed:
        return "full"
    return "abstract" if Action.READ_ABSTRACT in allowed else "reg"


def test_the_golden_table_agrees_with_the_policy_table_cell_by_cell():
    disagreements = [
        f"{origin} {endpoint} {persona} {sensitivity}: golden {cell}, policy {derived}"
        for (origin, endpoint, persona), cells in sorted(GOLDEN.items())
        for sensitivity, cell in zip(SENSITIVITIES, cells, strict=True)
        if cell != (derived := _from_table(ENDPOINTS[endpoint], origin, persona, sensitivity))
    ]
    assert not disagreements, "\n".join(disagreements)


def test_the_personas_hold_the_relations_the_table_is_checked_with(alliance, targets):
    with alliance.app.app_context():
        for (origin, sensitivity, granted), target in targets.items():
            idea = db.session.get(Idea, uuid.UUID(target.idea))
            for persona, who in PERSONAS.items():
                if who.granted != granted:
                    continue
                person = person_by_email(who.email) if who.email else None
                principal = Principal.of(person) if person else Principal.anonymous()
                if BREAK_GLASS in who.headers:
                    principal = replace(principal, break_glass=who.headers[BREAK_GLASS])
                granted_ids = shared_with(db.session, principal, [idea.id])
                held = policy.relations(principal, idea, granted_ids)
                assert held == RELATIONS[origin][persona], (persona, origin, sensitivity)
