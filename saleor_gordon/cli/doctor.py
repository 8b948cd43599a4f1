"""``saleor-gordon doctor``: the set-up checklist (saleor_gordon/doctor.py), for people or scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from saleor_gordon.cli.settings_loading import load_settings
from saleor_gordon.doctor import DEFAULT_STUCK_AFTER, Check, DoctorReport, diagnose
from saleor_gordon.errors import ConfigurationError

_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--saleor-api-url", help="check this shop only (default: every shop)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument(
        "--stuck-minutes",
        type=float,
        default=DEFAULT_STUCK_AFTER.total_seconds() / 60,
        help="a job due or with an expired lease for longer than this is stuck (default: %(default)g)",
    )
    parser.epilog = "Exit status 0 when every check passed (warnings allowed), 1 otherwise."


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        report = DoctorReport(
            [Check("settings", "fail", exc.message, "Fix the SALEOR_GORDON_* variables named.")]
        )
    else:
        report = asyncio.run(
            diagnose(
                settings,
                saleor_api_url=args.saleor_api_url,
                stuck_after=timedelta(minutes=args.stuck_minutes),
            )
        )
    if args.json:
        _print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_text(report)
    return 0 if report.passed else 1


def _print_text(report: DoctorReport) -> None:
    shop: str | None = None
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        if check.shop != shop:
            shop = check.shop
            _print(f"\nShop {shop}")
        indent = "  " if check.shop else ""
        _print(f"{indent}{_MARKS[check.status]:<4}  {check.name:<{width}}  {check.detail}")
        if check.remedy and check.status in {"fail", "warn"}:
            _print(f"{indent}{'':<4}  {'':<{width}}  → {check.remedy}")
    failed = sum(check.status == "fail" for check in report.checks)
    warned = sum(check.status == "warn" for check in report.checks)
    _print("")
    if failed:
        _print(f"{failed} check(s) failed; fix them as shown above and run doctor again.")
    elif warned:
        _print(f"All checks passed, with {warned} warning(s).")
    else:
        _print("All checks passed.")


def _print(text: str) -> None:
    print(text)  # noqa: T201 - CLI output
