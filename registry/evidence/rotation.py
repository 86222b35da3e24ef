"""`registry keys rotate`: a new statement signing key, the old one kept for verifiers."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.evidence.keys import STATEMENT, create_key, key_path, register_keys
from registry.evidence.log import TransparencyLog
from registry.evidence.models import SigningKey

__all__ = ["keys_group", "rotate_statement_key"]


def rotate_statement_key(session: Session, instance: Path, origin: str) -> tuple[str, list[str]]:
    """Create a new statement key file and make it the one that signs from now on.

    Returns the new kid and the kids whose window it closed. The old keys stay in
    ``signing_keys`` with their ``valid_until``, so receipts they signed keep
    verifying. Waits for appends in flight (it locks the log head), so no statement
    is signed by a key after its window closed. Runs in the caller's transaction,
    which must then commit; if anything fails before that, the new key file is
    removed, so that a later ``register_keys`` does not rotate by surprise.
    """
    TransparencyLog(session, origin).lock()
    closing = list(
        session.scalars(
            select(SigningKey.kid).where(
                SigningKey.purpose == STATEMENT, SigningKey.valid_until.is_(None)
            )
        )
    )
    kid = create_key(instance, STATEMENT)
    try:
        register_keys(session, instance)
    except BaseException:
        key_path(instance, STATEMENT, kid).unlink(missing_ok=True)
        raise
    return kid, closing


@click.group("keys")
def keys_group() -> None:
    """The registry's signing keys and key-encryption keys."""


@keys_group.command("rotate")
def rotate() -> None:
    """Start signing statements with a new key; the old key stays published.

    The new private key is written to the instance folder (mode 0600). Workers on
    this host pick it up by themselves; copy it to the instance folder of every
    other host that serves the registry.
    """
    from registry.cli import _app
    from registry.db import db, writing

    app = _app()
    instance = Path(app.instance_path)
    origin = app.extensions["registry.evidence"].origin
    with app.app_context(), writing():
        kid = None
        try:
            kid, closed = rotate_statement_key(db.session, instance, origin)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            if kid is not None:
                key_path(instance, STATEMENT, kid).unlink(missing_ok=True)
            raise
    click.echo(f"statement key {kid} signs from now on ({key_path(instance, STATEMENT, kid)})")
    for old in closed:
        click.echo(f"statement key {old} no longer signs; it stays published for verifiers")
    click.echo("Copy the new key file to every other host that serves this registry.")


@keys_group.command("rotate-kek")
def rotate_kek() -> None:
    """Create a new key-encryption key and rewrap every content data key with it.

    Commits in batches: if interrupted, run it again. When it is done, the old KEK
    files (keys/kek-<kid>.key) wrap nothing and may be removed by the operator.
    """
    from registry.cli import _app
    from registry.db import db, writing
    from registry.sealing.keys import create_kek, kek_path

    app = _app()
    instance = Path(app.instance_path)
    sealing = app.extensions["registry.evidence"].sealing
    kid = create_kek(instance)
    with app.app_context(), writing():
        total = sealing.pending(db.session, kid)
        with click.progressbar(length=total, label="rewrapping data keys") as bar:
            done = sealing.rewrap(db.session, kid, bar.update)
    click.echo(f"key-encryption key {kid} wraps {done} data keys ({kek_path(instance, kid)})")
    click.echo("Older KEK files wrap nothing now; copy the new one to every other host.")
