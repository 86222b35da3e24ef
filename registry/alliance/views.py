from __future__ import annotations

from flask_smorest import Blueprint

from registry.access import Permission, current_principal, requires
from registry.alliance import services
from registry.alliance.schemas import GroupSchema, MeSchema, OrganisationSchema

blp = Blueprint("alliance", __name__, url_prefix="/api/v1", description="The alliance")


@blp.route("/organisations", methods=["GET"])
@blp.response(200, OrganisationSchema(many=True))
@requires(Permission.DIRECTORY_READ)
def list_organisations():
    """The CCG and the provider organisations of the alliance."""
    return services.list_organisations()


@blp.route("/groups", methods=["GET"])
@blp.response(200, GroupSchema(many=True))
@requires(Permission.DIRECTORY_READ)
def list_groups():
    """The forums, clusters and the Executive Group, where CCG-owned ideas evolve."""
    return services.list_groups()


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
@requires(Permission.DIRECTORY_READ)
def me():
    """Who the access token speaks for, with their organisations, roles and groups."""
    return services.describe(current_principal())
