"""Shares of one process's busy samples in a py-spy profile, by the parts of the app that
bench/RESULTS.md reports ("Profiles"): the claim, the job's steps, the webhook path, libraries.

    py-spy record --subprocesses --threads --format raw -r 100 -o ingest.txt -- \\
        .venv/bin/python bench/ingest.py --rounds 2 --seconds 15
    uv run python bench/profile_shares.py ingest.txt 'serve --port \\d+"'    # the busy serve
    uv run python bench/profile_shares.py ingest.txt 'workers 0'

The second argument is a regular expression matched against the process's frame (py-spy names
each process by its command line). Samples taken while the process imported its modules are left
out, and so are two waits py-spy counts as busy: aiosqlite's connection threads waiting for their
next statement and the event loop waiting in ``select`` (their leaf frames are in IDLE_LEAVES).
A share counts every sample whose stack contains the part (inclusive time), so parts nest.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence

IDLE_LEAVES = (
    "EpollSelector.select (selectors.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "_read_exactly (saleor_gordon/store/sqlite_writer_process.py",
)
PARTS = (
    ("event loop thread (MainThread)", r"MainThread"),
    (
        "aiosqlite threads in a statement (SQLite C code, lock waits included)",
        r"_connection_worker_thread \(aiosqlite/core.py:63\)",
    ),
    ("worker: claims (event loop side)", r"claim_next_job \(|JobQueue\.claim \("),
    ("  building the claim statements (_claim_statements, once)", r"_claim_statements \("),
    ("worker: finish_job", r"finish_job \("),
    ("worker: one attempt (run_attempt; run_job before)", r"run_attempt \(|run_job \("),
    ("  installation + configuration reads", r"get_installation_by_id \(|get_config \("),
    ("  configuration validation (parse_shop_config)", r"parse_shop_config \("),
    ("  holidays package", r"holidays/"),
    ("  Gordon rate-limit slot (store/rate.py)", r"store/rate.py"),
    ("  Saleor GraphQL client", r"saleor/graphql_client.py"),
    ("    printing the GraphQL document per request", r"graphql/language/printer.py"),
    ("  Gordon client", r"gordon/client.py"),
    ("  translate_order", r"translate_order \("),
    ("webhooks (web/webhooks.py)", r"web/webhooks.py"),
    ("  signature verification", r"verify_webhook_signature \("),
    ("  inbox (store/inbox.py)", r"store/inbox.py"),
    ("SQLAlchemy, anywhere", r"sqlalchemy/"),
    ("asyncpg, anywhere", r"asyncpg/"),
    ("httpx/httpcore, anywhere", r"httpcore/"),
    ("outbound (policy, pool, connections), anywhere", r"saleor_gordon/outbound/"),
    ("anyio, anywhere", r"anyio/"),
    ("uvicorn + h11", r"h11/|uvicorn/"),
    ("socket writes (transport.write)", r"_SelectorSocketTransport.write \("),
)


def shares(path: str, process: str) -> tuple[int, int, Counter[str]]:
    """(busy samples, samples in unrecognised waits, samples per part) of ``process``."""
    busy = waiting = 0
    hits: Counter[str] = Counter()
    with open(path, encoding="utf-8", errors="replace") as profile:
        for line in profile:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            processes = [frame for frame in frames if frame.startswith("process ")]
            if not processes or not re.search(process, processes[-1]):
                continue
            if "importlib._bootstrap" in stack:
                continue
            if frames[-1].startswith(IDLE_LEAVES):
                waiting += int(count)
                continue
            busy += int(count)
            for label, pattern in PARTS:
                if re.search(pattern, stack):
                    hits[label] += int(count)
    return busy, waiting, hits


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("profile", help="py-spy output, --format raw")
    parser.add_argument("process", help="regular expression matching the process's frame")
    args = parser.parse_args(argv)
    busy, waiting, hits = shares(args.profile, args.process)
    if not busy:
        raise SystemExit(f"no busy samples of a process matching {args.process!r}")
    print(f"{busy} busy samples ({waiting} more in waits py-spy did not recognise as idle)")
    for label, _ in PARTS:
        if hits[label]:
            print(f"  {hits[label] / busy * 100:5.1f} %  {label}")


if __name__ == "__main__":
    main()
