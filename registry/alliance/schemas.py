from __future__ import annotations

import marshmallow as ma


class OrganisationSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    name = ma.fields.String()
    ods_code = ma.fields.String(allow_none=True)


class GroupSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    slug = ma.fields.String()
    name = ma.fields.String()


class MembershipSchema(ma.Schema):
    organisation = ma.fields.UUID()
    organisation_name = ma.fields.String()
    role = ma.fields.String()


class MeSchema(ma.Schema):
    id = ma.fields.UUID()
    email = ma.fields.String(allow_none=True)
    display_name = ma.fields.String()
    client_id = ma.fields.String(allow_none=True)
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))
    groups = ma.fields.List(ma.fields.Nested(GroupSchema))
