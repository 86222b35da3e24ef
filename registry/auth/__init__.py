"""Authentication: the registry's own OAuth 2.0 server and the tokens it accepts."""
