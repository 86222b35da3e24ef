from __future__ import annotations

import uuid

from flask import current_app, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from registry.access import Permission, breaks_glass, current_principal, requires
from registry.db import db
from registry.ip.schemas import (
    IdeaCreateSchema,
    IdeaListQuerySchema,
    IdeaPageSchema,
    IdeaShownSchema,
    ReceiptSchema,
    SubmissionSchema,
    VersionCreateSchema,
    WithdrawSchema,
)
from registry.ip.services import IdeaRegister

blp = Blueprint("ideas", __name__, url_prefix="/api/v1/ideas", description="The ideas register")


def _register() -> IdeaRegister:
    return IdeaRegister(db.session, current_app.extensions["registry.evidence"])


def _created(submission):
    version = submission.version
    location = url_for("ideas.get_version", idea_id=version.idea_id, number=version.number)
    return submission, 201, {"Location": location}


@blp.route("", methods=["POST"])
@blp.arguments(IdeaCreateSchema)
@blp.response(201, SubmissionSchema)
@requires(Permission.IDEA_SUBMIT)
def submit(request):
    """Register an idea. The service decides its owner by the alliance's rule."""
    return _created(_register().submit(current_principal(), request))


@blp.route("", methods=["GET"])
@blp.arguments(IdeaListQuerySchema, location="query", unknown=RAISE)
@blp.response(200, IdeaPageSchema)
@requires(Permission.IDEA_LIST)
def list_ideas(query):
    """Ideas, newest first, as of their latest version."""
    return _register().list(current_principal(), query)


@blp.route("/<uuid:idea_id>", methods=["GET"])
@blp.response(200, IdeaShownSchema)
@requires(Permission.IDEA_READ)
@breaks_glass
def get_idea(idea_id: uuid.UUID):
    """An idea as of its latest version."""
    return _register().latest(current_principal(), idea_id)


@blp.route("/<uuid:idea_id>/versions", methods=["POST"])
@blp.arguments(VersionCreateSchema)
@blp.response(201, SubmissionSchema)
@requires(Permission.IDEA_ADD_VERSION)
def add_version(request, idea_id: uuid.UUID):
    """Store a new version. Origin, owner and group stay as they are."""
    return _created(_register().add_version(current_principal(), idea_id, request))


@blp.route("/<uuid:idea_id>/versions/<int:number>", methods=["GET"])
@blp.response(200, IdeaShownSchema)
@requires(Permission.IDEA_READ)
@breaks_glass
def get_version(idea_id: uuid.UUID, number: int):
    """One version of an idea, exactly as it was stored."""
    return _register().version(current_principal(), idea_id, number)


@blp.route("/<uuid:idea_id>/withdraw", methods=["POST"])
@blp.arguments(WithdrawSchema)
@blp.response(200, IdeaShownSchema)
@requires(Permission.IDEA_WITHDRAW)
def withdraw(request, idea_id: uuid.UUID):
    """Withdraw an idea. Nothing is erased: it stays in the register, marked withdrawn."""
    return _register().withdraw(current_principal(), idea_id, request["reason"])


@blp.route("/<uuid:idea_id>/shred", methods=["POST"])
@blp.response(200, IdeaShownSchema)
@requires(Permission.IDEA_SHRED)
def shred(idea_id: uuid.UUID):
    """Erase a withdrawn idea's sealed content for everyone (crypto-shredding).

    Its data keys are deleted; statements, receipts and the log still verify. 409 unless
    the idea is withdrawn.
    """
    return _register().shred(current_principal(), idea_id)


@blp.route("/<uuid:idea_id>/versions/<int:number>/receipt", methods=["GET"])
@blp.response(200, ReceiptSchema)
@requires(Permission.RECEIPT_READ)
def get_receipt(idea_id: uuid.UUID, number: int):
    """The receipt proving this version: statement, signature, timestamps, log inclusion.

    It verifies offline with the public keys alone (docs/receipts.md). Openings
    are included only for those who act as the idea's owner.
    """
    return _register().receipt(current_principal(), idea_id, number)
