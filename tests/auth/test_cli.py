"""The `registry` commands for keys and tokens, each run on a fresh instance of its own."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from dataclasses import replace

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from registry.auth.keys import FILENAME as KEY_FILE
from registry.cli import main
from tests.conftest import Instance

JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction, which swaps ``db.session`` for one bound
    to the shared test database: the commands here must use a database of their own."""
    return None


@pytest.fixture
def instance(make_instance) -> Instance:
    # Always SQLite, even when the suite runs on PostgreSQL: a database of its own.
    return make_instance(backend="sqlite", demo=False)


@pytest.fixture
def run(instance: Instance) -> Callable[..., Result]:
    """A factory: run `registry ARGS...` on the instance; demo mode only when asked."""
    return lambda *args, demo=False: replace(instance, demo=demo).run(main, *args)


@pytest.fixture
def served(instance: Instance) -> Callable[[], FlaskClient]:
    """A factory: a test client of the instance the commands set up (after `init`)."""
    return lambda: instance.app.test_client()


@pytest.fixture
def demo_instance(run) -> None:
    for command in (["init"], ["demo"]):
        result = run(*command, demo=True)
        assert result.exit_code == 0, result.output


def test_init_creates_the_signing_key_readable_only_by_its_owner(run, instance):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert "created the access token signing key" in result.output
    key = instance.path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_init_twice_keeps_the_key(run, instance):
    assert run("init").exit_code == 0
    key = (instance.path / KEY_FILE).read_bytes()
    again = run("init")
    assert again.exit_code == 0, again.output
    assert "created the access token signing key" not in again.output
    assert "database is at the latest migration" in again.output
    assert (instance.path / KEY_FILE).read_bytes() == key


def test_commands_refuse_a_key_others_can_read(run, instance):
    assert run("init").exit_code == 0
    (instance.path / KEY_FILE).chmod(0o644)
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
