"""Submissions from several processes at once leave one log: no gaps, no duplicates.

Four processes (spawned, each with its own app on the same instance folder and database,
as gunicorn workers or separate hosts would be) each submit fifteen ideas and versions,
some deriving from and some adding versions to the same two ideas, all at once. The log
must come out with indexes 0..N-1, one checkpoint per size, every checkpoint signed and
consistent with the last, and `registry audit` must pass. On SQLite (a file of its own)
always; on PostgreSQL (a temporary database) when the suite runs on it.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

import registry
from registry import MIGRATIONS, demo
from registry.alliance.services import person_by_email
from registry.auth.principal import Principal
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence import merkle, note, publication
from registry.evidence.audit import audit
from registry.evidence.keys import register_keys
from registry.evidence.log import HEAD_ID, TransparencyLog
from registry.evidence.models import Checkpoint, LogHead, Statement
from registry.instance import create_keys
from registry.ip.models import Origin, Sensitivity
from registry.ip.services import IdeaRegister

ISSUER = "http://concurrency.registry.test"
PROCESSES = 4
SUBMISSIONS = 15
SUBMITTER = "pat@northside.example"
WAIT = 240  # seconds: generous for a loaded 2-core machine; a hang fails, it never passes


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the processes need real commits."""
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, make_empty_database) -> str:
    """A fresh database: a SQLite file, or a temporary PostgreSQL database."""
    return make_empty_database(request.param)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """What every process builds its app from: one instance folder, one database."""
    instance = tmp_path / "instance"
    create_keys(instance)
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "ISSUER": ISSUER,
        "DEMO": True,
        "OIDC_ISSUERS": [],
    }


@pytest.fixture
def app(config: dict[str, Any]) -> Iterator[Flask]:
    """The parent's app: migrated, keys registered, the alliance loaded."""
    app = registry.create_app(config)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        register_keys(db.session, Path(app.instance_path))
        demo.load_alliance()  # commits
    yield app
    with app.app_context():
        db.engine.dispose()  # before the database is dropped


def _submission(title: str, derived_from: list[str]) -> dict[str, Any]:
    return {
        "title": title,
        "summary": "Link frail patients to community groups.",
        "body": f"{title}: practices refer frail patients to a link worker.",
        "tags": ["frailty"],
        "sensitivity": "commercial",
        "derived_from": derived_from,
    }


def submit_in_a_process(
    config: dict[str, Any], worker: int, seeds: list[str], barrier, results
) -> None:
    """Run in a spawned process: build an app, wait for the others, submit, report."""
    try:
        app = registry.create_app(config)
        with app.app_context():
            person = person_by_email(SUBMITTER)
            token = person_token(app.extensions["registry.token_generator"], person)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        client = app.test_client()
        outcomes = []
        barrier.wait(timeout=WAIT)
        for n in range(SUBMISSIONS):
            title = f"Worker {worker} submission {n}"
            seed = seeds[(worker + n) % len(seeds)]
            if n % 3 == 0:  # a new version of an idea the others also version and cite
                response = client.post(
                    f"/api/v1/ideas/{seed}/versions",
                    json=_submission(title, []),
                    headers=headers,
                )
            else:  # a new idea, every other one deriving from an idea being versioned
                body = _submission(title, [seed] if n % 3 == 1 else [])
                response = client.post(
                    "/api/v1/ideas", json={**body, "origin": "provider"}, headers=headers
                )
            receipt = (response.json or {}).get("receipt", {})
            outcomes.append(
                (response.status_code, receipt.get("log", {}).get("index"), response.json)
            )
        with app.app_context():
            db.engine.dispose()
        results.put((worker, outcomes, None))
    except Exception:  # noqa: BLE001 - whatever it is, the parent fails the test with it
        results.put((worker, [], traceback.format_exc()))


def test_parallel_submissions_leave_a_log_without_gaps_or_duplicates(app, config):
    with app.app_context():
        register = IdeaRegister(db.session, app.extensions["registry.evidence"])
        pat = Principal.of(person_by_email(SUBMITTER))
        seeds = [
            str(
                register.submit(
                    pat,
                    {
                        **_submission(f"Seed {i}", []),
                        "origin": Origin.PROVIDER,
                        "owner": None,
                        "group": None,
                        "sensitivity": Sensitivity.COMMERCIAL,
                        "derived_from": [],
                    },
                ).version.idea_id
            )
            for i in range(2)
        ]

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=submit_in_a_process, args=(config, worker, seeds, barrier, results))
        for worker in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    reports = {}
    try:
        for _ in processes:
            worker, outcomes, error = results.get(timeout=WAIT)
            assert error is None, f"worker {worker} failed:\n{error}"
            reports[worker] = outcomes
    except queue.Empty:
        pytest.fail(f"only {len(reports)} of {PROCESSES} workers reported within {WAIT} s")
    finally:
        for process in processes:
            process.join(timeout=WAIT)
            if process.is_alive():
                process.kill()
                process.join()

    outcomes = [outcome for worker in sorted(reports) for outcome in reports[worker]]
    assert [status for status, _, _ in outcomes] == [201] * PROCESSES * SUBMISSIONS, outcomes
    size = len(seeds) + PROCESSES * SUBMISSIONS
    receipt_indexes = sorted(index for _, index, _ in outcomes)
    assert receipt_indexes == list(range(len(seeds), size))

    with app.app_context():
        session = db.session
        assert list(session.scalars(select(Statement.log_index).order_by(Statement.log_index))) == (
            list(range(size))
        )
        assert session.scalar(select(LogHead.size).where(LogHead.id == HEAD_ID)) == size
        checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)))
        assert [c.tree_size for c in checkpoints] == list(range(1, size + 1))

        evidence = app.extensions["registry.evidence"]
        vkey = publication.checkpoint_vkey(session, evidence.origin)
        log = TransparencyLog(session, evidence.origin)
        latest = checkpoints[-1]
        for checkpoint in checkpoints:
            signed = note.Checkpoint.parse(note.verify_note(checkpoint.note, vkey))
            assert (signed.size, signed.root_hash) == (checkpoint.tree_size, checkpoint.root_hash)
            merkle.verify_consistency(
                log.consistency(latest.tree_size, checkpoint.tree_size),
                latest.tree_size,
                latest.root_hash,
                checkpoint.tree_size,
                checkpoint.root_hash,
            )
        assert latest.root_hash == merkle.tree_hash(size, log.read_hashes)

        report = audit(session, evidence)
        assert report.ok, "\n".join(str(problem) for problem in report.problems)
        assert report.statements == size

        # Versions went to the two seeds from every worker: numbers 1..k, none lost.
        versions = {seed: 1 for seed in seeds}
        for worker in range(PROCESSES):
            for n in range(0, SUBMISSIONS, 3):
                versions[seeds[(worker + n) % len(seeds)]] += 1
        for seed, count in versions.items():
            numbers = session.scalars(
                select(Statement.version_number)
                .where(Statement.idea_id == uuid.UUID(seed))
                .order_by(Statement.log_index)
            )
            assert list(numbers) == list(range(1, count + 1))
