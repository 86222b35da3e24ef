"""Key-encryption keys (KEKs): files in the instance folder or environment variables.

A KEK file is ``keys/kek-<kid>.key`` (mode 0600) holding the key in base64; the
environment may supply one as ``REGISTRY_KEK_<kid>=<base64>`` instead (for hosts that
keep secrets out of the filesystem). KEKs are never stored in the database. Kids sort
by creation time, so the current KEK is the one with the greatest kid.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from registry.db import utcnow
from registry.keyfiles import read_secret, write_secret
from registry.sealing.crypto import KEY_BYTES, SealError, new_key

KEY_DIR = "keys"
ENV_PREFIX = "REGISTRY_KEK_"
KID = re.compile(r"^[0-9]{8}T[0-9]{12}Z[0-9a-f]{6}$")


def kek_path(instance: Path, kid: str) -> Path:
    return instance / KEY_DIR / f"kek-{kid}.key"


def create_kek(instance: Path) -> str:
    """Create a new KEK file (0600) and return its kid, which sorts after every earlier one."""
    kid = f"{utcnow():%Y%m%dT%H%M%S%f}Z{secrets.token_hex(3)}"
    write_secret(kek_path(instance, kid), base64.b64encode(new_key()) + b"\n")
    return kid


def ensure_kek(instance: Path) -> str | None:
    """Create a KEK unless the instance folder holds one; the new kid, or None."""
    if list((instance / KEY_DIR).glob("kek-*.key")):
        return None
    return create_kek(instance)


def _decode(text: bytes | str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"{where} is not base64") from None
    if len(key) != KEY_BYTES:
        raise SealError(f"{where} is not a 256-bit key")
    return key


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The KEKs this host holds, by kid; later files are picked up on demand."""

    keys: Mapping[str, bytes]
    instance: Path | None = None

    @classmethod
    def load(cls, instance: Path, environ: Mapping[str, str] | None = None) -> KeyEncryptionKeys:
        """Every KEK in ``instance/keys`` and in ``REGISTRY_KEK_<kid>`` variables.

        Raises :class:`SealError` for a malformed key and ``KeyFileError`` for a key
        file that others can read.
        """
        environ = os.environ if environ is None else environ
        keys = {}
        for path in (instance / KEY_DIR).glob("kek-*.key"):
            keys[path.stem.removeprefix("kek-")] = _decode(read_secret(path), str(path))
        for name, value in environ.items():
            kid = name.removeprefix(ENV_PREFIX)
            if name.startswith(ENV_PREFIX) and KID.match(kid):
                keys[kid] = _decode(value, name)
        return cls(keys, instance)

    def _all(self) -> dict[str, bytes]:
        keys = dict(self.keys)
        if self.instance is not None:
            # Created since this process loaded its keys (`registry keys rotate-kek`).
            for path in (self.instance / KEY_DIR).glob("kek-*.key"):
                kid = path.stem.removeprefix("kek-")
                if kid not in keys:
                    keys[kid] = _decode(read_secret(path), str(path))
        return keys

    def current(self) -> tuple[str, bytes]:
        """The kid and key that wrap new data keys. Raises :class:`SealError` if none."""
        keys = self._all()
        if not keys:
            raise SealError("no key-encryption key: run `registry init`")
        kid = max(keys)
        return kid, keys[kid]

    def get(self, kid: str) -> bytes:
        """The KEK ``kid``. Raises :class:`SealError` if this host does not hold it."""
        key = self.keys.get(kid)
        if key is None:
            key = self._all().get(kid)
        if key is None:
            raise SealError(f"key-encryption key {kid} is not on this host")
        return key
