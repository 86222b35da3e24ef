"""Recording evidence, and log proofs at a million entries, in-process.

``record``: statements recorded per second by the evidence layer's whole path
(``Evidence._record``: canonicalise, sign with Ed25519, time-stamp with the registry's
own TSA, append to the log with its stored hashes and a signed checkpoint), on a fresh
SQLite database, committed after each statement (``*-each``) and after every
``BATCH`` (``*-batch``). Set against ``raw-sign``: one Ed25519 signature plus one P-256
ECDSA signature, with the same keys in the same run, the least a statement costs in
cryptography. ``record / raw`` is the share of that limit the path keeps (aim 0.5).

``proofs``: a log of a million entries is built in memory (``merkle.MemoryHashStore``)
and its two million stored hashes bulk-inserted; then ``TransparencyLog.inclusion`` and
``.consistency``, which read their hashes from the database in one query, are timed for
random indexes and sizes (aim: median under 1 ms). The first proof of each kind is
verified against the tree's root, so the figures are of correct proofs.

Both parts run on SQLite and, reported separately, on PostgreSQL when a server answers
at ``REGISTRY_BENCH_DATABASE_URL`` (default: ``REGISTRY_TEST_DATABASE_URL``, else the
Makefile's ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), in a temporary
database dropped afterwards.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.load import LoadResult
from bench.report import Options, Outcome, ratio

NAME = "evidence"
DESCRIPTION = (
    "statements recorded/s (sign + time-stamp + log append) against one Ed25519 + one "
    "ECDSA P-256 signature; inclusion/consistency proofs at 1,000,000 entries"
)
AIM_RATIO = 0.5
AIM_PROOF_MS = 1.0
BATCH = 100
RECORD_SECONDS = 4.0  # per target, or --duration if shorter: the whole run stays near 1 min
RAW_SECONDS = 2.0
WARMUP_STATEMENTS = 20
LOG_ENTRIES = 1_000_000
PROOFS = 2000  # of each kind per database, after 100 unmeasured
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run(options: Options) -> Outcome:
    """Measure both parts on SQLite, then on PostgreSQL if it answers."""
    seconds = min(options.duration, RECORD_SECONDS)
    results: dict[str, LoadResult] = {}
    ratios: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as scratch:
        folder = Path(scratch)
        instance = folder / "instance"
        _create_keys(instance)
        databases = [("sq", f"sqlite:///{folder / 'record.db'}", f"sqlite:///{folder / 'log.db'}")]
        with _postgres_databases() as postgres:
            if postgres is None:
                print("  PostgreSQL: no server answers; SQLite only", flush=True)
            else:
                databases.append(("pg", *postgres))

            for prefix, record_url, _ in databases:
                with _app(instance, record_url) as app:
                    if "raw-sign" not in results:
                        results["raw-sign"] = _raw_signing(app, RAW_SECONDS)
                    print(f"  {prefix}: recording statements for {seconds:g} s twice", flush=True)
                    results[f"{prefix}-each"] = _recording(app, seconds, batch=1)
                    results[f"{prefix}-batch"] = _recording(app, seconds, batch=BATCH)
                raw = results["raw-sign"].rate
                ratios[f"{prefix} per-statement / raw sign"] = ratio(
                    results[f"{prefix}-each"].rate, raw
                )
                ratios[f"{prefix} batch of {BATCH} / raw sign"] = ratio(
                    results[f"{prefix}-batch"].rate, raw
                )

            print(f"  building a log of {LOG_ENTRIES:,} entries in memory", flush=True)
            started = time.perf_counter()
            hashes, root = _build_log(LOG_ENTRIES)
            print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
            for prefix, _, log_url in databases:
                with _app(instance, log_url) as app:
                    started = time.perf_counter()
                    _bulk_insert(app, hashes, LOG_ENTRIES)
                    print(
                        f"  {prefix}: {len(hashes):,} stored hashes inserted in "
                        f"{time.perf_counter() - started:.1f} s; timing proofs",
                        flush=True,
                    )
                    inclusion, consistency = _proofs(app, LOG_ENTRIES, root)
                results[f"{prefix}-incl"] = inclusion
                results[f"{prefix}-cons"] = consistency
                for kind, result in (("incl", inclusion), ("cons", consistency)):
                    ratios[f"{prefix}-{kind} median / {AIM_PROOF_MS:g} ms aim"] = ratio(
                        result.percentile_ms(50), AIM_PROOF_MS
                    )
    _explain(results)
    return Outcome(name=NAME, description=DESCRIPTION, results=results, ratios=ratios)


def _explain(results: dict[str, LoadResult]) -> None:
    raw = results["raw-sign"]
    print(
        f"\n  raw-sign: {raw.rate:,.0f} signature pairs/s (Ed25519 + ECDSA P-256), "
        f"{raw.percentile_ms(50) * 1000:.0f} us each: the limit for statements/s"
    )
    for target, result in results.items():
        if target.endswith(("-each", "-batch")):
            share = result.rate / raw.rate
            verdict = "meets" if share >= AIM_RATIO else "misses"
            print(
                f"  {target}: {result.rate:,.0f} statements/s = {share:.3f} of the raw limit "
                f"({verdict} the aim of {AIM_RATIO})"
            )
        elif target.endswith(("-incl", "-cons")):
            median, p95 = result.percentile_ms(50), result.percentile_ms(95)
            verdict = "meets" if median < AIM_PROOF_MS else "misses"
            print(
                f"  {target}: median {median:.3f} ms, p95 {p95:.3f} ms at {LOG_ENTRIES:,} "
                f"entries ({verdict} the aim of a median under {AIM_PROOF_MS:g} ms)"
            )
    print("  (in the table: req/s is statements, signature pairs or proofs per second)")


# --- Instances and databases ------------------------------------------------------


def _create_keys(instance: Path) -> None:
    from registry.instance import create_keys

    create_keys(instance)


@contextmanager
def _app(instance: Path, database_url: str) -> Iterator[Any]:
    """An app on ``database_url``, built by the migrations, its keys registered."""
    from flask_migrate import upgrade

    from registry import MIGRATIONS, create_app
    from registry.db import db
    from registry.evidence.keys import register_keys

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "ISSUER": "http://registry.bench",
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            register_keys(db.session, instance)
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def _postgres_databases() -> Iterator[tuple[str, str] | None]:
    """Two temporary PostgreSQL databases (recording, proofs), or None if none answers."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = (
        os.environ.get("REGISTRY_BENCH_DATABASE_URL")
        or os.environ.get("REGISTRY_TEST_DATABASE_URL")
        or DEFAULT_POSTGRES
    )
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
            names = [f"registry_bench_{kind}_{secrets.token_hex(4)}" for kind in ("rec", "log")]
            for name in names:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    try:
        yield tuple(
            make_url(server).set(database=name).render_as_string(hide_password=False)
            for name in names
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Recording ----------------------------------------------------------------------


def _statement(origin: str) -> dict[str, Any]:
    """A version statement like the service's, for content that is never stored."""
    from registry.evidence import statements as st

    content = {
        "title": "Frailty link workers",
        "summary": "Link workers for frail patients.",
        "body": "Each practice refers frail patients to a link worker who " * 20,
        "tags": ["frailty", "link workers"],
    }
    from registry.ip.models import Origin, Sensitivity

    idea = SimpleNamespace(
        id=uuid.uuid4(), owner_id=uuid.uuid4(), origin=Origin.PROVIDER, group_id=None
    )
    version = SimpleNamespace(
        number=1,
        sensitivity=Sensitivity.COMMERCIAL,
        submitted_by_id=uuid.uuid4(),
        submitted_at=datetime.now(UTC),
    )
    return st.idea_version_statement(
        origin,
        idea,
        version,
        previous=None,
        derived_from=[],
        committed=st.commitments(st.new_openings(), content),
    )


def _raw_signing(app, seconds: float) -> LoadResult:
    """One Ed25519 signature over a statement and one ECDSA P-256 over a digest, in a loop."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from registry.db import db
    from registry.evidence.jcs import canonicalize
    from registry.evidence.keys import STATEMENT

    evidence = app.extensions["registry.evidence"]
    with app.app_context():
        _, statement_key = evidence.keys.current(db.session, STATEMENT)
    tsa_key = evidence.tsa.private_key
    canonical = canonicalize(_statement(evidence.origin))
    # What the TSA signs: its signed attributes, about a hundred bytes.
    attributes = secrets.token_bytes(100)
    ecdsa = ec.ECDSA(hashes.SHA256())

    def sign() -> None:
        statement_key.sign(canonical)
        tsa_key.sign(attributes, ecdsa)

    return _timed(sign, seconds, warmup=50)


def _recording(app, seconds: float, batch: int) -> LoadResult:
    """``Evidence._record`` in a loop, committing every ``batch`` statements."""
    from registry.db import db, writing
    from registry.evidence import statements as st

    evidence = app.extensions["registry.evidence"]
    clock = time.perf_counter
    latencies: list[float] = []
    with app.app_context(), writing():
        session = db.session
        for _ in range(WARMUP_STATEMENTS):
            evidence._record(session, _statement(evidence.origin), st.IDEA_VERSION, None, None)
        session.commit()
        started = clock()
        while clock() - started < seconds:
            # Statements are made outside the clock: they are the service's input.
            made = [_statement(evidence.origin) for _ in range(batch)]
            before = clock()
            for statement in made:
                evidence._record(session, statement, st.IDEA_VERSION, None, None)
            session.commit()
            spent = clock() - before
            latencies.extend([spent / batch] * batch)
    return LoadResult(len(latencies), {}, sum(latencies), latencies)


def _timed(operation: Callable[[], object], seconds: float, warmup: int) -> LoadResult:
    clock = time.perf_counter
    for _ in range(warmup):
        operation()
    latencies: list[float] = []
    started = clock()
    while clock() - started < seconds:
        before = clock()
        operation()
        latencies.append(clock() - before)
    return LoadResult(len(latencies), {}, clock() - started, latencies)


# --- Proofs at a million entries ------------------------------------------------------


def _build_log(entries: int) -> tuple[list[bytes], bytes]:
    """Every stored hash of a log of ``entries`` records, in storage order, and its root."""
    from registry.evidence import merkle

    store = merkle.MemoryHashStore()
    for n in range(entries):
        store.append_record(n.to_bytes(8, "big"))
    hashes = store.read_hashes(range(merkle.stored_hash_count(entries)))
    return hashes, merkle.tree_hash(entries, store.read_hashes)


def _bulk_insert(app, hashes: list[bytes], entries: int) -> None:
    """Insert the stored hashes and set the head, below the ORM: COPY, or one executemany."""
    from registry.db import db

    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database)) as conn:
            with conn:  # one transaction
                conn.executemany(
                    "INSERT INTO log_hashes (idx, hash) VALUES (?, ?)", enumerate(hashes)
                )
                conn.execute("UPDATE log_head SET size = ?", (entries,))
            conn.execute("ANALYZE")
        return
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cursor:
            with cursor.copy("COPY log_hashes (idx, hash) FROM STDIN") as copy:
                for row in enumerate(hashes):
                    copy.write_row(row)
            cursor.execute("UPDATE log_head SET size = %s", (entries,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE log_hashes")


def _proofs(app, entries: int, root: bytes) -> tuple[LoadResult, LoadResult]:
    """Time inclusion and consistency proofs read from the database, for random arguments."""
    from registry.db import db
    from registry.evidence import merkle
    from registry.evidence.errors import VerificationError
    from registry.evidence.log import TransparencyLog

    evidence = app.extensions["registry.evidence"]
    chooser = random.Random(9162)
    with app.app_context():
        log = TransparencyLog(db.session, evidence.origin)
        # Checked once, so that what is timed are right proofs.
        index = chooser.randrange(entries)
        old = chooser.randrange(1, entries)
        try:
            merkle.verify_inclusion(
                log.inclusion(index, entries),
                entries,
                root,
                index,
                merkle.leaf_hash(index.to_bytes(8, "big")),
            )
            old_root = merkle.tree_hash(old, log.read_hashes)
            merkle.verify_consistency(log.consistency(entries, old), entries, root, old, old_root)
        except VerificationError as exc:
            raise RuntimeError(f"the stored log gives wrong proofs: {exc}") from exc

        def inclusion() -> None:
            log.inclusion(chooser.randrange(entries), entries)

        def consistency() -> None:
            log.consistency(entries, chooser.randrange(1, entries + 1))

        return _counted(inclusion, PROOFS), _counted(consistency, PROOFS)


def _counted(operation: Callable[[], object], count: int) -> LoadResult:
    clock = time.perf_counter
    for _ in range(100):
        operation()
    latencies = []
    for _ in range(count):
        before = clock()
        operation()
        latencies.append(clock() - before)
    return LoadResult(count, {}, sum(latencies), latencies)
