"""Full-text search of the register that never shows what the searcher may not read.

See docs/search.md. The backend is chosen by the database (SQLite: FTS5; PostgreSQL:
tsvector), or by ``REGISTRY_SEARCH_BACKEND``.
"""

from __future__ import annotations

import importlib

from sqlalchemy.engine import make_url

# Each backend, and the database it lives in (None: one that works beside any database).
BACKENDS: dict[str, str | None] = {"sqlite": "sqlite", "postgresql": "postgresql", "whoosh": None}
# Backends that need an optional extra: the package each imports.
EXTRAS = {"whoosh": "whoosh"}

# The backends' own tables: no model's, created by migration 0007 on their database only
# (FTS5 adds its shadow tables). Alembic's comparison leaves them out (include_name).
INDEX_TABLES = {
    "sqlite": frozenset(
        {
            "search_fts",
            "search_fts_config",
            "search_fts_content",
            "search_fts_data",
            "search_fts_docsize",
            "search_fts_idx",
        }
    ),
    "postgresql": frozenset({"search_entries"}),
}


def backend_for(database_url: str, requested: str = "") -> str:
    """The search backend for this database: ``requested`` if given, else the database's
    own. Raises ``ValueError`` for an unknown backend, one that cannot live there, or one
    whose optional package is not installed."""
    database = make_url(database_url).get_backend_name()
    name = requested or database
    if name not in BACKENDS:
        raise ValueError(f"unknown search backend {name!r}: one of {', '.join(BACKENDS)}")
    if BACKENDS[name] not in (None, database):
        raise ValueError(f"the {name} search backend needs a {BACKENDS[name]} database")
    if name in EXTRAS:
        try:
            importlib.import_module(EXTRAS[name])
        except ImportError:
            raise ValueError(
                f"the {name} search backend needs the {EXTRAS[name]} package: "
                f"pip install 'registry[{name}]'"
            ) from None
    return name


def include_name(name: str | None, type_: str, _parent_names) -> bool:
    """For Alembic's comparison of models and database: every name but the index tables."""
    return not (type_ == "table" and any(name in tables for tables in INDEX_TABLES.values()))
