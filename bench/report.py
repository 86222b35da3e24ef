"""What a benchmark is given and returns, and how its figures are shown and kept."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bench.load import LoadResult

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Options:
    """The command line, as every benchmark sees it."""

    duration: float
    concurrency: int
    warmup: float
    # The size of the register the search benchmark measures.
    ideas: int = 100_000


@dataclass(frozen=True)
class Outcome:
    """A benchmark's figures: one load result per target, and the ratios between them."""

    name: str
    description: str
    results: dict[str, LoadResult]
    ratios: dict[str, float | None]
    # Figures that are neither a load nor a ratio (megabytes, seconds), by name.
    figures: dict[str, float | None] = field(default_factory=dict)
    # How the targets were driven, when it is not --concurrency clients each.
    setting: str = ""

    @property
    def error_count(self) -> int:
        return sum(result.error_count for result in self.results.values())


class Benchmark(Protocol):
    """A module under bench/ listed in ``bench.__main__.BENCHMARKS``."""

    NAME: str
    DESCRIPTION: str

    def run(self, options: Options) -> Outcome: ...


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the divisor is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def print_outcome(outcome: Outcome, options: Options) -> None:
    """Print a table of the targets' figures and the ratios under it."""
    print(f"\n{outcome.name}: {outcome.description}")
    setting = outcome.setting or (
        f"{options.concurrency} clients, {options.warmup:g} s warm-up, "
        f"{options.duration:g} s measured per target"
    )
    print(f"{setting}\n")
    header = ("target", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print("{:<14} {:>8} {:>7} {:>9} {:>8} {:>8} {:>8}".format(*header))
    for target, result in outcome.results.items():
        print(
            f"{target:<14} {result.successes:>8} {result.error_count:>7} {result.rate:>9.1f} "
            f"{_ms(result.percentile_ms(50))} {_ms(result.percentile_ms(95))} "
            f"{_ms(result.percentile_ms(99))}"
        )
        for kind, count in sorted(result.errors.items()):
            print(f"{'':<14} error {kind}: {count}")
    print()
    for name, value in outcome.ratios.items():
        print(f"{name:<36} {'n/a' if value is None else f'{value:.2f}'}")
    for name, value in outcome.figures.items():
        print(f"{name:<36} {'n/a' if value is None else f'{value:,.1f}'}")


def _ms(value: float | None) -> str:
    return f"{'n/a':>8}" if value is None else f"{value:>8.1f}"


def save_outcome(outcome: Outcome, options: Options, started: datetime) -> Path:
    """Write the outcome as JSON under bench/results/ and return the file's path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{outcome.name}-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": outcome.name,
        "description": outcome.description,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "commit": _commit(),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "options": asdict(options),
        "targets": {target: result.summary() for target, result in outcome.results.items()},
        "ratios": {
            name: None if value is None else round(value, 3)
            for name, value in outcome.ratios.items()
        },
        "figures": {
            name: None if value is None else round(value, 3)
            for name, value in outcome.figures.items()
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _commit() -> str | None:
    # Figures are only comparable between runs of known code; a dirty tree says so.
    root = RESULTS.parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head
