"""Benchmarks: every target is a ratio against a baseline measured in the same run.

Each ``bench/bench_*.py`` module exposes ``run(quick: bool) -> list[Result]``. ``python -m bench`` runs them
all (or those named on the command line) and prints one table. ``--quick`` shrinks sizes for a smoke run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One measured figure and the target it is held to."""

    name: str
    value: float
    unit: str  # "ratio", "s", "x", "MB", ...
    target: str  # human-readable, e.g. "<= 1.10"
    ok: bool
    detail: str = ""
