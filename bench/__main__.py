"""Run the benchmarks: ``python -m bench [NAME ...] [--duration S] [--concurrency N]
[--only NAME] [--ideas N]``."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime

from bench import evidence, ideas_submit, receipts_verify, search
from bench.report import Benchmark, Options, print_outcome, save_outcome

# Later benchmarks are added here, in the order they run.
BENCHMARKS: dict[str, Benchmark] = {
    module.NAME: module for module in (ideas_submit, evidence, receipts_verify, search)
}


def _positive(kind):
    def parse(raw: str):
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {raw}")
        return value

    return parse


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"run only these benchmarks (as --only): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--duration", type=_positive(float), default=10.0, help="measured seconds per target"
    )
    parser.add_argument(
        "--concurrency", type=_positive(int), default=8, help="concurrent clients, one process each"
    )
    parser.add_argument(
        "--warmup", type=_positive(float), default=2.0, help="warm-up seconds per target"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--ideas",
        type=_positive(int),
        default=100_000,
        help="ideas in the register the search benchmark measures (e.g. 10000 for a quick run)",
    )
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}: one of {', '.join(BENCHMARKS)}")
    return arguments


def _exit_on_terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; 1 if any failed or saw errors, else 0."""
    arguments = _arguments(argv)
    # A TERM (a CI timeout, say) then unwinds like Ctrl-C: gunicorn is stopped and the
    # temporary instance folders are removed by the finally blocks on the way out.
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    options = Options(
        arguments.duration, arguments.concurrency, arguments.warmup, ideas=arguments.ideas
    )
    status = 0
    for name in dict.fromkeys(arguments.names + (arguments.only or []) or BENCHMARKS):
        started = datetime.now(UTC)
        print(f"{name}: running", flush=True)
        try:
            outcome = BENCHMARKS[name].run(options)
        except RuntimeError as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            status = 1
            continue
        print_outcome(outcome, options)
        print(f"saved {save_outcome(outcome, options, started)}")
        if outcome.error_count:
            print(f"{name}: {outcome.error_count} requests failed; the figures are suspect")
            status = 1
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Servers and temporary folders are already cleaned up by then; a traceback adds nothing.
        print("interrupted", file=sys.stderr)
        sys.exit(130)
