"""`registry search reindex` and `registry search check`: the index is always rebuildable
from the database."""

from __future__ import annotations

import click
from sqlalchemy import select

__all__ = ["search_group"]


@click.group("search")
def search_group() -> None:
    """The full-text search index."""


@search_group.command("reindex")
@click.option(
    "--restart", is_flag=True, help="Start from the first idea, even after an interrupted run."
)
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
def reindex(restart: bool, batch: int) -> None:
    """Rebuild every idea's index entries from the database.

    Sealed fields are decrypted with the instance's KEKs to recompute their blind terms.
    Commits after each batch with a checkpoint: an interrupted run continues where it
    stopped when run again. Search keeps working meanwhile. Run it after upgrading to
    the first version with search, and after changing the search key.
    """
    from registry.cli import _app
    from registry.db import db, writing

    app = _app()
    indexer = app.extensions["registry.search"]
    sealing = app.extensions["registry.evidence"].sealing
    with app.app_context(), writing():
        total = indexer.pending(db.session, restart)
        with click.progressbar(length=total, label="indexing ideas") as bar:
            done = indexer.reindex(
                db.session, sealing, restart=restart, batch=batch, progress=bar.update
            )
        _drain(indexer.backend, db.session)
    click.echo(f"indexed {done} ideas ({indexer.backend.name} search backend)")


@search_group.command("check")
def check() -> None:
    """Compare what the index holds for each idea with what the database says it should.

    Exits 1, listing each difference, if they differ; `registry search reindex --restart`
    rebuilds the index.
    """
    from registry.cli import _app
    from registry.db import db
    from registry.ip.models import IdeaVersion

    app = _app()
    indexer = app.extensions["registry.search"]
    sealing = app.extensions["registry.evidence"].sealing
    with app.app_context():
        report = indexer.check(db.session, sealing)
        ids = {d.version_id for d in report.differences}
        versions = {
            row.id: row
            for row in db.session.execute(
                select(IdeaVersion.id, IdeaVersion.idea_id, IdeaVersion.number).where(
                    IdeaVersion.id.in_(ids)
                )
            )
        }
    for problem in report.problems:
        click.echo(problem)
    for difference in report.differences:
        row = versions.get(difference.version_id)
        what = f"idea {row.idea_id} version {row.number}" if row else "no such version"
        entry = (
            "search row" if difference.scope is None else f"{difference.scope.name.lower()} entry"
        )
        click.echo(f"{difference.problem}: {entry} of version row {difference.version_id} ({what})")
    if not report.clean:
        raise click.exceptions.Exit(1)
    click.echo(f"the index agrees with the database ({indexer.backend.name} search backend)")


# -- the Whoosh backend's outbox (registry/search/whoosh.py) ------------------------------


@search_group.command("drain")
def drain() -> None:
    """Apply the changes waiting in the outbox to the Whoosh index.

    Writes, searches and checks drain by themselves; this catches up after the service
    was stopped, e.g. before a backup of the index folder. Other backends change in the
    database's own transactions and have nothing to drain.
    """
    from registry.cli import _app
    from registry.db import db

    app = _app()
    backend = app.extensions["registry.search"].backend
    if not hasattr(backend, "drain"):
        click.echo(f"nothing to drain: the {backend.name} search backend has no outbox")
        return
    with app.app_context():
        applied = _drain(backend, db.session)
    click.echo(f"applied {applied} outbox rows to the {backend.name} index")


def _drain(backend, session) -> int:
    """Drain ``backend``'s outbox, if it has one; a click error if another process's
    drain holds it for too long."""
    if not hasattr(backend, "drain"):
        return 0
    from registry.search.whoosh import IndexBusyError  # the extra is installed: it has a drain

    try:
        return backend.drain(session)
    except IndexBusyError as busy:
        raise click.ClickException(busy.description) from None
