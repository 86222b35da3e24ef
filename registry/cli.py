"""The `registry` command."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from sqlalchemy import or_, select
from sqlalchemy.engine import make_url

from registry import config as configuration


def _app():
    from registry import create_app

    try:
        return create_app()
    except (configuration.ConfigError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """Alliance Innovation Registry."""


@main.command()
def init() -> None:
    """Create or upgrade the database by migrations and create missing keys (mode 0600)."""
    from flask_migrate import upgrade

    from registry import MIGRATIONS
    from registry.db import db, writing
    from registry.evidence.keys import register_keys
    from registry.instance import create_keys

    try:
        settings = configuration.load()
    except configuration.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    instance = Path(settings["INSTANCE_PATH"])
    for made in create_keys(instance):
        click.echo(f"created {made} in {instance / 'keys'}")
    app = _app()
    with app.app_context(), writing():
        upgrade(directory=MIGRATIONS)
        register_keys(db.session, instance)
        db.session.commit()
    database = make_url(settings["DATABASE_URL"])
    if database.get_backend_name() == "sqlite" and database.database:
        # The database will hold sensitive content: only the service's user may read it.
        Path(database.database).chmod(0o600)
    click.echo(f"database is at the latest migration ({database.render_as_string()})")
    with app.app_context():
        # As after upgrading to the first version with search: a migration cannot index
        # (it has neither the KEKs nor the search key).
        unindexed = app.extensions["registry.search"].unindexed(db.session)
    if unindexed:
        click.echo(
            f"the search index is empty but the register holds {unindexed} ideas: "
            "run `registry search reindex`"
        )


def _require_demo(app) -> None:
    if not app.config["REGISTRY"]["DEMO"]:
        raise click.ClickException("only in demo mode: set REGISTRY_DEMO=1 (never in production)")


@main.command()
def demo() -> None:
    """Load the demo alliance: the CCG, providers, groups and people (idempotent)."""
    from registry.db import writing
    from registry.demo import PEOPLE, load

    app = _app()
    _require_demo(app)
    with app.app_context(), writing():
        load()
    click.echo("demo data loaded. People (get a token with `registry token EMAIL`):")
    for email, name, _memberships, _groups in PEOPLE:
        click.echo(f"  {email:26} {name}")


@main.command()
@click.argument("email")
def token(email: str) -> None:
    """Print a short-lived access token for a person (demo mode only)."""
    from registry.alliance.services import person_by_email
    from registry.auth.tokens import person_token

    app = _app()
    _require_demo(app)
    with app.app_context():
        person = person_by_email(email)
        if person is None:
            raise click.ClickException(f"no person with email {email}")
        issued = person_token(app.extensions["registry.token_generator"], person)
    click.echo(issued["access_token"])


# gunicorn's access log: %(U)s is the path alone, where the default %(r)s has the query.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn."""
    from gunicorn.app.base import BaseApplication

    app = _app()

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            # The path without its query string, and no referrer: a search's words (an
            # owner's sealed words among them) must never reach a log.
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)

        def load(self):
            return app

    demo_hint = ""
    if app.config["REGISTRY"]["DEMO"]:
        demo_hint = (
            "\nTry it:\n"
            "  TOKEN=$(.venv/bin/registry token pat@northside.example)\n"
            f'  curl -H "Authorization: Bearer $TOKEN" http://{host}:{port}/api/v1/me\n'
        )
    click.echo(f"serving on http://{host}:{port} (API docs: /api/v1/docs){demo_hint}")
    Server().run()


@main.group()
def clients() -> None:
    """Service clients: a provider's systems acting for its organisation."""


@clients.command("create")
@click.option("--organisation", required=True, help="ODS code or exact name.")
@click.option("--name", required=True, help="What the client is, e.g. 'Northside EPR'.")
def clients_create(organisation: str, name: str) -> None:
    """Register a service client and print its secret, once."""
    from registry.alliance.models import Organisation, Person, Role
    from registry.alliance.services import ensure_membership
    from registry.auth.models import ServiceClient, hash_secret
    from registry.db import db, writing

    app = _app()
    with app.app_context(), writing():
        org = db.session.scalar(
            select(Organisation).where(
                or_(Organisation.ods_code == organisation, Organisation.name == organisation)
            )
        )
        if org is None:
            raise click.ClickException(f"no organisation {organisation!r}")
        client_id = "svc-" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        person = Person(email=None, display_name=f"{name} (service client of {org.name})")
        db.session.add(person)
        db.session.flush()
        ensure_membership(person, org, Role.MEMBER)
        db.session.add(
            ServiceClient(
                client_id=client_id,
                secret_hash=hash_secret(secret),
                name=name,
                organisation=org,
                person=person,
            )
        )
        db.session.commit()
    click.echo(f"client_id:     {client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo("The secret is shown only now; store it in the client's secret store.", err=True)


@main.command("access-policy")
def access_policy() -> None:
    """Print the access policy table as Markdown (docs/access-policy.md)."""
    from registry.access.policy import markdown

    click.echo(markdown(), nl=False)


def _evidence_commands() -> None:
    # Imported here: they use _app() from this module.
    from registry.evidence.audit import audit_command
    from registry.evidence.commands import verify
    from registry.evidence.rotation import keys_group

    main.add_command(verify, "verify")
    main.add_command(audit_command, "audit")
    main.add_command(keys_group, "keys")


def _search_commands() -> None:
    from registry.search.commands import search_group

    main.add_command(search_group, "search")


_evidence_commands()
_search_commands()

if __name__ == "__main__":
    sys.exit(main())
