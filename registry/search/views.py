from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import RAISE

from registry.access import Permission, current_principal, requires
from registry.db import db
from registry.ip.services import IdeaRegister
from registry.search.schemas import SearchPageSchema, SearchQuerySchema
from registry.search.service import Search

blp = Blueprint(
    "search", __name__, url_prefix="/api/v1/search", description="Full-text search of ideas"
)


@blp.route("", methods=["GET"])
@blp.arguments(SearchQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SearchPageSchema)
# Search lists ideas: anyone may ask, and finds what the access policy lets them read.
@requires(Permission.IDEA_LIST)
def search(query):
    """Ideas matching words, phrases and filters, among those the caller may read.

    Hits, the total, facets, snippets and the suggestion are all computed under the
    caller's access filter (docs/search.md). Without a token: public ideas only.
    """
    session = db.session
    register = IdeaRegister(session, current_app.extensions["registry.evidence"])
    search = Search(session, current_app.extensions["registry.search"], register)
    return search.find(current_principal(), query)
