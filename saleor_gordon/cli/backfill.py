"""``saleor-gordon backfill``: queue a shop's past orders that should be in Gordon and are not.

Pages through the orders created in [--since, --until] (100 a page), judges each with the same
decision a sync job makes, and queues what a job would push; the workers of ``serve`` or
``worker`` send them. ``--dry-run`` prints the plan instead. A second run queues nothing new; a run
stopped with Ctrl-C keeps every page it finished, and the same command resumes after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from saleor_gordon.catch_up.scan import PlannedOrder, ScanProgress, installed_shop, scan_orders
from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.errors import GordonAppError, SaleorError
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate

INTERRUPTED_EXIT = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--saleor-api-url", required=True, help="the shop's Saleor API URL")
    parser.add_argument(
        "--since",
        required=True,
        type=_moment,
        help="first creation date (YYYY-MM-DD, from 00:00 UTC) or ISO date-time",
    )
    parser.add_argument(
        "--until",
        type=_moment,
        default=None,
        help="last creation date (YYYY-MM-DD, to its end in UTC) or ISO date-time (default: now)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, queue nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _moment(text: str) -> datetime | date:
    try:
        if len(text) == len("YYYY-MM-DD"):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def time_range(
    since: datetime | date, until: datetime | date | None
) -> tuple[datetime, datetime | None]:
    """[since, until] as UTC instants: a date starts at 00:00 UTC and ends before the next day;
    no ``until`` is "up to now"."""
    start = since if isinstance(since, datetime) else datetime.combine(since, time(), UTC)
    if until is None:
        return start.astimezone(UTC), None
    if isinstance(until, datetime):
        end = until
    else:
        end = datetime.combine(until + timedelta(days=1), time(), UTC) - timedelta(microseconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        return asyncio.run(_run(settings, args))
    except KeyboardInterrupt:
        _err(
            "Interrupted. Every finished page is kept: run the same command again to resume."
            if not args.dry_run
            else "Interrupted."
        )
        return INTERRUPTED_EXIT
    except GordonAppError as exc:
        return report_error(exc.message)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings) as runtime:
        if settings.is_sqlite:
            await migrate(runtime.engine)
        return await backfill(runtime, args, console=Console(stderr=True))


async def backfill(runtime: Runtime, args: argparse.Namespace, *, console: Console) -> int:
    """The command on an open runtime; the progress bar goes to ``console``."""
    shop = await installed_shop(runtime, args.saleor_api_url)
    since, until = time_range(args.since, args.until)
    if since > (until or runtime.clock()):
        return report_error("--since is after --until.")
    bar = _ProgressBar(console, enabled=not args.json)
    try:
        with bar:
            progress = await scan_orders(
                runtime,
                shop,
                time_field="createdAt",
                since=since,
                until=until,
                dry_run=args.dry_run,
                on_page=bar.update,
            )
    except SaleorError as exc:
        return report_error(f"Saleor: {exc.message}")
    if args.json:
        _print(json.dumps(_json_result(args, since, until, progress), indent=2))
    else:
        if args.dry_run:
            Console().print(_plan_table(progress.planned))
        _print(_summary(progress, dry_run=args.dry_run))
    return 0


class _ProgressBar:
    """Orders seen (of Saleor's count), queued, skipped, rate and time left."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("[bold]Orders"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("queued {task.fields[enqueued]}, skipped {task.fields[skipped]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        self._task = self._progress.add_task("orders", total=None, enqueued=0, skipped=0, rate="")
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def update(self, progress: ScanProgress, _planned: Sequence[PlannedOrder]) -> None:
        if self._task is None:
            return
        self._progress.update(
            self._task,
            completed=progress.seen,
            total=progress.total,
            enqueued=progress.enqueued,
            skipped=progress.skipped,
        )
        speed = self._progress.tasks[0].speed
        rate = f"{speed:.0f} orders/s" if speed else ""
        self._progress.update(self._task, rate=rate)


def _plan_table(planned: Sequence[PlannedOrder]) -> Table:
    table = Table(title="Backfill plan (dry run: nothing queued)")
    table.add_column("Order")
    table.add_column("Action")
    table.add_column("Reason")
    for order in planned:
        table.add_row(order.order_number or order.order_id, order.action, order.reason)
    return table


def _summary(progress: ScanProgress, *, dry_run: bool) -> str:
    verb = "would be queued" if dry_run else "queued"
    lines = [
        f"{progress.seen} orders seen in {progress.pages} pages: {progress.enqueued} {verb}, "
        f"{progress.skipped} skipped."
    ]
    if progress.resumed:
        lines.append("Resumed an interrupted run (its counts are included).")
    if progress.legacy_filter:
        lines.append("This Saleor lacks orders(where:); the older orders(filter:) was used.")
    return "\n".join(lines)


def _json_result(
    args: argparse.Namespace, since: datetime, until: datetime | None, progress: ScanProgress
) -> dict[str, Any]:
    return {
        "saleor_api_url": args.saleor_api_url,
        "since": since.isoformat(),
        "until": until.isoformat() if until is not None else None,
        "dry_run": args.dry_run,
        "summary": progress.to_dict(),
        "orders": [order.to_dict() for order in progress.planned],
    }


def _print(text: str) -> None:
    print(text)  # noqa: T201 - CLI output


def _err(text: str) -> None:
    print(text, file=sys.stderr)  # noqa: T201 - CLI output
