"""The bare baseline: Flask and one SQLAlchemy Core transaction, nothing else.

It stores the rows ``POST /api/v1/ideas`` stores for a provider idea (an ``ideas`` row,
its first ``idea_versions`` row and its ``version_tags``) with the same columns and
values, in a database built by the same migrations. There is no authentication, no
schema, no ownership rule and no ORM unit of work: what the registry costs beyond this
is what its layers cost.

Serve it with ``gunicorn 'bench.baseline_app:create_app()'`` and the environment of an
instance folder prepared by ``registry init`` and ``registry demo``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import Engine, create_engine, select, text

from registry import config as configuration

# Importing the models also imports registry.db, whose engine listeners apply the same
# SQLite pragmas (WAL, foreign keys, busy timeout) and BEGIN handling as the registry.
from registry.alliance.models import Organisation, Person
from registry.ip.models import Idea, IdeaState, IdeaVersion, Origin, Sensitivity, VersionTag

SUBMITTER = "pat@northside.example"
OWNER = "Northside GP Federation"

ideas = Idea.__table__
idea_versions = IdeaVersion.__table__
version_tags = VersionTag.__table__


def create_app() -> Flask:
    """The baseline app, on the database of ``REGISTRY_INSTANCE_PATH``.

    Raises RuntimeError if the demo submitter or their organisation is missing.
    """
    settings = configuration.load()
    # Same pool settings as the registry, so each request pays the same pre-ping.
    engine = create_engine(settings["DATABASE_URL"], pool_pre_ping=True)
    submitter_id, owner_id = _demo_ids(engine)

    app = Flask(__name__)

    @app.post("/api/v1/ideas")
    def submit():
        payload = request.get_json()
        now = datetime.now(UTC)
        idea_id = uuid.uuid4()
        with engine.begin() as connection:
            connection.execute(
                ideas.insert().values(
                    id=idea_id,
                    origin=Origin.PROVIDER,
                    owner_id=owner_id,
                    group_id=None,
                    state=IdeaState.ACTIVE,
                    latest_version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            inserted = connection.execute(
                idea_versions.insert().values(
                    idea_id=idea_id,
                    number=1,
                    title=payload["title"],
                    summary=payload["summary"],
                    body=payload["body"],
                    sensitivity=Sensitivity(payload["sensitivity"]),
                    submitted_by_id=submitter_id,
                    submitted_at=now,
                )
            )
            version_id = inserted.inserted_primary_key[0]
            if payload["tags"]:
                connection.execute(
                    version_tags.insert(),
                    [
                        {"version_id": version_id, "position": i, "tag": tag}
                        for i, tag in enumerate(payload["tags"])
                    ],
                )
        return {"id": str(idea_id), "version": 1}, 201

    @app.get("/readyz")
    def readyz():
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app


def _demo_ids(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    people, organisations = Person.__table__, Organisation.__table__
    with engine.connect() as connection:
        submitter_id = connection.scalar(select(people.c.id).where(people.c.email == SUBMITTER))
        owner_id = connection.scalar(
            select(organisations.c.id).where(organisations.c.name == OWNER)
        )
    if submitter_id is None or owner_id is None:
        raise RuntimeError("the demo alliance is missing: run `registry init` and `registry demo`")
    return submitter_id, owner_id
