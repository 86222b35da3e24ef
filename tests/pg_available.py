"""Exit 0 if a PostgreSQL server answers at the URL given, 1 otherwise (used by `make test`)."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy.engine import make_url


def conninfo(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def available(url: str) -> bool:
    try:
        with psycopg.connect(conninfo(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


if __name__ == "__main__":
    sys.exit(0 if available(sys.argv[1]) else 1)
