"""The hostile-input suite (issue 9, item 4): its size, and its figures in pytest's summary.

Size (requests per run):

- CI / ``uv run pytest``: 2,000 on SQLite and 500 on PostgreSQL (slower per request; the checks
  are the same, PostgreSQL is there for what it stores differently: lengths, encodings, integers);
- ``SALEOR_GORDON_HOSTILE_FULL=1``: 10,000 on each;
- ``SALEOR_GORDON_HOSTILE_REQUESTS=N``: N on each (for trying things).

The figures of every run (requests of each kind with their statuses, statuses, endpoints, refusal
codes) are printed at the end of pytest's output, with or without ``-q``.
"""

from __future__ import annotations

import os
from typing import Any

CI_REQUESTS = {"sqlite": 2_000, "postgresql": 500}
FULL_REQUESTS = 10_000

REPORTS: list[tuple[str, dict[str, Any]]] = []
"""(test id, figures) of every run of the suite in this session."""


def hostile_requests(database: str) -> int:
    """How many requests to send to the app on ``database`` (``sqlite`` or ``postgresql``)."""
    if explicit := os.environ.get("SALEOR_GORDON_HOSTILE_REQUESTS"):
        return int(explicit)
    if os.environ.get("SALEOR_GORDON_HOSTILE_FULL") == "1":
        return FULL_REQUESTS
    return CI_REQUESTS[database]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("hostile input: figures")
    for test_id, figures in REPORTS:
        write(f"{test_id}: {figures['requests']} requests in {figures['seconds']:.1f} s")
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
        write(f"  violations: {figures['violations']} {_counts(figures['violated_kinds'])}")


def _counts(counts: dict[Any, int]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items()) or "none"
