"""Readers whose reads are recorded, writers and refusals, all at once, on one database:
nobody gets 'database is locked', and the chain comes out whole.

A GET's transaction begins as a reader (registry/db.py); on SQLite it could not turn
into a writer once another connection had written. The access log writes in its own
transaction instead, which queues for the write lock like any writer.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from registry.accesslog.models import AccessLogEntry
from registry.accesslog.services import check_chain
from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from tests.grants.conftest import PAT, QUINN, Shared

READERS = 4
READS = 10
WAIT = 240  # seconds: a hang fails, it never passes


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the threads need real commits."""
    return None


def test_recorded_reads_writes_and_refusals_at_once(shared: Shared):
    app = shared.instance.app
    tokens = {}
    with app.app_context():
        for email in (PAT, QUINN):
            token = person_token(app.extensions["registry.token_generator"], person_by_email(email))
            tokens[email] = {"Authorization": f"Bearer {token['access_token']}"}
        before = db.session.scalar(select(func.count()).select_from(AccessLogEntry))
    start = threading.Barrier(READERS + 1, timeout=WAIT)
    idea = f"/api/v1/ideas/{shared.idea}"

    def read(_: int) -> list[int]:
        client = app.test_client()
        start.wait()
        return [client.get(idea, headers=tokens[QUINN]).status_code for _ in range(READS)]

    def write() -> list[int]:
        client = app.test_client()
        version = {"title": "t", "summary": "s", "body": "b", "sensitivity": "commercial"}
        start.wait()
        return [
            client.post(f"{idea}/versions", json=version, headers=tokens[PAT]).status_code
            for _ in range(READS // 2)
        ]

    with ThreadPoolExecutor(READERS + 1) as pool:
        readers = [pool.submit(read, n) for n in range(READERS)]
        writer = pool.submit(write)
        statuses = [s for reader in readers for s in reader.result(timeout=WAIT)]
        written = writer.result(timeout=WAIT)

    assert statuses == [200] * READERS * READS
    assert written == [201] * (READS // 2)
    with app.app_context():
        count, problems = check_chain(db.session)
    assert problems == []
    assert count == before + READERS * READS
