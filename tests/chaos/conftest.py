"""The chaos suite's size, seed, PostgreSQL cluster and printed figures.

Size: 300 orders per database by default (what CI runs); ``SALEOR_GORDON_CHAOS_FULL=1`` runs the full
2,000, and ``SALEOR_GORDON_CHAOS_ORDERS=N`` any other number (it wins over the flag):

    uv run pytest tests/chaos                                  # 300 orders, SQLite and PostgreSQL
    SALEOR_GORDON_CHAOS_FULL=1 uv run pytest tests/chaos       # 2,000 orders
    SALEOR_GORDON_CHAOS_SEED=17 uv run pytest tests/chaos      # another seed (9 by default)

Each run's figures (orders, faults injected by kind, kills, duplicates and out-of-order deliveries,
final mismatches, the seed) are printed in pytest's terminal summary, with or without ``-s``, and
written to ``chaos-figures.txt`` in the test's temporary directory.

The PostgreSQL run restarts its database server mid-run, so it never uses the shared server of
``SALEOR_GORDON_TEST_POSTGRES_URL``: ``throwaway_postgres`` (tests/conftest.py) starts a cluster of
its own with initdb/pg_ctl (as the ``postgres`` user when run as root), also in CI.

The end-to-end harness (``Stack``, ``running_stack``, the fakes' fixtures) is the one of
``tests/e2e``; its fixtures are imported here so that the chaos tests can request them.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import (
    _fake_schema,
    saleor_fake,
    saleor_fake_factory,
    start_gordon_sandbox,
)

__all__ = ["_fake_schema", "saleor_fake", "saleor_fake_factory", "start_gordon_sandbox"]

FULL_SIZE = 2000
CI_SIZE = 300
DEFAULT_SEED = 9

#: (title, lines) of every chaos run of this session, for the terminal summary.
FIGURES: list[tuple[str, list[str]]] = []


def chaos_size() -> int:
    """How many orders a chaos run sends (see the module docstring)."""
    configured = os.environ.get("SALEOR_GORDON_CHAOS_ORDERS", "").strip()
    if configured:
        return int(configured)
    return FULL_SIZE if os.environ.get("SALEOR_GORDON_CHAOS_FULL") == "1" else CI_SIZE


def chaos_seed() -> int:
    """The seed of a chaos run's traffic and faults (``SALEOR_GORDON_CHAOS_SEED``, else 9)."""
    configured = os.environ.get("SALEOR_GORDON_CHAOS_SEED", "").strip()
    return int(configured) if configured else DEFAULT_SEED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("chaos figures")
    for title, lines in FIGURES:
        terminalreporter.write_line(title)
        for line in lines:
            terminalreporter.write_line("  " + line)
