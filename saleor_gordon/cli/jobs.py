"""``saleor-gordon jobs list|show|retry``: the operator's view of sync jobs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.errors import GordonAppError
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="jobs_action", required=True, metavar="ACTION")
    list_parser = actions.add_parser("list", help="list jobs, newest first")
    list_parser.add_argument("--status", choices=[status.value for status in JobStatus])
    list_parser.add_argument("--saleor-api-url", help="only this shop's jobs")
    list_parser.add_argument("--limit", type=int, default=50)
    list_parser.add_argument("--json", action="store_true", help="print JSON")
    show_parser = actions.add_parser("show", help="one job with its history")
    show_parser.add_argument("job_id", type=int)
    show_parser.add_argument("--json", action="store_true", help="print JSON")
    retry_parser = actions.add_parser("retry", help="run a job (or every failed job) at once")
    target = retry_parser.add_mutually_exclusive_group(required=True)
    target.add_argument("job_id", type=int, nargs="?")
    target.add_argument("--all-failed", action="store_true")
    retry_parser.add_argument("--saleor-api-url", help="with --all-failed: only this shop's jobs")


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        return asyncio.run(_run(settings, args))
    except GordonAppError as exc:
        return report_error(exc.message)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings) as runtime:
        if settings.is_sqlite:
            await migrate(runtime.engine)
        if args.jobs_action == "list":
            return await _list(runtime, args)
        if args.jobs_action == "show":
            return await _show(runtime, args)
        return await _retry(runtime, args)


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    jobs = await runtime.jobs.list_jobs(
        status=args.status, saleor_api_url=args.saleor_api_url, limit=args.limit + 1
    )
    more = len(jobs) > args.limit
    jobs = jobs[: args.limit]
    if args.json:
        _print(json.dumps([job.to_dict() for job in jobs], indent=2))
        return 0
    if not jobs:
        _print("No jobs.")
        return 0
    _print(f"{'ID':>6}  {'ORDER':<8} {'STATUS':<16} {'ATTEMPTS':>8}  {'UPDATED':<25} MESSAGE")
    for job in jobs:
        _print(
            f"{job.id:>6}  {job.order_number or '?':<8} {job.status:<16} {job.attempts:>8}  "
            f"{job.updated_at.isoformat(timespec='seconds'):<25} {_short(job.last_message)}"
        )
    if more:
        _print(f"(more jobs: raise --limit, now {args.limit}, or filter with --status)")
    return 0


async def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    job = await runtime.jobs.get_job(args.job_id)
    if job is None:
        print(f"No job {args.job_id}.", file=sys.stderr)  # noqa: T201
        return 1
    data = job.to_dict()
    if args.json:
        _print(json.dumps(data, indent=2))
        return 0
    for key, value in data.items():
        if key != "history":
            _print(f"{key:>16}: {value}")
    _print("history:")
    for entry in data["history"]:
        _print(
            f"  {entry['at']}  #{entry['attempt']}  {entry['action']:<12} {entry['outcome']:<12} "
            f"{entry['message'] or ''}"
        )
    return 0


async def _retry(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.all_failed:
        count = await runtime.queue.retry_failed_jobs(
            now=runtime.clock(), saleor_api_url=args.saleor_api_url
        )
        _print(f"{count} failed job(s) will run now.")
        return 0
    job = await runtime.jobs.get_job(args.job_id)
    if job is None or not await runtime.queue.retry_job(args.job_id, now=runtime.clock()):
        print(f"No job {args.job_id}.", file=sys.stderr)  # noqa: T201
        return 1
    installation = await runtime.installations.get_installation(job.saleor_api_url)
    if installation is not None and installation.revoked_at is not None:
        _print(
            f"Job {args.job_id} is queued, but Saleor no longer accepts the app's token for "
            f"{job.saleor_api_url}; it runs once the app is installed there again."
        )
        return 0
    _print(f"Job {args.job_id} will run now.")
    return 0


def _short(message: Any) -> str:
    text = str(message or "")
    return text if len(text) <= 80 else text[:77] + "..."


def _print(text: str) -> None:
    print(text)  # noqa: T201 - CLI output
