"""Instance folders and gunicorn, started and always stopped, for one benchmark target."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A loopback port nobody listens on now (gunicorn binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def instance_environment(instance: Path, port: int) -> dict[str, str]:
    """The environment for a demo registry in ``instance`` that will answer on ``port``.

    Inherited ``REGISTRY_*`` variables are dropped so that a developer's own database
    or issuer never leaks into a benchmark.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    env.update(
        REGISTRY_INSTANCE_PATH=str(instance),
        REGISTRY_DEMO="1",
        REGISTRY_ISSUER=f"http://{HOST}:{port}",
    )
    return env


def registry(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run the ``registry`` command and return what it printed; RuntimeError if it fails."""
    command = [sys.executable, "-m", "registry.cli", *args]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        # Some commands (`search check`) report what they found on stdout.
        said = "\n".join([*done.stdout.strip().splitlines()[-20:], done.stderr.strip()])
        raise RuntimeError(f"`registry {' '.join(args)}` failed:\n{said.strip()}")
    return done.stdout


def prepare_instance(env: dict[str, str]) -> None:
    """Build the database by the migrations and load the demo alliance into it."""
    registry(env, "init")
    registry(env, "demo")


@contextmanager
def gunicorn(
    app: str, env: dict[str, str], port: int, log: Path, workers: int = 2
) -> Iterator[subprocess.Popen]:
    """Serve ``app`` (a gunicorn app spec) on loopback ``port`` until the block ends;
    the block gets the master process (its children are the workers).

    Waits until ``/readyz`` answers 200. Raises RuntimeError, with the server's log, if
    it does not start. Gunicorn is stopped however the block ends: TERM, then KILL.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(ROOT),
        app,
    ]
    with log.open("wb") as output:
        # A session of its own lets us kill the master and its workers together if TERM
        # is not enough, without touching any other process.
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_ready(server, port, log)
        yield server
    finally:
        _stop(server)


def _wait_until_ready(server: subprocess.Popen, port: int, log: Path) -> None:
    give_up = time.monotonic() + START_TIMEOUT
    while time.monotonic() < give_up:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{_tail(log)}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn was not ready within {START_TIMEOUT:.0f} s:\n{_tail(log)}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
