"""Configuration: defaults overridden by ``REGISTRY_*`` environment variables.

Read once, in :func:`load`, by the app factory; never at import time. Every value
is validated here so that a mistake stops the start instead of surfacing as a
500 on the first request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PREFIX = "REGISTRY_"
# The most MAX_ATTACHMENT_BYTES may be: an attachment is held in memory (more than once:
# the request, its ciphertext) and stored in a single row.
ATTACHMENT_BYTES_CEILING = 100 * 1_048_576


class ConfigError(RuntimeError):
    """A configuration value is missing or invalid; the service must not start."""


DEFAULTS: dict[str, Any] = {
    # Where the database, keys and indexes live. Relative paths are resolved
    # against the working directory.
    "INSTANCE_PATH": "instance",
    # Empty means SQLite in the instance folder.
    "DATABASE_URL": "",
    # The name the registry signs with: the ``iss`` of its tokens.
    "ISSUER": "http://127.0.0.1:5000",
    # The ``aud`` every access token must carry.
    "AUDIENCE": "urn:alliance-registry:api",
    # Lifetime of access tokens this registry issues, in seconds.
    "ACCESS_TOKEN_TTL": 900,
    # Accepted clock skew when checking exp/nbf/iat, in seconds.
    "TOKEN_LEEWAY": 30,
    # Demo mode allows `registry token EMAIL` and loads demo data.
    "DEMO": False,
    # The name of this registry in statements and on the log's checkpoints
    # (C2SP origin line). Empty: the issuer's host followed by /alliance-registry.
    "ORIGIN": "",
    # External RFC 3161 Time-Stamp Authorities whose tokens are added beside ours.
    "EXTERNAL_TSAS": [],
    # External OpenID Connect issuers, a JSON list (see docs/authentication.md).
    "OIDC_ISSUERS": [],
    # The search backend: empty means the database's own (sqlite: FTS5, postgresql:
    # tsvector); see registry/search/__init__.py for the others.
    "SEARCH_BACKEND": "",
    # Largest accepted request body, in bytes. An attachment's upload has a limit of its
    # own, derived from MAX_ATTACHMENT_BYTES.
    "MAX_CONTENT_LENGTH": 1_048_576,
    # Largest attachment, in bytes. Held in memory while it is checked and sealed, and
    # stored in one database row.
    "MAX_ATTACHMENT_BYTES": 10 * 1_048_576,
    "LOG_LEVEL": "INFO",
}


def _as_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{PREFIX}{name} must be a boolean (1/0, true/false), not {raw!r}")


def _as_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be an integer, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{PREFIX}{name} must be positive")
    return value


def _as_json_list(name: str, raw: str) -> list[Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{PREFIX}{name} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise ConfigError(f"{PREFIX}{name} must be a JSON list")
    return value


def load(overrides: dict[str, Any] | None = None, environ=os.environ) -> dict[str, Any]:
    """Return the validated configuration.

    Order of precedence: ``overrides`` (used by tests and the CLI), then the
    environment, then :data:`DEFAULTS`. Raises :class:`ConfigError` on any
    invalid value.
    """
    config = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = environ.get(PREFIX + name)
        if raw is None:
            continue
        if isinstance(default, bool):
            config[name] = _as_bool(name, raw)
        elif isinstance(default, int):
            config[name] = _as_int(name, raw)
        elif isinstance(default, list):
            config[name] = _as_json_list(name, raw)
        else:
            config[name] = raw
    config.update(overrides or {})

    instance = Path(config["INSTANCE_PATH"]).expanduser().resolve()
    config["INSTANCE_PATH"] = str(instance)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance / 'registry.db'}"
    if config["DATABASE_URL"].startswith("postgresql://"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        config["DATABASE_URL"] = "postgresql+psycopg://" + config["DATABASE_URL"][13:]
    if not config["DATABASE_URL"].startswith(("sqlite:", "postgresql+psycopg:")):
        raise ConfigError(f"{PREFIX}DATABASE_URL must be a sqlite: or postgresql: URL")

    attachment_bytes = config["MAX_ATTACHMENT_BYTES"]
    if (
        not isinstance(attachment_bytes, int)
        or isinstance(attachment_bytes, bool)
        or not 1 <= attachment_bytes <= ATTACHMENT_BYTES_CEILING
    ):
        raise ConfigError(
            f"{PREFIX}MAX_ATTACHMENT_BYTES must be an integer from 1 to "
            f"{ATTACHMENT_BYTES_CEILING} (100 MiB), not {attachment_bytes!r}"
        )

    from registry.search import backend_for  # local, as below

    try:
        config["SEARCH_BACKEND"] = backend_for(config["DATABASE_URL"], config["SEARCH_BACKEND"])
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}SEARCH_BACKEND: {exc}") from None

    if not config["ORIGIN"]:
        host = urlsplit(config["ISSUER"]).netloc or "localhost"
        config["ORIGIN"] = f"{host}/alliance-registry"
    if not all(
        isinstance(url, str) and url.startswith(("https://", "http://"))
        for url in config["EXTERNAL_TSAS"]
    ):
        raise ConfigError(f"{PREFIX}EXTERNAL_TSAS must be a JSON list of http(s) URLs")

    from registry.auth.oidc import parse_issuers  # local: keeps config free of auth at import

    config["OIDC_ISSUERS"] = parse_issuers(config["OIDC_ISSUERS"])
    return config
