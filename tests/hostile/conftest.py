"""The hostile-input suite: its size, its seed, and its figures in pytest's summary.

Size (requests per run):

- CI / ``uv run pytest``: 2,000 on SQLite and 500 on PostgreSQL (slower per request; the checks
  are the same, PostgreSQL is there for what it stores differently: lengths, encodings, integers);
- ``SALEOR_GORDON_HOSTILE_FULL=1``: 10,000 on each;
- ``SALEOR_GORDON_HOSTILE_REQUESTS=N``: N on each (for trying things).

Every run draws from a seed: ``DEFAULT_SEED`` unless ``SALEOR_GORDON_HOSTILE_SEED`` says another
(``random`` draws a new one). The seed is printed with the figures and in a failure's message; the
same seed, size and database send the same sequence of requests again.

The figures of every run (the seed, requests of each kind with their statuses, statuses,
endpoints, refusal codes, the outbound requests each kind caused) are printed at the end of
pytest's output, with or without ``-q``.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

CI_REQUESTS = {"sqlite": 2_000, "postgresql": 500}
FULL_REQUESTS = 10_000
DEFAULT_SEED = 20_261_127
SEED_VARIABLE = "SALEOR_GORDON_HOSTILE_SEED"

REPORTS: list[tuple[str, dict[str, Any]]] = []
"""(test id, figures) of every run of the suite in this session."""


def hostile_requests(database: str) -> int:
    """How many requests to send to the app on ``database`` (``sqlite`` or ``postgresql``)."""
    if explicit := os.environ.get("SALEOR_GORDON_HOSTILE_REQUESTS"):
        return int(explicit)
    if os.environ.get("SALEOR_GORDON_HOSTILE_FULL") == "1":
        return FULL_REQUESTS
    return CI_REQUESTS[database]


def hostile_seed() -> int:
    """The seed of this run: ``SALEOR_GORDON_HOSTILE_SEED`` (a number, or ``random``) or the default."""
    given = os.environ.get(SEED_VARIABLE, "").strip()
    if given == "random":
        return secrets.randbelow(2**32)
    return int(given) if given else DEFAULT_SEED


def replay_hint(seed: int, requests: int, test_id: str) -> str:
    return (
        f"replay: {SEED_VARIABLE}={seed} SALEOR_GORDON_HOSTILE_REQUESTS={requests} "
        f"uv run pytest 'tests/hostile/test_hostile_input.py::{test_id}'"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("hostile input: figures")
    for test_id, figures in REPORTS:
        write(f"{test_id}: {figures['requests']} requests in {figures['seconds']:.1f} s")
        if "seed" in figures:
            seed, asked = figures["seed"], figures["asked"]
            write(f"  seed {seed} ({replay_hint(seed, asked, test_id)})")
        else:  # a suite drawn with derandomize=True: the same requests every run
            write("  derandomized: the same requests every run")
        write(f"  statuses: {_counts(figures['statuses'])}")
        write("  requests of each kind (statuses):")
        for kind, sent in figures["kinds"].items():
            write(f"    {kind:34} {sent:6}  ({_counts(figures['status_by_kind'][kind])})")
        write(f"  endpoints: {_counts(figures['endpoints'])}")
        write(f"  refusal codes: {_counts(figures['codes'])}")
        write(f"  modifiers added: {_counts(figures['modifiers'])}")
        write(
            f"  outbound requests refused (hosts other than the shops' Saleors): "
            f"{figures['outbound_refused']}; shops reinstalled after a forgery removed them: "
            f"{figures['repairs']}"
        )
        write(
            f"  JWKS refetch-limiter windows opened: {figures['refetch_windows']}; outbound "
            "requests caused, by kind:"
        )
        for kind, calls in figures["calls_by_kind"].items():
            write(f"    {kind:34} {_counts(calls)}")
        write(f"  violations: {figures['violations']} {_counts(figures['violated_kinds'])}")


def _counts(counts: dict[Any, int]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items()) or "none"
