"""The `registry` commands for keys and tokens, each run on a fresh instance of its own."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

import registry
from registry.auth.keys import FILENAME as KEY_FILE
from registry.cli import main
from registry.db import db

ISSUER = "http://cli.registry.test"
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction, which swaps ``db.session`` for one bound
    to the shared test database: the commands here must use a database of their own."""
    return None


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # Always SQLite, even when the suite runs on PostgreSQL: a database of its own.
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def made_apps(monkeypatch) -> Iterator[list[Flask]]:
    """Every app the commands (and the tests) build, so their pools are closed at the end."""
    made: list[Flask] = []
    create_app = registry.create_app

    def record(config=None) -> Flask:
        made.append(create_app(config))
        return made[-1]

    monkeypatch.setattr(registry, "create_app", record)
    yield made
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def run(instance: Path, database_url: str, made_apps) -> Callable[..., Result]:
    """A factory: run `registry ARGS...` on the instance; demo mode only when asked."""

    def invoke(*args: str, demo: bool = False) -> Result:
        env = {
            "REGISTRY_INSTANCE_PATH": str(instance),
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ISSUER": ISSUER,
            "REGISTRY_DEMO": "1" if demo else "0",
            "REGISTRY_OIDC_ISSUERS": "[]",
        }
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


@pytest.fixture
def served(instance: Path, database_url: str, made_apps) -> Callable[[], FlaskClient]:
    """A factory: a test client of the instance the commands set up (after `init`)."""

    def make() -> FlaskClient:
        app = registry.create_app(
            {
                "INSTANCE_PATH": str(instance),
                "DATABASE_URL": database_url,
                "ISSUER": ISSUER,
                "DEMO": False,
                "OIDC_ISSUERS": [],
            }
        )
        return app.test_client()

    return make


@pytest.fixture
def demo_instance(run) -> None:
    for command in (["init"], ["demo"]):
        result = run(*command, demo=True)
        assert result.exit_code == 0, result.output


def test_init_creates_the_signing_key_readable_only_by_its_owner(run, instance):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert "created the access token signing key" in result.output
    key = instance / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_init_twice_keeps_the_key(run, instance):
    assert run("init").exit_code == 0
    key = (instance / KEY_FILE).read_bytes()
    again = run("init")
    assert again.exit_code == 0, again.output
    assert "created the access token signing key" not in again.output
    assert "database is at the latest migration" in again.output
    assert (instance / KEY_FILE).read_bytes() == key


def test_commands_refuse_a_key_others_can_read(run, instance):
    assert run("init").exit_code == 0
    (instance / KEY_FILE).chmod(0o644)
    result = run("clients", "create", "--organisation", "DEMO1", "--name", "EPR")
    assert result.exit_code != 0
    assert "accessible to other users" in result.output


def test_token_is_refused_outside_demo_mode(run, demo_instance):
    result = run("token", "pat@northside.example", demo=False)
    assert result.exit_code != 0
    assert "demo mode" in result.output
    assert not any(JWT.match(line) for line in result.output.splitlines())


def test_token_in_demo_mode_speaks_for_the_person(run, demo_instance, served):
    result = run("token", "pat@northside.example", demo=True)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert JWT.match(token)
    me = served().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.json
    assert me.json["email"] == "pat@northside.example"
    assert [m["organisation_name"] for m in me.json["memberships"]] == ["Northside GP Federation"]


def test_token_for_an_unknown_person_is_refused(run, demo_instance):
    result = run("token", "nobody@nowhere.example", demo=True)
    assert result.exit_code != 0
    assert "no person with email nobody@nowhere.example" in result.output


@pytest.mark.parametrize(
    ("organisation", "name"),
    [
        ("DEMO2", "Riverside Community Care"),
        ("Riverside Community Care", "Riverside Community Care"),
    ],
    ids=["by-ods-code", "by-name"],
)
def test_clients_create_prints_credentials_that_work(
    run, demo_instance, served, organisation, name
):
    result = run("clients", "create", "--organisation", organisation, "--name", "Riverside rota")
    assert result.exit_code == 0, result.output
    printed = dict(re.findall(r"^(client_id|client_secret):\s+(\S+)$", result.stdout, re.M))
    assert set(printed) == {"client_id", "client_secret"}
    assert "shown only now" in result.stderr

    client = served()
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(printed["client_id"], printed["client_secret"]),
    )
    assert token.status_code == 200, token.json
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json['access_token']}"})
    assert me.json["client_id"] == printed["client_id"]
    assert [m["organisation_name"] for m in me.json["memberships"]] == [name]


def test_each_client_gets_its_own_secret(run, demo_instance, served):
    outputs = [
        run("clients", "create", "--organisation", "DEMO1", "--name", f"EPR {n}").stdout
        for n in range(2)
    ]
    secrets = [re.search(r"client_secret:\s+(\S+)", out).group(1) for out in outputs]
    ids = [re.search(r"client_id:\s+(\S+)", out).group(1) for out in outputs]
    assert len(set(secrets)) == 2
    assert len(set(ids)) == 2
    crossed = served().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(ids[0], secrets[1])
    )
    assert crossed.status_code == 401


def test_clients_create_refuses_an_unknown_organisation(run, demo_instance):
    result = run("clients", "create", "--organisation", "NOPE9", "--name", "EPR")
    assert result.exit_code != 0
    assert "no organisation 'NOPE9'" in result.output
