from __future__ import annotations

import uuid

from flask import current_app
from flask_smorest import Blueprint

from registry.access import Permission, current_principal, requires
from registry.db import db
from registry.grants.schemas import GrantCreateSchema, GrantSchema, SharedSchema
from registry.grants.services import GrantRegister
from registry.ip.schemas import ReceiptSchema

blp = Blueprint(
    "grants", __name__, url_prefix="/api/v1/ideas", description="Sharing an idea by grants"
)


def _register() -> GrantRegister:
    return GrantRegister(db.session, current_app.extensions["registry.evidence"])


@blp.route("/<uuid:idea_id>/grants", methods=["POST"])
@blp.arguments(GrantCreateSchema)
@blp.response(201, SharedSchema)
@requires(Permission.IDEA_GRANT)
def grant(request, idea_id: uuid.UUID):
    """Share an idea with one organisation, group or person, optionally until a time.

    Grantees read the abstract and body (never the openings); each read of a body is
    recorded in the idea's access log. The grant is a signed, logged statement: the
    response carries its receipt.
    """
    return _register().grant(current_principal(), idea_id, request)


@blp.route("/<uuid:idea_id>/grants", methods=["GET"])
@blp.response(200, GrantSchema(many=True))
@requires(Permission.IDEA_GRANT)
def list_grants(idea_id: uuid.UUID):
    """An idea's grants, oldest first, each active, revoked or expired: owner's side only."""
    return _register().list(current_principal(), idea_id)


@blp.route("/<uuid:idea_id>/grants/<uuid:grant_id>", methods=["DELETE"])
@blp.response(204)
@requires(Permission.IDEA_GRANT)
def revoke(idea_id: uuid.UUID, grant_id: uuid.UUID):
    """Revoke a grant. It stops opening the idea at once, also for tokens already issued."""
    _register().revoke(current_principal(), idea_id, grant_id)


@blp.route("/<uuid:idea_id>/grants/<uuid:grant_id>/receipt", methods=["GET"])
@blp.response(200, ReceiptSchema)
@requires(Permission.IDEA_GRANT)
def get_receipt(idea_id: uuid.UUID, grant_id: uuid.UUID):
    """The receipt proving the grant: that, and when, the idea was shared, and with whom."""
    return _register().receipt(current_principal(), idea_id, grant_id)
