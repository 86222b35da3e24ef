from __future__ import annotations

import uuid

from flask import Flask, current_app, request
from flask_smorest import Blueprint
from marshmallow import RAISE

from registry.access import AccessRefusedError, Permission, current_principal, requires
from registry.access.policy import Action
from registry.accesslog.models import AccessOutcome
from registry.accesslog.schemas import AccessLogPageSchema, AccessLogQuerySchema
from registry.accesslog.services import AccessLog
from registry.db import db
from registry.errors import error_response
from registry.ip.services import IdeaRegister

blp = Blueprint("accesslog", __name__, url_prefix="/api/v1/ideas", description="Who read an idea")


@blp.route("/<uuid:idea_id>/access-log", methods=["GET"])
@blp.arguments(AccessLogQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AccessLogPageSchema)
@requires(Permission.ACCESS_LOG_READ)
def access_log(query, idea_id: uuid.UUID):
    """Who read what only a grant or break-glass opens of this idea (with an
    administrator's reason for breaking glass), and who was refused it, newest first:
    for the owner's side."""
    session = db.session
    register = IdeaRegister(session, current_app.extensions["registry.evidence"])
    idea = register.require(current_principal(), Action.READ_ACCESS_LOG, idea_id)
    return AccessLog(session).page(idea.id, query["page"], query["per_page"])


def _record_refusal(error: AccessRefusedError):
    # Whatever the refused request did is undone; its refusal is recorded on its own.
    db.session.rollback()
    version = (request.view_args or {}).get("number")
    AccessLog(db.session).record(
        current_principal(), error.idea_id, version, [], AccessOutcome.REFUSED
    )
    return error_response(error)


def init_app(app: Flask) -> None:
    """Record every refusal of an idea (registry.access.AccessRefusedError) before answering it."""
    app.register_error_handler(AccessRefusedError, _record_refusal)
