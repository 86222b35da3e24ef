"""Key-encryption keys: files (0600) or environment, the newest current, and rotate-kek."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import func, select

import registry
from registry.db import db
from registry.evidence.audit import audit_command
from registry.evidence.rotation import keys_group
from registry.ip.models import IdeaVersion
from registry.keyfiles import KeyFileError
from registry.sealing import crypto
from registry.sealing.crypto import SealError
from registry.sealing.keys import KeyEncryptionKeys, create_kek, kek_path
from registry.sealing.models import DataKey, SealedField
from tests.conftest import ISSUER

KID = "20260101T000000000000Zabcdef"


def test_a_kek_is_a_0600_file_and_the_newest_is_current(tmp_path):
    first = create_kek(tmp_path)
    second = create_kek(tmp_path)
    assert second > first
    assert kek_path(tmp_path, second).stat().st_mode & 0o777 == 0o600
    keks = KeyEncryptionKeys.load(tmp_path, {})
    assert keks.current()[0] == second
    assert set(keks.keys) == {first, second}


def test_a_kek_can_come_from_the_environment(tmp_path):
    key = crypto.new_key()
    keks = KeyEncryptionKeys.load(tmp_path, {f"REGISTRY_KEK_{KID}": base64.b64encode(key).decode()})
    assert keks.current() == (KID, key)


def test_a_malformed_kek_in_the_environment_stops_the_load(tmp_path):
    with pytest.raises(SealError, match=f"REGISTRY_KEK_{KID} is not a 256-bit key"):
        KeyEncryptionKeys.load(tmp_path, {f"REGISTRY_KEK_{KID}": base64.b64encode(b"x").decode()})


def test_a_kek_file_others_can_read_is_refused(tmp_path):
    kid = create_kek(tmp_path)
    os.chmod(kek_path(tmp_path, kid), 0o644)
    with pytest.raises(KeyFileError, match="accessible to other users"):
        KeyEncryptionKeys.load(tmp_path, {})


def test_a_missing_kek_is_named(tmp_path):
    with pytest.raises(SealError, match=f"key-encryption key {KID} is not on this host"):
        KeyEncryptionKeys.load(tmp_path, {}).get(KID)


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the commands need a database of their own."""
    return None


def _fresh_app(instance):
    return registry.create_app(
        {
            "INSTANCE_PATH": str(instance.path),
            "DATABASE_URL": instance.database_url,
            "ISSUER": ISSUER,
            "DEMO": True,
            "OIDC_ISSUERS": [],
        }
    )


def test_rotate_kek_rewraps_every_data_key_and_the_old_kek_can_go(make_instance):
    instance = make_instance("init", "demo")
    (old,) = [p for p in (instance.path / "keys").glob("kek-*.key")]
    with instance.app.app_context():
        sealed = db.session.scalar(select(func.count()).select_from(DataKey))
    assert sealed > 0, "the demo has commercial ideas, sealed under the first KEK"

    result = instance.run(keys_group, "rotate-kek")
    assert result.exit_code == 0, result.output
    assert f"wraps {sealed} data keys" in result.output
    old.unlink()

    app = _fresh_app(instance)  # a host that holds only the new KEK
    sealing = app.extensions["registry.evidence"].sealing
    with app.app_context():
        (new_kid,) = set(db.session.scalars(select(DataKey.kek_id)))
        assert new_kid == sealing.keks.current()[0]
        version_id = db.session.scalar(select(SealedField.version_id).limit(1))
        version = db.session.get(IdeaVersion, version_id)
        opened = sealing.open(db.session, version.id, version.idea_id, version.number, ["body"])
        assert opened["body"]
    audited = instance.run(audit_command)
    assert audited.exit_code == 0, audited.output


def test_without_its_kek_sealed_content_does_not_open(make_instance):
    instance = make_instance("init", "demo")
    for path in (instance.path / "keys").glob("kek-*.key"):
        path.unlink()
    create_kek(instance.path)  # a KEK, but not the one that wrapped the demo's keys
    app = _fresh_app(instance)
    sealing = app.extensions["registry.evidence"].sealing
    with app.app_context():
        row = db.session.scalar(select(DataKey).limit(1))
        version = db.session.get(IdeaVersion, row.version_id)
        with pytest.raises(SealError, match=f"key-encryption key {row.kek_id} is not on this host"):
            sealing.open(db.session, version.id, version.idea_id, version.number, ["body"])
