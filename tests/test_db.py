import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import UTCDateTime, db
from registry.ip.models import IdeaVersion

WRITERS = 8


def test_concurrent_writers_on_sqlite_all_succeed(make_isolated_app):
    """Each submission reads (auth, owner) before it writes; on SQLite a transaction
    that upgrades from reading to writing fails at once if another writer committed
    in between, so writing requests must take the write lock as they begin."""
    app = make_isolated_app()
    with app.app_context():
        person = person_by_email("pat@northside.example")
        token = person_token(app.extensions["registry.token_generator"], person)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(WRITERS)
    statuses: list[int] = []

    def submit(n: int) -> None:
        client = app.test_client()
        start.wait()
        for i in range(5):
            response = client.post(
                "/api/v1/ideas",
                headers=headers,
                json={
                    "title": f"Idea {n}-{i}",
                    "summary": "s",
                    "body": "b",
                    "sensitivity": "alliance",
                    "origin": "provider",
                },
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [201] * (WRITERS * 5)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdeaVersion)) == WRITERS * 5


def test_times_are_stored_and_read_back_as_utc(app_context):
    column = UTCDateTime()
    dialect = db.engine.dialect
    local = datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=1)))
    stored = column.process_bind_param(local, dialect)
    back = column.process_result_value(stored, dialect)
    assert back == local
    assert back.tzinfo == UTC


def test_naive_times_are_refused(app_context):
    with pytest.raises(ValueError, match="naive datetime refused"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), db.engine.dialect)  # noqa: DTZ001
