"""A stdlib-only HTTP load generator: one client per process, bounded in time and count.

Each client runs in its own process so that the generator's own Python work is not
serialised by one GIL: on a small machine a threaded client would measure itself.
"""

from __future__ import annotations

import http.client
import multiprocessing
import queue
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import BrokenBarrierError

# Generous: a request slower than this is an error, not a latency.
REQUEST_TIMEOUT = 30.0
# However long --duration is, a client stops after this many requests.
MAX_REQUESTS_PER_CLIENT = 1_000_000


@dataclass(frozen=True)
class Target:
    """What every client sends: ``body(client, n)`` makes the n-th body of a client.

    ``body`` must be a module-level function so it can be sent to a spawned process.
    """

    port: int
    method: str
    path: str
    headers: dict[str, str]
    body: Callable[[int, int], bytes]
    expected_status: int = 201
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class LoadResult:
    """What the clients saw in the measured window (warm-up excluded)."""

    successes: int
    errors: dict[str, int]
    elapsed: float
    latencies: list[float] = field(repr=False)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.successes / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, percent: int) -> float | None:
        """Latency of successful requests at ``percent`` (1..99), in milliseconds."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else None
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000

    def summary(self) -> dict[str, object]:
        """The figures, for the JSON result file."""
        return {
            "successes": self.successes,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed, 3),
            "requests_per_s": round(self.rate, 1),
            "latency_ms": {
                "mean": round(statistics.fmean(self.latencies) * 1000, 2)
                if self.latencies
                else None,
                **{f"p{p}": _round(self.percentile_ms(p)) for p in (50, 95, 99)},
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def drive(target: Target, *, concurrency: int, duration: float, warmup: float) -> LoadResult:
    """Send requests to ``target`` from ``concurrency`` clients for ``duration`` seconds.

    Every client first warms up for ``warmup`` seconds; the measured window starts for all
    clients together once each has warmed up. Only responses with the expected status count
    as successes; any other status or a failed connection is counted as an error by kind.
    Raises RuntimeError if a client process fails to report.
    """
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(concurrency)
    reports = context.Queue()
    clients = [
        context.Process(
            target=_client,
            args=(target, index, warmup, duration, start_line, reports),
            daemon=True,
        )
        for index in range(concurrency)
    ]
    for client in clients:
        client.start()
    try:
        collected = _collect(reports, clients, patience=30 + warmup + duration + REQUEST_TIMEOUT)
    except BaseException:
        # Interrupted or failed: nothing they send now will be read, so do not wait for them.
        for client in clients:
            client.kill()
        raise
    finally:
        for client in clients:
            client.join(timeout=5)
            if client.is_alive():
                client.kill()
    failures = [report for report in collected if isinstance(report, str)]
    if failures:
        raise RuntimeError(f"load client failed: {failures[0]}")

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    elapsed = 0.0
    for client_latencies, client_errors, client_elapsed in collected:
        latencies.extend(client_latencies)
        errors.update(client_errors)
        elapsed = max(elapsed, client_elapsed)
    return LoadResult(len(latencies), dict(errors), elapsed, latencies)


def _collect(reports, clients, *, patience: float) -> list:
    collected: list = []
    give_up = time.monotonic() + patience
    while len(collected) < len(clients):
        try:
            collected.append(reports.get(timeout=1))
        except queue.Empty:
            # A client that died before reporting would otherwise keep us waiting.
            if not any(client.is_alive() for client in clients) and reports.empty():
                raise RuntimeError("a load client died; see its traceback above") from None
            if time.monotonic() > give_up:
                raise RuntimeError("the load clients did not report in time") from None
    return collected


def _client(target, index, warmup, duration, start_line, reports) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides how to stop us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = http.client.HTTPConnection(target.host, target.port, timeout=REQUEST_TIMEOUT)
    sent = 0
    end_of_warmup = time.perf_counter() + warmup
    while time.perf_counter() < end_of_warmup:
        _send(connection, target, index, sent)
        sent += 1
    try:
        start_line.wait(timeout=30 + warmup)
    except BrokenBarrierError:
        reports.put(f"client {index}: the others never finished warming up")
        return

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    deadline = start + duration
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        began = time.perf_counter()
        if began >= deadline:
            break
        outcome = _send(connection, target, index, sent)
        sent += 1
        if outcome == target.expected_status:
            latencies.append(time.perf_counter() - began)
        else:
            errors[f"HTTP {outcome}" if isinstance(outcome, int) else outcome] += 1
    reports.put((latencies, dict(errors), time.perf_counter() - start))


def _send(connection: http.client.HTTPConnection, target: Target, index: int, n: int) -> int | str:
    """The response status, or the name of what went wrong on the wire."""
    try:
        # gunicorn's sync workers close every connection; http.client then reconnects
        # by itself on the next request, so the same loop also serves keep-alive servers.
        connection.request(target.method, target.path, target.body(index, n), target.headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        return type(exc).__name__
    return response.status
