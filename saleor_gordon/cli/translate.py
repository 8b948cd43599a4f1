"""``saleor-gordon translate ORDER.json --config CONFIG.json [--now ISO]``.

Lets a shop owner try a configuration on a real order without touching Gordon: prints the Gordon order,
or every problem to fix. The current time (``--now``) is the only clock of the translation: it refuses
a requested delivery date in the past and is the earliest moment the computed date counts from.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from saleor_gordon.core.order import NotAnOrderObject, OrderPayloadInvalid, extract_order_data
from saleor_gordon.core.shop_config import ShopConfig, parse_shop_config
from saleor_gordon.core.translate import Skipped, Translated, translate_document
from saleor_gordon.errors import ShopConfigInvalid
from saleor_gordon.json_text import JsonUnusable, parse_json

__all__ = ["EXIT_INPUT_ERROR", "EXIT_PROBLEMS", "EXIT_SKIPPED", "add_arguments", "run"]

EXIT_PROBLEMS = 1
EXIT_INPUT_ERROR = 2
EXIT_SKIPPED = 3

_EPILOG = """\
ORDER.json is an order as Saleor's GraphQL API returns it: the order object itself, a whole response
({"data": {"order": ...}}), or a webhook body with an "order" key.

exit status:
  0  translated: the Gordon order is printed on stdout (warnings, if any, on stderr)
  1  the order cannot be sent to Gordon: every problem is listed on stderr
  2  the files cannot be read, are not JSON, the order is not a JSON object, or the configuration
     is invalid
  3  the order is not for Gordon (draft, no shipping, click and collect, no matching rule)
"""


class _InputError(Exception):
    """A file, JSON document or option cannot be used; the message says which and why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("order", metavar="ORDER.json", type=Path, help="the Saleor order (JSON)")
    parser.add_argument(
        "--config",
        required=True,
        metavar="CONFIG.json",
        type=Path,
        help="the shop configuration (JSON)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO",
        help="the current time, e.g. 2026-11-27T10:00+01:00 (default: now; without an offset it is "
        "read in the shop's time zone). Requested delivery dates before its day are refused; the "
        "computed date is never before the first delivery day counted from it.",
    )


def run(args: argparse.Namespace) -> int:
    """Translate the order and print the result; return the exit status documented in ``--help``."""
    try:
        config = _load_config(args.config)
        document = _load_order(args.order)
        now = _now(args.now, config)
    except _InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT_ERROR
    result = translate_document(document, config, now=now)
    if isinstance(result, Translated):
        sys.stdout.write(
            json.dumps(result.gordon_order.to_json(), indent=2, ensure_ascii=False) + "\n"
        )
        for warning in result.warnings:
            sys.stderr.write(f"warning: {warning.message}\n")
        return 0
    if isinstance(result, Skipped):
        sys.stderr.write(f"not for Gordon: {result.reason}\n")
        return EXIT_SKIPPED
    sys.stderr.write(f"The order cannot be sent to Gordon ({len(result.problems)} problem(s)):\n")
    for problem in result.problems:
        sys.stderr.write(f"  - {problem.message}\n")
    return EXIT_PROBLEMS


def _load_json(path: Path, what: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _InputError(f"cannot read the {what} file {path}: {_reason(exc)}") from None
    try:
        return parse_json(text)
    except JsonUnusable as exc:
        raise _InputError(f"the {what} file {path} {exc.reason}") from None


def _load_order(path: Path) -> object:
    """The order document, checked for its shape.

    A JSON value that cannot hold an order (``[]``, ``null``, ``{"order": 5}``) is an input error (exit 2);
    a well-formed response without an order (``{"data": {"order": null}}``) is left to the translation,
    which lists it as a problem (exit 1).
    """
    document = _load_json(path, "order")
    try:
        extract_order_data(document)
    except NotAnOrderObject as exc:
        raise _InputError(f"the order file {path} is not a Saleor order: {exc}") from None
    except OrderPayloadInvalid:
        pass  # e.g. {"data": {"order": null}}: translate_document reports it as a problem
    return document


def _load_config(path: Path) -> ShopConfig:
    data = _load_json(path, "configuration")
    try:
        return parse_shop_config(data)
    except ShopConfigInvalid as exc:
        listing = "\n".join(f"  - {problem}" for problem in exc.problems)
        raise _InputError(f"the configuration {path} is invalid:\n{listing}") from None


def _now(text: str | None, config: ShopConfig) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _InputError(
            f"--now {text!r} is not an ISO date-time, e.g. 2026-11-27T10:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(config.delivery_days.timezone))
    return moment


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
