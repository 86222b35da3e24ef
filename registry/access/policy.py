"""The access policy: one deny-by-default table for every path.

(relation of the person to the idea, sensitivity, action) -> allowed. The same
table decides a single object (:func:`allowed`), builds the SQL filter every
list uses (:func:`visible`), and writes docs/access-policy.md (:func:`markdown`).
What the table does not grant is refused.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlalchemy.sql.elements import True_

from registry.auth.principal import Principal
from registry.db import utcnow
from registry.grants.models import Grant, active_grants_to
from registry.ip.models import Idea, Origin, Sensitivity


class Relation(enum.StrEnum):
    ANYONE = "anyone"  # also without a token
    MEMBER = "alliance-member"  # signed in with a member or CCG staff role somewhere
    CCG_STAFF = "ccg-staff"  # staff of the CCG
    AUDITOR = "auditor"
    ADMIN = "admin"
    OWNER = "owner-member"  # member of the owning provider; for forum ideas, CCG staff
    GROUP_MEMBER = "group-member"  # member of the group a forum idea evolved in
    GRANTEE = "grantee"  # named by an active grant: the person, their organisation or group
    BREAK_GLASS = "break-glass"  # an administrator who stated a reason on this request


class Action(enum.StrEnum):
    LIST = "list"  # know it exists: in lists, and its registration by id
    READ_ABSTRACT = "read-abstract"  # title, summary, tags
    READ_BODY = "read-body"
    READ_RECEIPT = "read-receipt"  # statement, signature, timestamps, proofs: no content
    READ_OPENINGS = "read-openings"  # the salts that let one prove the content to others
    ADD_VERSION = "add-version"
    WITHDRAW = "withdraw"
    GRANT = "grant"  # share the idea by a grant, list and revoke its grants
    READ_ACCESS_LOG = "read-access-log"  # who read its body or openings, who was refused
    SHRED = "shred"  # erase a withdrawn idea's sealed content for everyone


PUBLIC, ALLIANCE, COMMERCIAL, CONFIDENTIAL = (
    Sensitivity.PUBLIC,
    Sensitivity.ALLIANCE,
    Sensitivity.COMMERCIAL,
    Sensitivity.CONFIDENTIAL,
)
EVERYTHING = frozenset(Action)
READ = frozenset({Action.LIST, Action.READ_ABSTRACT, Action.READ_BODY, Action.READ_RECEIPT})
ABSTRACT = frozenset({Action.LIST, Action.READ_ABSTRACT, Action.READ_RECEIPT})
REGISTRATION = frozenset({Action.LIST, Action.READ_RECEIPT})
NOTHING: frozenset[Action] = frozenset()


def _same(actions: frozenset[Action]) -> dict[Sensitivity, frozenset[Action]]:
    return dict.fromkeys(Sensitivity, actions)


TABLE: dict[Relation, dict[Sensitivity, frozenset[Action]]] = {
    # Published shared innovations: anyone reads them.
    Relation.ANYONE: {PUBLIC: READ, ALLIANCE: NOTHING, COMMERCIAL: NOTHING, CONFIDENTIAL: NOTHING},
    # Alliance members see that commercial ideas exist and whose they are, not their bodies.
    Relation.MEMBER: {PUBLIC: READ, ALLIANCE: READ, COMMERCIAL: ABSTRACT, CONFIDENTIAL: NOTHING},
    # The CCG reads no provider body without a grant: procurement must be fair.
    Relation.CCG_STAFF: {PUBLIC: READ, ALLIANCE: READ, COMMERCIAL: ABSTRACT, CONFIDENTIAL: NOTHING},
    # Auditors check evidence, never content: registrations and receipts only.
    Relation.AUDITOR: _same(REGISTRATION),
    # Administrators manage people and organisations, not content.
    Relation.ADMIN: {
        PUBLIC: REGISTRATION,
        ALLIANCE: REGISTRATION,
        COMMERCIAL: REGISTRATION,
        CONFIDENTIAL: NOTHING,
    },
    Relation.OWNER: _same(EVERYTHING),
    # For forum ideas the owner is the CCG: the group's members act as its members.
    Relation.GROUP_MEMBER: _same(EVERYTHING),
    # The owner's side shares an idea by a grant: its grantees read it, on the record
    # (RECORDED below), but never get the openings or act for the owner.
    Relation.GRANTEE: _same(READ),
    # An administrator may break glass: read one idea's content, confidential included,
    # having stated why; the read is on the record and its owner sees the reason. Never
    # the openings, never a write, never a list (see _holds), never a receipt (no content:
    # auditors verify receipts).
    Relation.BREAK_GLASS: _same(READ - {Action.READ_RECEIPT}),
}

# Relations whose use is recorded in the idea's access log: a read that only they allow
# is logged (registry/accesslog), whoever the reader is. Readers cannot opt out.
RECORDED = frozenset({Relation.GRANTEE, Relation.BREAK_GLASS})

# Granted: the ids of ideas shared with the principal by an active grant, as
# registry.grants.services.shared_with finds them for the ideas at hand.
Granted = Collection[uuid.UUID]


def relations(principal: Principal, idea: Idea, granted: Granted = ()) -> frozenset[Relation]:
    """Every relation ``principal`` holds to ``idea``. ``granted`` holds the ids of the
    ideas shared with them by an active grant (it need hold no others)."""
    held = {Relation.ANYONE}
    if principal.is_anonymous:
        return frozenset(held)
    if principal.is_alliance_member:
        held.add(Relation.MEMBER)
    if principal.is_ccg_staff:
        held.add(Relation.CCG_STAFF)
    if principal.is_auditor:
        held.add(Relation.AUDITOR)
    if principal.is_admin:
        held.add(Relation.ADMIN)
    if idea.origin is Origin.PROVIDER and principal.member_of(idea.owner_id):
        held.add(Relation.OWNER)
    if idea.origin is Origin.FORUM:
        if principal.is_ccg_staff:
            held.add(Relation.OWNER)
        if principal.in_group(idea.group_id):
            held.add(Relation.GROUP_MEMBER)
    if idea.id in granted:
        held.add(Relation.GRANTEE)
    if principal.is_admin and principal.break_glass is not None:
        held.add(Relation.BREAK_GLASS)
    return frozenset(held)


def allowed(
    principal: Principal,
    action: Action,
    idea: Idea,
    sensitivity: Sensitivity,
    granted: Granted = (),
) -> bool:
    """May ``principal`` do ``action`` on ``idea`` as of a version of ``sensitivity``?"""
    return any(action in TABLE[r][sensitivity] for r in relations(principal, idea, granted))


def actions(
    principal: Principal, idea: Idea, sensitivity: Sensitivity, granted: Granted = ()
) -> frozenset[Action]:
    held = relations(principal, idea, granted)
    return frozenset().union(*(TABLE[r][sensitivity] for r in held))


def recorded(
    principal: Principal,
    action: Action,
    idea: Idea,
    sensitivity: Sensitivity,
    granted: Granted = (),
) -> bool:
    """Is ``action`` allowed to ``principal`` only through relations in :data:`RECORDED`?
    Then doing it goes in the idea's access log. What another relation allows anyway
    (the owner's side, members reading an alliance idea) is not recorded."""
    held = relations(principal, idea, granted)
    through = {r for r in held if action in TABLE[r][sensitivity]}
    return bool(through) and through <= RECORDED


def _sensitivities(relation: Relation, action: Action) -> list[Sensitivity]:
    return [s for s, granted in TABLE[relation].items() if action in granted]


@dataclass(frozen=True)
class IdeaColumns:
    """Where :func:`visible` reads an idea's id, origin, owner and group: ``Idea``'s
    columns, or copies of them (search's rows, registry/search/models.py)."""

    id: ColumnElement
    origin: ColumnElement
    owner_id: ColumnElement
    group_id: ColumnElement


IDEAS = IdeaColumns(Idea.id, Idea.origin, Idea.owner_id, Idea.group_id)


def visible(
    principal: Principal,
    sensitivity: ColumnElement,
    action: Action = Action.LIST,
    at: datetime | ColumnElement[datetime] | None = None,
    *,
    recorded: bool = True,
    idea: IdeaColumns = IDEAS,
):
    """The SQL condition, over ``Idea`` (or the columns ``idea`` names) and a version's
    ``sensitivity`` column, that holds exactly where :func:`allowed` would allow
    ``action`` (grants as of ``at``, by default now). ``at`` may be a bound parameter, for
    a statement kept and run again later (search's): the caller then gives it the time
    of each run. ``recorded=False``: only through relations not in :data:`RECORDED`, i.e.
    where doing it goes in no access log (search matches bodies only there)."""
    if at is None:
        at = utcnow()
    always: set[Sensitivity] = set()  # through the relations they hold whatever the idea
    conditions = []
    for relation in Relation:
        if not recorded and relation in RECORDED:
            continue
        held = _holds(principal, relation, at, idea)
        levels = _sensitivities(relation, action)
        if not levels or held is None:
            continue
        if isinstance(held, True_):
            always.update(levels)
        else:
            conditions.append(and_(held, sensitivity.in_(levels)))
    if always:  # one test of the sensitivity, first: it decides most ideas alone
        conditions.insert(0, sensitivity.in_([s for s in Sensitivity if s in always]))
    return or_(*conditions) if conditions else false()


def _holds(
    principal: Principal, relation: Relation, at: datetime | ColumnElement, idea: IdeaColumns
) -> ColumnElement | None:
    """SQL for 'principal holds relation to the idea', or None where they never do."""
    if relation is Relation.ANYONE:
        return true()
    if principal.is_anonymous:
        return None
    flags = {
        Relation.MEMBER: principal.is_alliance_member,
        Relation.CCG_STAFF: principal.is_ccg_staff,
        Relation.AUDITOR: principal.is_auditor,
        Relation.ADMIN: principal.is_admin,
    }
    if relation in flags:
        return true() if flags[relation] else None
    if relation is Relation.OWNER:
        owners = []
        if principal.provider_organisation_ids:
            owners.append(and_(idea.origin == Origin.PROVIDER, idea.owner_id.in_(_ids(principal))))
        if principal.is_ccg_staff:
            owners.append(idea.origin == Origin.FORUM)
        return or_(*owners) if owners else None
    if relation is Relation.GROUP_MEMBER:
        if not principal.group_ids:
            return None
        return and_(idea.origin == Origin.FORUM, idea.group_id.in_(list(principal.group_ids)))
    if relation is Relation.GRANTEE:
        return exists().where(Grant.idea_id == idea.id, active_grants_to(principal, at))
    if relation is Relation.BREAK_GLASS:
        # Glass is broken for one idea at a time: a list, a count or a search would read
        # many ideas off the record, each entry in the access log standing for one read.
        return None
    raise AssertionError(f"no SQL for relation {relation}")


def _ids(principal: Principal) -> list:
    return list(principal.provider_organisation_ids)


def markdown() -> str:
    """docs/access-policy.md, generated from :data:`TABLE`."""
    lines = [
        "# Access policy",
        "",
        "Generated from `registry/access/policy.py` (`registry access-policy > "
        "docs/access-policy.md`); a test fails when this file and the table differ.",
        "",
        "Deny by default: an action not listed for any relation a person holds is refused. "
        "A person holds every relation that applies (a CCG staff member is also an alliance "
        "member). Someone who may not `list` an idea gets 404, as for an unknown id; someone "
        "who may list it but not do the action gets 403, or the response leaves the content "
        "out.",
        "",
        "Relations:",
        "",
        *_describe(Relation),
        "",
        "| relation | " + " | ".join(s.value for s in Sensitivity) + " |",
        "|---|" + "---|" * len(Sensitivity),
    ]
    for relation, row in TABLE.items():
        cells = [", ".join(a.value for a in Action if a in row[s]) or "-" for s in Sensitivity]
        lines.append(f"| {relation.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


DESCRIPTIONS = {
    Relation.ANYONE: "anyone, also without a token",
    Relation.MEMBER: "signed in, with a member or CCG staff role in an alliance organisation",
    Relation.CCG_STAFF: "CCG staff, with that role at the CCG",
    Relation.AUDITOR: "an auditor: reads statements, receipts and proofs, never content",
    Relation.ADMIN: "an administrator: manages people and organisations, not content",
    Relation.OWNER: "a member of the owning provider; for forum ideas (owned by the CCG), "
    "CCG staff",
    Relation.GROUP_MEMBER: "a member of the forum, cluster or Executive Group a forum idea "
    "evolved in",
    Relation.GRANTEE: "named by an active grant of the owner's side (not revoked, not expired): "
    "the person, an organisation they are a member or CCG staff of, or a group they are "
    "in. What only a grant opens is read on the record: the idea's access log",
    Relation.BREAK_GLASS: "an administrator who states a reason on the request (the "
    "`Break-Glass-Reason` header) to read one idea: never in lists or searches, never the "
    "openings. The read goes in the idea's access log with the reason, for its owner to see",
}


def _describe(items: Iterable[Relation]) -> list[str]:
    return [f"- `{r.value}`: {DESCRIPTIONS[r]}" for r in items]
