"""The ideas register and the alliance's ownership rule.

The rule, enforced here whatever the client sends:

- a provider's pre-existing idea is owned by a provider the submitter belongs to;
- an idea that evolved in a forum, cluster or the Executive Group is owned by
  the CCG, and only that group's members may register it;
- a new version keeps its idea's origin, owner and group;
- derivations point at earlier ideas and never change them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, lazyload

from registry.access import Permission, require, require_on
from registry.access.policy import Action, actions, recorded, visible
from registry.accesslog.models import AccessField, AccessOutcome
from registry.accesslog.services import AccessLog
from registry.alliance.models import Group, Organisation, OrganisationKind
from registry.auth.principal import Principal
from registry.db import utcnow
from registry.errors import APIError, Invalid, NotFound
from registry.evidence.service import Evidence
from registry.grants.models import shared_with
from registry.ip.models import (
    Derivation,
    Idea,
    IdeaState,
    IdeaVersion,
    Origin,
    Sensitivity,
    VersionTag,
)
from registry.sealing.models import Shredding
from registry.sealing.service import sealed_fields
from registry.search.indexer import Indexer


class Revealed:
    """A version with the sealed fields its reader may see opened (the others None).

    ``shredded``: the version's content was shredded; its sealed fields are gone.
    Everything else is read from the stored version.
    """

    def __init__(
        self, version: IdeaVersion, opened: dict[str, str] | None = None, shredded: bool = False
    ):
        self._version = version
        self.shredded = shredded
        opened = opened or {}
        for name in sealed_fields(version.sensitivity):
            setattr(self, name, opened.get(name))

    def __getattr__(self, name: str) -> Any:
        # Only what the instance lacks: every attribute but the sealed fields.
        return getattr(self._version, name)


# How a list loads each version: with its idea (and the idea's owner and group), tags
# and sources; not the submitter's Person (with its memberships), whose id alone shows.
# For a statement that joins Idea.
AS_LISTED = (contains_eager(IdeaVersion.idea), lazyload(IdeaVersion.submitted_by))


@dataclass(frozen=True)
class Submission:
    """A stored version and the receipt that proves it."""

    version: Revealed
    receipt: dict[str, Any]


@dataclass(frozen=True)
class Shown:
    """A version, and what the reader may see of it (decides the response schema)."""

    version: Revealed
    actions: frozenset[Action]


@dataclass(frozen=True)
class IdeaPage:
    items: list[Shown]
    page: int
    per_page: int
    total: int


class IdeaRegister:
    """Submitting, versioning, withdrawing and finding ideas. Owns its transactions.

    Every stored version and every withdrawal is recorded by the evidence layer
    in the same transaction: there is never a version without its statement. Every
    read of content that only a grant opens goes in the access log before it is served.
    """

    def __init__(
        self,
        session: Session,
        evidence: Evidence,
        access_log: AccessLog | None = None,
        indexer: Indexer | None = None,
    ):
        self.session = session
        self.evidence = evidence
        self.access_log = access_log or AccessLog(session)
        # The search index lives in the database and changes in the same transactions.
        self.indexer = indexer or current_app.extensions["registry.search"]

    # -- writing ---------------------------------------------------------------

    def submit(self, principal: Principal, request: dict[str, Any]) -> Submission:
        """Register a new idea and its first version.

        Raises a 403 if the principal may not register this kind of idea and a
        422 naming the field for a request that breaks the ownership rule.
        """
        require(principal, Permission.IDEA_SUBMIT)
        origin: Origin = request["origin"]
        if origin is Origin.PROVIDER:
            owner, group = self._provider_owner(principal, request["owner"], request["group"])
        else:
            owner, group = self._forum_owner(principal, request["group"])
        self._check_sources(principal, request["derived_from"], idea_id=None)

        now = utcnow()
        idea = Idea(
            id=uuid.uuid4(),
            origin=origin,
            owner_id=owner.id,
            group_id=group.id if group else None,
            state=IdeaState.ACTIVE,
            latest_version=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(idea)
        version = self._new_version(idea, 1, principal, request, now)
        return self._commit_version(principal, version, request)

    def add_version(
        self, principal: Principal, idea_id: uuid.UUID, request: dict[str, Any]
    ) -> Submission:
        """Store a new version. Origin, owner and group cannot change (422)."""
        idea = self.require(principal, Action.ADD_VERSION, idea_id, lock=True)
        if idea.state is IdeaState.WITHDRAWN:
            raise APIError(409, "This idea is withdrawn; it takes no new versions.")
        for field, current in (
            ("origin", idea.origin),
            ("owner", idea.owner_id),
            ("group", idea.group_id),
        ):
            asked = request.get(field)
            if asked is not None and asked != current:
                raise Invalid(
                    field,
                    f"A new version keeps its idea's {field}. Reclassification is a "
                    "recorded decision of the Executive Group, not an edit.",
                )
        self._check_sources(principal, request["derived_from"], idea_id=idea.id)

        now = utcnow()
        number = idea.latest_version + 1
        idea.latest_version = number
        idea.updated_at = now
        version = self._new_version(idea, number, principal, request, now)
        return self._commit_version(principal, version, request)

    def _commit_version(
        self, principal: Principal, version: IdeaVersion, request: dict[str, Any]
    ) -> Submission:
        # The statement commits to the request's plaintext: sealed columns hold "".
        content = {f: request[f] for f in ("title", "summary", "body")}
        statement = self.evidence.record_version(self.session, version, content)
        self.indexer.index(self.session, version, content)
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise APIError(
                409, "Another version of this idea was stored at the same time; retry."
            ) from None
        if self.evidence.external_tsas:
            self.evidence.add_external_timestamps(self.session, statement)
            self.session.commit()
        opened = {f: content[f] for f in sealed_fields(version.sensitivity)}
        return Submission(Revealed(version, opened), self._receipt(principal, version, statement))

    def withdraw(self, principal: Principal, idea_id: uuid.UUID, reason: str) -> Shown:
        """Withdraw an idea. It stays in the register, marked withdrawn; 409 if it already is."""
        idea = self.require(principal, Action.WITHDRAW, idea_id, lock=True)
        if idea.state is IdeaState.WITHDRAWN:
            raise APIError(409, "This idea is already withdrawn.")
        idea.state = IdeaState.WITHDRAWN
        idea.withdrawn_at = idea.updated_at = utcnow()
        idea.withdrawn_by_id = principal.person_id
        idea.withdrawal_reason = reason
        self.evidence.record_withdrawal(self.session, idea)
        self.indexer.withdrawn(self.session, idea)
        self.session.commit()
        return self.version(principal, idea.id, idea.latest_version)

    def shred(self, principal: Principal, idea_id: uuid.UUID) -> Shown:
        """Erase a withdrawn idea's sealed content for everyone by deleting its data keys,
        and record that in a signed statement. Its statements, receipts and log entries
        still verify; its registration and clear fields stay readable.

        A 409 if the idea is not withdrawn, or has no sealed content left (already
        shredded, or only public and alliance versions, which are stored in clear).
        """
        idea = self.require(principal, Action.SHRED, idea_id, lock=True)
        if idea.state is not IdeaState.WITHDRAWN:
            raise APIError(409, "Only a withdrawn idea can be shredded: withdraw it first.")
        sealing = self.evidence.sealing
        if not sealing.holds_keys(self.session, idea.id):
            raise APIError(
                409,
                "This idea has no sealed content to shred: it was shredded already, or "
                "its versions are public or alliance ones, stored in clear.",
            )
        shredding = Shredding(
            idea_id=idea.id, shredded_by_id=principal.person_id, shredded_at=utcnow()
        )
        self.session.add(shredding)
        sealing.shred(self.session, idea.id)
        self.indexer.forget_sealed(self.session, idea.id)
        self.evidence.record_shredding(self.session, shredding)
        self.session.commit()
        return self.version(principal, idea.id, idea.latest_version)

    # -- deciding --------------------------------------------------------------

    def require(
        self, principal: Principal, action: Action, idea_id: uuid.UUID, *, lock: bool = False
    ) -> Idea:
        """The idea, if the policy lets ``principal`` do ``action`` on it as of its
        latest version; else a 404 (unknown, or they may not know it exists) or a 403,
        recorded in the access log. ``lock``: lock the idea's row for a change."""
        idea = self._idea_for_update(idea_id) if lock else self._idea(idea_id)
        require_on(principal, action, idea, self._sensitivity(idea), self._granted(principal, idea))
        return idea

    def _granted(self, principal: Principal, *ideas: Idea) -> frozenset[uuid.UUID]:
        return shared_with(self.session, principal, (idea.id for idea in ideas))

    # -- reading ---------------------------------------------------------------

    def latest(self, principal: Principal, idea_id: uuid.UUID) -> Shown:
        idea = self._idea(idea_id)
        return self.version(principal, idea.id, idea.latest_version)

    def version(self, principal: Principal, idea_id: uuid.UUID, number: int) -> Shown:
        """A version as this reader may see it; 404 if they may not know the idea exists."""
        version = self.stored_version(idea_id, number)
        idea, sensitivity = version.idea, version.sensitivity
        granted = self._granted(principal, idea)
        require_on(principal, Action.LIST, idea, sensitivity, granted)
        allowed = actions(principal, idea, sensitivity, granted)
        shown = Shown(self._reveal(version, allowed), allowed)
        if recorded(principal, Action.READ_BODY, idea, sensitivity, granted):
            self.access_log.record(
                principal, idea.id, number, [AccessField.BODY], AccessOutcome.READ
            )
        return shown

    def stored_version(self, idea_id: uuid.UUID, number: int) -> IdeaVersion:
        """The stored version and its idea, whoever asks: 404 if there is none. Deciding
        what the asker may see of it is the caller's part."""
        version = self.session.scalar(
            select(IdeaVersion)
            .join(IdeaVersion.idea)
            .options(contains_eager(IdeaVersion.idea))
            .where(IdeaVersion.idea_id == idea_id, IdeaVersion.number == number)
        )
        if version is None:
            raise NotFound("Idea version")
        return version

    def receipt(self, principal: Principal, idea_id: uuid.UUID, number: int) -> dict[str, Any]:
        """The receipt for a version, proved against the latest checkpoint."""
        version = self.stored_version(idea_id, number)
        idea, sensitivity = version.idea, version.sensitivity
        granted = self._granted(principal, idea)
        require_on(principal, Action.READ_RECEIPT, idea, sensitivity, granted)
        statement = self.evidence.version_statement(self.session, idea_id, number)
        if statement is None:
            raise NotFound("Statement")
        receipt = self._receipt(principal, version, statement, granted)
        if "openings" in receipt and recorded(
            principal, Action.READ_OPENINGS, idea, sensitivity, granted
        ):
            self.access_log.record(
                principal, idea.id, number, [AccessField.OPENINGS], AccessOutcome.READ
            )
        return receipt

    def _receipt(
        self, principal: Principal, version: IdeaVersion, statement, granted=()
    ) -> dict[str, Any]:
        # The openings reveal nothing by themselves, but with them anyone holding the
        # content can prove it: they go only to the owner's side.
        allowed = actions(principal, version.idea, version.sensitivity, granted)
        may_open = Action.READ_OPENINGS in allowed
        openings = self.evidence.openings(self.session, version) if may_open else None
        return self.evidence.receipt(self.session, statement, openings)

    def list(self, principal: Principal, query: dict[str, Any]) -> IdeaPage:
        # What the reader may not know exists is filtered in the query: it never
        # reaches a page, a count or anything computed from them.
        conditions = [visible(principal, IdeaVersion.sensitivity)]
        if not query["include_withdrawn"]:
            conditions.append(Idea.state == IdeaState.ACTIVE)
        if "owner" in query:
            conditions.append(Idea.owner_id == query["owner"])
        if "origin" in query:
            conditions.append(Idea.origin == query["origin"])
        if "group" in query:
            conditions.append(Idea.group_id == query["group"])
        if "submitted_after" in query:
            conditions.append(Idea.created_at >= query["submitted_after"])
        if "submitted_before" in query:
            conditions.append(Idea.created_at < query["submitted_before"])
        if "tag" in query:
            # Tags are part of the abstract: who may not read it must not learn them by
            # filtering (an auditor would otherwise tell a confidential idea's tags).
            conditions.append(
                and_(
                    exists().where(
                        VersionTag.version_id == IdeaVersion.id, VersionTag.tag == query["tag"]
                    ),
                    visible(principal, IdeaVersion.sensitivity, Action.READ_ABSTRACT),
                )
            )
        base = (
            select(IdeaVersion)
            .join(
                Idea,
                and_(Idea.id == IdeaVersion.idea_id, Idea.latest_version == IdeaVersion.number),
            )
            .where(*conditions)
        )
        total = self.session.scalar(select(func.count()).select_from(base.subquery()))
        page, per_page = query["page"], query["per_page"]
        items = self.session.scalars(
            base.options(*AS_LISTED)
            .order_by(Idea.created_at.desc(), Idea.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        items = list(items)
        return IdeaPage(self.listed(principal, items), page, per_page, total or 0)

    def _reveal(self, version: IdeaVersion, allowed: frozenset[Action]) -> Revealed:
        """The version with the sealed fields the reader's schema will show opened;
        nothing else is decrypted."""
        (revealed,) = self._reveal_many([(version, allowed)])
        return revealed

    def _reveal_many(self, shown: list[tuple[IdeaVersion, frozenset[Action]]]) -> list[Revealed]:
        # A page's sealed fields are opened together: two queries, not two per idea.
        wanted = {}
        for version, allowed in shown:
            fields = _to_open(version, allowed)
            if fields:
                wanted[version.id] = (version.idea_id, version.number, fields)
        opened = self.evidence.sealing.open_many(self.session, wanted)
        # Nothing to open: only whether there is anything left.
        unopened = {
            v.idea_id for v, _ in shown if sealed_fields(v.sensitivity) and v.id not in wanted
        }
        shredded: set[uuid.UUID] = set()
        if unopened:
            found = select(Shredding.idea_id).where(Shredding.idea_id.in_(unopened))
            shredded = set(self.session.scalars(found))
        revealed = []
        for version, _ in shown:
            if not sealed_fields(version.sensitivity):
                revealed.append(Revealed(version))
            elif version.id not in wanted:
                revealed.append(Revealed(version, shredded=version.idea_id in shredded))
            elif version.id not in opened:  # its data key is deleted
                revealed.append(Revealed(version, shredded=True))
            else:
                text = {f: v.decode() for f, v in opened[version.id].items()}
                revealed.append(Revealed(version, text))
        return revealed

    def listed(self, principal: Principal, versions: list[IdeaVersion]) -> list[Shown]:
        """Versions as a list shows them to ``principal`` (search shows its hits so)."""
        granted = self._granted(principal, *(v.idea for v in versions))
        allowed = [self._list_actions(principal, v, granted) for v in versions]
        revealed = self._reveal_many(list(zip(versions, allowed, strict=True)))
        return [Shown(r, a) for r, a in zip(revealed, allowed, strict=True)]

    @staticmethod
    def _list_actions(principal: Principal, version: IdeaVersion, granted) -> frozenset[Action]:
        # A body that only a grant opens is read one idea at a time, on the record
        # (GET the idea): a list shows its abstract.
        idea, sensitivity = version.idea, version.sensitivity
        allowed = actions(principal, idea, sensitivity, granted)
        if recorded(principal, Action.READ_BODY, idea, sensitivity, granted):
            allowed -= {Action.READ_BODY}
        return allowed

    # -- the ownership rule ----------------------------------------------------

    def _provider_owner(
        self, principal: Principal, owner_id: uuid.UUID | None, group_id: uuid.UUID | None
    ) -> tuple[Organisation, None]:
        if group_id is not None:
            raise Invalid(
                "group",
                "Only forum ideas evolve in a group. A provider idea stays the provider's; "
                "share it with a group by a grant.",
            )
        providers = principal.provider_organisation_ids
        if not providers:
            raise APIError(
                403, "Only members of a provider organisation can register a provider idea."
            )
        if owner_id is None:
            if len(providers) > 1:
                raise Invalid("owner", "You belong to several providers: name the owner.")
            (owner_id,) = providers
        if owner_id not in providers:
            owner = self.session.get(Organisation, owner_id)
            if owner is None:
                raise Invalid("owner", "No such organisation.")
            if owner.kind is OrganisationKind.CCG:
                raise Invalid(
                    "owner",
                    "The CCG owns only ideas that evolved in a forum, cluster or the "
                    "Executive Group: submit it with origin 'forum'.",
                )
            raise Invalid("owner", f"You are not a member of {owner.name}.")
        return self.session.get(Organisation, owner_id), None

    def _forum_owner(
        self, principal: Principal, group_id: uuid.UUID | None
    ) -> tuple[Organisation, Group]:
        if group_id is None:
            raise Invalid("group", "A forum idea names the group it evolved in.")
        group = self.session.get(Group, group_id)
        if group is None:
            raise Invalid("group", "No such group.")
        if not principal.in_group(group.id):
            raise APIError(
                403,
                f"Only members of {group.name} can register ideas that evolved there.",
            )
        ccg = self.session.scalar(
            select(Organisation).where(Organisation.kind == OrganisationKind.CCG)
        )
        if ccg is None:
            raise APIError(409, "No CCG is registered to own forum ideas; ask an administrator.")
        # Whatever the request said: new IP evolved in a group belongs to the CCG.
        return ccg, group

    def _check_sources(
        self, principal: Principal, sources: list[uuid.UUID], idea_id: uuid.UUID | None
    ) -> None:
        if not sources:
            return
        if idea_id is not None and idea_id in sources:
            raise Invalid("derived_from", "An idea cannot derive from itself.")
        # An idea the submitter may not know exists is as unknown as a made-up id.
        found = set(
            self.session.scalars(
                select(Idea.id)
                .join(
                    IdeaVersion,
                    and_(IdeaVersion.idea_id == Idea.id, IdeaVersion.number == Idea.latest_version),
                )
                .where(Idea.id.in_(sources), visible(principal, IdeaVersion.sensitivity))
            )
        )
        missing = [str(s) for s in sources if s not in found]
        if missing:
            raise Invalid("derived_from", f"Unknown ideas: {', '.join(missing)}.")
        if idea_id is not None and idea_id in self._ancestors(sources):
            raise Invalid(
                "derived_from", "That would make a cycle: those ideas derive from this one."
            )

    def _ancestors(self, sources: list[uuid.UUID]) -> set[uuid.UUID]:
        """Every idea reachable from ``sources`` through any version's derivations."""
        seen: set[uuid.UUID] = set()
        frontier = set(sources)
        while frontier:
            seen |= frontier
            frontier = (
                set(
                    self.session.scalars(
                        select(Derivation.source_idea_id)
                        .join(IdeaVersion, IdeaVersion.id == Derivation.version_id)
                        .where(IdeaVersion.idea_id.in_(frontier))
                    )
                )
                - seen
            )
        return seen

    # -- helpers ---------------------------------------------------------------

    def _sensitivity(self, idea: Idea) -> Sensitivity:
        """The idea's sensitivity now: its latest version's."""
        return self.session.scalar(
            select(IdeaVersion.sensitivity).where(
                IdeaVersion.idea_id == idea.id, IdeaVersion.number == idea.latest_version
            )
        )

    def _idea(self, idea_id: uuid.UUID) -> Idea:
        idea = self.session.get(Idea, idea_id)
        if idea is None:
            raise NotFound("Idea")
        return idea

    def _idea_for_update(self, idea_id: uuid.UUID) -> Idea:
        # Serialises version numbering and withdrawal per idea on PostgreSQL. Only the
        # idea's row is locked: PostgreSQL refuses FOR UPDATE on the outer join that
        # eager-loads the (nullable) group.
        idea = self.session.scalar(select(Idea).where(Idea.id == idea_id).with_for_update(of=Idea))
        if idea is None:
            raise NotFound("Idea")
        return idea

    def _new_version(
        self,
        idea: Idea,
        number: int,
        principal: Principal,
        request: dict[str, Any],
        now: datetime,
    ) -> IdeaVersion:
        version = IdeaVersion(
            idea=idea,
            number=number,
            # A sealed field's column holds "": its content is in sealed_fields.
            **{
                f: "" if f in sealed_fields(request["sensitivity"]) else request[f]
                for f in ("title", "summary", "body")
            },
            sensitivity=request["sensitivity"],
            submitted_by_id=principal.person_id,
            submitted_at=now,
            tag_rows=[VersionTag(position=i, tag=t) for i, t in enumerate(request["tags"])],
            derivation_rows=[
                Derivation(position=i, source_idea_id=s)
                for i, s in enumerate(request["derived_from"])
            ],
        )
        self.session.add(version)
        self.session.flush()
        return version


def _to_open(version: IdeaVersion, allowed: frozenset[Action]) -> list[str]:
    """The sealed fields of ``version`` that a reader allowed ``allowed`` is shown."""
    shown = set()
    if Action.READ_ABSTRACT in allowed:
        shown |= {"title", "summary"}
    if Action.READ_BODY in allowed:
        shown.add("body")
    return [f for f in sealed_fields(version.sensitivity) if f in shown]
