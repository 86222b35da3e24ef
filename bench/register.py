"""A register of many generated ideas (bench/ideas.py), built fast, indexed as the
application indexes, and cached between runs.

Building through ``POST /api/v1/ideas`` would sign, time-stamp and log each idea: hours
at 100,000 ideas, for rows a search never reads. So the rows a search reads are
inserted in bulk, below the service, as the service would have stored them:

- ``ideas``, ``idea_versions`` and ``version_tags``, one version an idea, with the
  idea's owner, group, origin, state and times; a sealed field's column holds ``""``
  as the service stores it;
- each commercial or confidential version's sealed fields under a fresh data key,
  wrapped by the instance's KEK (``data_keys``, ``sealed_fields``) with
  ``registry.sealing.crypto``, as ``Sealing.seal`` does; a sample is opened back with
  the real ``Sealing`` before the register is used;

and then the search index is built by the search package's own reindex, which
decrypts the sealed fields and computes their blind terms like a submission does, and
checked by ``registry search check`` (the index agrees with the database).
Skipped, because search never reads them: statements, signatures, time-stamps, log
entries and checkpoints, and the openings (salts) of each version.

The instance folder (keys, and the SQLite database) is cached under
``REGISTRY_BENCH_CACHE`` (default ``~/.cache/registry-bench``), in a folder named by
the backend, the generator's parameters and a digest of everything that decides its
content (the migrations, the search index and sealing code, the generator and this
file), so a change to any of them builds anew. On PostgreSQL (when
``REGISTRY_BENCH_DATABASE_URL`` names a server) the database is kept on the server,
named by the same digest, and each run works on a copy made with ``CREATE DATABASE
... TEMPLATE``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench import ideas as generator
from bench import server

ROOT = server.ROOT
BATCH = 2000
SAMPLE = 50  # sealed versions opened back after the load
REINDEX_TIMEOUT = 3600.0
IDEA_NAMESPACE = uuid.UUID("0b7c7f52-6a5e-4d0e-9b7e-1f3a2c4d5e60")
# What decides a register's content; a change to any of these builds it anew.
# The search service, views and commands are left out: they store nothing.
SOURCES = (
    "migrations/versions",
    "registry/search/indexer.py",
    "registry/search/interface.py",
    "registry/search/models.py",
    "registry/search/postgres.py",
    "registry/search/sqlite.py",
    "registry/search/terms.py",
    "registry/sealing/crypto.py",
    "registry/ip/models.py",
    "bench/ideas.py",
    "bench/register.py",
)


@dataclass(frozen=True)
class Register:
    """A built register: its cached instance folder (keys; the SQLite database), or
    with ``database`` a PostgreSQL database on ``server`` kept as a template."""

    path: Path
    count: int
    seed: int
    meta: dict[str, Any]
    server: str | None = None  # a PostgreSQL server's URL, None for SQLite
    database: str | None = None  # the template database on that server

    @property
    def backend(self) -> str:
        return "sqlite" if self.server is None else "postgresql"


@dataclass(frozen=True)
class Copy:
    """A scratch copy of a register for one run: an instance folder and its database."""

    instance: Path
    database_url: str

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def environment(self, port: int) -> dict[str, str]:
        """The environment of `registry` commands and gunicorn serving this copy."""
        env = server.instance_environment(self.instance, port)
        env["REGISTRY_DATABASE_URL"] = self.database_url
        return env

    def app(self):
        """An app on this copy, as the bench's in-process parts use it."""
        return _make_app(self.instance, self.database_url)


def cache_root() -> Path:
    return Path(os.environ.get("REGISTRY_BENCH_CACHE") or Path.home() / ".cache/registry-bench")


def postgres_server() -> str | None:
    """The PostgreSQL server the search benchmark runs on, if ``REGISTRY_BENCH_DATABASE_URL``
    names one; else None, and it runs on SQLite."""
    url = os.environ.get("REGISTRY_BENCH_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


def digest() -> str:
    """A digest of every source file that decides what a register holds."""
    sha = hashlib.sha256()
    for name in SOURCES:
        path = ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            sha.update(str(file.relative_to(ROOT)).encode() + b"\0")
            sha.update(file.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def cached(count: int, seed: int = generator.DEFAULT_SEED, postgres: str | None = None) -> Register:
    """The register of ``count`` ideas, from the cache or built now (and cached); on the
    PostgreSQL server ``postgres`` if given, else on SQLite.

    Raises RuntimeError if it cannot be built.
    """
    root = cache_root()
    backend = "sqlite" if postgres is None else "postgresql"
    prefix = f"{backend}-{count}-{seed}-"
    made_from = digest()
    target = root / f"{prefix}{made_from}"
    database = f"registry_bench_{count}_{seed}_{made_from}" if postgres else None
    if (target / "meta.json").exists() and (postgres is None or _exists(postgres, database)):
        print(f"  register of {count:,} ideas: cached in {target}", flush=True)
        meta = json.loads((target / "meta.json").read_text())
        return Register(target, count, seed, meta, postgres, database)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.rmtree(target, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=root))
    try:
        print(f"  building a register of {count:,} ideas in {building}", flush=True)
        if postgres:
            _drop(postgres, database)
            _create(postgres, database)
            url = _database_url(postgres, database)
        else:
            url = f"sqlite:///{building / 'registry.db'}"
        meta = build(building, url, count, seed)
        meta.update(digest=made_from, database=database)
        if digest() != made_from:
            print(
                "  WARNING: the code that decides the register changed while it was built; "
                "it is used for this run, and the next run builds it again",
                flush=True,
            )
        (building / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        building.rename(target)
    except BaseException:
        if postgres:
            _drop(postgres, database)
        raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    for stale in root.glob(f"{prefix}*"):
        # Registers built from older code are never used again: 100,000 ideas is ~0.5 GB.
        if stale != target and not stale.name.startswith("."):
            old = json.loads((stale / "meta.json").read_text()) if postgres else {}
            if old.get("database"):
                _drop(postgres, old["database"])
            shutil.rmtree(stale, ignore_errors=True)
    return Register(target, count, seed, meta, postgres, database)


@contextmanager
def copied(register: Register) -> Iterator[Copy]:
    """A scratch copy of the register, removed afterwards: benchmarks write to it (new
    submissions, a reindex), and the cache stays as built. On PostgreSQL, a database
    created from the register's as a template."""
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as scratch:
        instance = Path(scratch) / "instance"
        shutil.copytree(register.path, instance, ignore=shutil.ignore_patterns("meta.json"))
        if register.server is None:
            yield Copy(instance, f"sqlite:///{instance / 'registry.db'}")
            return
        name = f"registry_bench_run_{secrets.token_hex(4)}"
        _create(register.server, name, template=register.database)
        try:
            yield Copy(instance, _database_url(register.server, name))
        finally:
            _drop(register.server, name)


def database_bytes(database_url: str) -> int:
    """The size of the database: its file, or what PostgreSQL reports."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return Path(url.database).stat().st_size
    with psycopg.connect(_conninfo(database_url)) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


# --- PostgreSQL databases ------------------------------------------------------------


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _exists(server_url: str, name: str) -> bool:
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def _create(server_url: str, name: str, template: str | None = None) -> None:
    # Names are made here from digits, hex and underscores: nothing to quote but quotes.
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')


def _drop(server_url: str, name: str) -> None:
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Building -------------------------------------------------------------------------


def build(instance: Path, database_url: str, count: int, seed: int) -> dict[str, Any]:
    """Build the register in ``instance`` on ``database_url``: init and demo by the
    `registry` command, bulk rows, sealed fields, then the search index by
    ``registry search reindex``, checked by ``registry search check``."""
    env = Copy(instance, database_url).environment(server.free_port())
    started = time.perf_counter()
    server.prepare_instance(env)
    with _app(instance, database_url) as app:
        _bench_people(app)
        inserted = time.perf_counter()
        _insert(app, count, seed)
        inserted = time.perf_counter() - inserted
        _check_sealed(app, seed, count)
    print(f"  {count:,} ideas inserted in {inserted:.1f} s; indexing", flush=True)
    indexed = time.perf_counter()
    server.registry(env, "search", "reindex", timeout=REINDEX_TIMEOUT)
    indexed = time.perf_counter() - indexed
    print(f"  indexed in {indexed:.1f} s; checking the index", flush=True)
    # The search package's own check: the index holds exactly what the database says it
    # should, as if every idea had been submitted through the service.
    server.registry(env, "search", "check", timeout=REINDEX_TIMEOUT)
    _settle(database_url)
    return {
        "count": count,
        "seed": seed,
        "backend": make_url(database_url).get_backend_name(),
        "insert_seconds": round(inserted, 2),
        "index_seconds": round(indexed, 2),
        "build_seconds": round(time.perf_counter() - started, 2),
        "database_bytes": database_bytes(database_url),
    }


def _make_app(instance: Path, database_url: str):
    from registry import create_app

    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "ISSUER": "http://registry.bench",
            "DEMO": True,
            "LOG_LEVEL": "WARNING",
        }
    )


@contextmanager
def _app(instance: Path, database_url: str) -> Iterator[Any]:
    from registry.db import db

    app = _make_app(instance, database_url)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _bench_people(app) -> None:
    """Add the bench's people, members of their providers and groups."""
    from sqlalchemy import select

    from registry.alliance.models import Organisation, Role
    from registry.alliance.services import (
        ensure_group_membership,
        ensure_membership,
        group_by_slug,
        provision_person,
    )
    from registry.db import db, writing

    with app.app_context(), writing():
        organisations = {o.name: o for o in db.session.scalars(select(Organisation))}
        for email, name, provider, slugs in generator.BENCH_PEOPLE:
            person = provision_person(email, name)
            ensure_membership(person, organisations[provider], Role.MEMBER)
            for slug in slugs:
                ensure_group_membership(person, group_by_slug(slug))
        db.session.commit()


@dataclass(frozen=True)
class Directory:
    """What generated ideas name, as ids in a register: people, organisations, groups."""

    people: dict[str, uuid.UUID]
    organisations: dict[str, uuid.UUID]
    groups: dict[str, uuid.UUID]

    @classmethod
    def read(cls, session) -> Directory:
        from sqlalchemy import select

        from registry.alliance.models import Group, Organisation, Person

        return cls(
            {p.email: p.id for p in session.scalars(select(Person))},
            {o.name: o.id for o in session.scalars(select(Organisation))},
            {g.slug: g.id for g in session.scalars(select(Group))},
        )


def rows(
    made: generator.GeneratedIdea, seed: int, version_id: int, directory: Directory, kek
) -> dict[Any, list[dict[str, Any]]]:
    """The rows the service stores for a generated idea's first version, by model
    (evidence left out): the idea, its version, tags, and its sealed fields under a
    fresh data key wrapped by ``kek`` (kid, key), as ``Sealing.seal`` seals them."""
    from registry.ip.models import Idea, IdeaState, IdeaVersion, Origin, Sensitivity, VersionTag
    from registry.sealing import crypto
    from registry.sealing.models import DataKey, SealedField
    from registry.sealing.service import sealed_fields

    idea_id = idea_uuid(seed, made.number)
    sensitivity = Sensitivity(made.sensitivity)
    sealed = sealed_fields(sensitivity)
    submitter = directory.people[made.submitter]
    content = {"title": made.title, "summary": made.summary, "body": made.body}
    made_rows: dict[Any, list[dict[str, Any]]] = {
        Idea: [
            {
                "id": idea_id,
                "origin": Origin(made.origin),
                "owner_id": directory.organisations[made.owner],
                "group_id": directory.groups[made.group] if made.group else None,
                "state": IdeaState.WITHDRAWN if made.withdrawn else IdeaState.ACTIVE,
                "latest_version": 1,
                "created_at": made.submitted_at,
                "updated_at": made.submitted_at,
                "withdrawn_at": made.submitted_at if made.withdrawn else None,
                "withdrawn_by_id": submitter if made.withdrawn else None,
                "withdrawal_reason": "Superseded." if made.withdrawn else None,
            }
        ],
        IdeaVersion: [
            {
                "id": version_id,
                "idea_id": idea_id,
                "number": 1,
                # As the service stores them: a sealed field's column holds "".
                **{f: "" if f in sealed else v for f, v in content.items()},
                "sensitivity": sensitivity,
                "submitted_by_id": submitter,
                "submitted_at": made.submitted_at,
            }
        ],
        VersionTag: [
            {"version_id": version_id, "position": i, "tag": tag} for i, tag in enumerate(made.tags)
        ],
        DataKey: [],
        SealedField: [],
    }
    if sealed:
        kek_id, key = kek
        data_key = crypto.new_key()
        made_rows[DataKey].append(
            {
                "version_id": version_id,
                "kek_id": kek_id,
                "wrapped": crypto.wrap(key, kek_id, version_id, data_key),
            }
        )
        for field in sealed:
            box = crypto.seal(
                data_key, content[field].encode(), crypto.field_aad(idea_id, 1, field)
            )
            made_rows[SealedField].append(
                {
                    "version_id": version_id,
                    "field": field,
                    "nonce": box.nonce,
                    "ciphertext": box.ciphertext,
                }
            )
    return made_rows


def insert(session, made_rows: dict[Any, list[dict[str, Any]]]) -> None:
    """Insert rows made by :func:`rows` (one or many ideas' merged), parents first."""
    from sqlalchemy import insert as insert_into

    for model, values in made_rows.items():
        if values:
            session.execute(insert_into(model), values)


def next_version_id(session) -> int:
    from sqlalchemy import func, select

    from registry.ip.models import IdeaVersion

    return (session.scalar(select(func.max(IdeaVersion.id))) or 0) + 1


def _insert(app, count: int, seed: int) -> None:
    """Insert the ideas, their versions, tags and sealed fields, ``BATCH`` at a time."""
    from sqlalchemy import text

    from registry.db import db, writing

    kek = app.extensions["registry.evidence"].keks.current()
    with app.app_context(), writing():
        session = db.session
        directory = Directory.read(session)
        first = next_version_id(session)
        for start in range(0, count, BATCH):
            batch: dict[Any, list[dict[str, Any]]] = {}
            for made in generator.ideas(min(start + BATCH, count), seed, start):
                for model, values in rows(made, seed, first + made.number, directory, kek).items():
                    batch.setdefault(model, []).extend(values)
            insert(session, batch)
            session.commit()
            done = min(start + BATCH, count)
            if done % (BATCH * 10) == 0 or done == count:
                print(f"    {done:,} ideas inserted", flush=True)
        if session.get_bind().dialect.name == "postgresql":
            # Rows inserted with their ids leave the id sequence behind: move it on, so
            # that the service's own next version gets a fresh id as it would.
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('idea_versions', 'id'), "
                    "(SELECT max(id) FROM idea_versions))"
                )
            )
            session.commit()


def idea_uuid(seed: int, number: int) -> uuid.UUID:
    """The id of generated idea ``number``: the same in every register of that seed."""
    return uuid.uuid5(IDEA_NAMESPACE, f"{seed}:{number}")


def _check_sealed(app, seed: int, count: int) -> None:
    """Open a sample of sealed versions with the application's ``Sealing``: the load
    sealed them as a submission would, or the register is not used."""
    from sqlalchemy import select

    from registry.db import db
    from registry.ip.models import IdeaVersion, Sensitivity
    from registry.sealing.service import sealed_fields

    sealing = app.extensions["registry.evidence"].sealing
    checked = 0
    with app.app_context():
        for number in range(0, count, max(1, count // (SAMPLE * 4))):
            made = generator.idea(number, count, seed)
            fields = sealed_fields(Sensitivity(made.sensitivity))
            if not fields:
                continue
            version = db.session.scalar(
                select(IdeaVersion).where(IdeaVersion.idea_id == idea_uuid(seed, number))
            )
            opened = sealing.open(db.session, version.id, version.idea_id, 1, fields)
            expected = {f: getattr(made, f).encode() for f in fields}
            if opened != expected:
                raise RuntimeError(f"generated idea {number} does not open to its text")
            checked += 1
            if checked >= SAMPLE:
                break
    if not checked:
        raise RuntimeError("no sealed version to check: the generator made none")


def _settle(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # One file to copy. No ANALYZE: SQLite is measured as the service leaves it.
        with closing(sqlite3.connect(url.database)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    # What autovacuum does after a bulk load, done now rather than at some moment of
    # the measurement: planner statistics and the visibility map.
    with psycopg.connect(_conninfo(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
