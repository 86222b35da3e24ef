"""Grants: the owner's side shares an idea with an organisation, a group or a person."""
