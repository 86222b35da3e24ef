"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from registry.access import public
from registry.db import db
from registry.errors import APIError

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@public
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("readiness check failed")
        db.session.rollback()
        raise APIError(503, "The database is not reachable.") from None
    return {"status": "ready"}
