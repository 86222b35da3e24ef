"""Benchmarks for the registry: ``make bench`` (``python -m bench``).

Figures, never assertions: tests do not time anything, benchmarks do. Each benchmark is a
module with ``NAME``, ``DESCRIPTION`` and ``run(options) -> Outcome``, listed in
``bench.__main__.BENCHMARKS``; results are printed and kept as JSON in bench/results/.
"""
