"""Key material in the instance folder: created once, mode 0600, never logged."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file is missing, exposed to other users, or already exists."""


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``.

    Raises :class:`KeyFileError` if the file exists: keys are never silently
    replaced, since old signatures and ciphertexts depend on them.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def read_secret(path: Path) -> bytes:
    """Read a key file, refusing one that group or others can read or write.

    Raises :class:`KeyFileError` if the file is missing (run ``registry init``)
    or its mode is looser than 0600.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path} is missing: run `registry init` first") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible to other users (mode {oct(mode & 0o777)})")
    return path.read_bytes()
