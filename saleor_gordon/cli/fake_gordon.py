"""``saleor-gordon fake-gordon``: serve the Gordon sandbox (``saleor_gordon.fakes.gordon_sandbox``)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
from pathlib import Path

import uvicorn

from saleor_gordon.fakes.gordon_sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SandboxOptions,
    create_gordon_sandbox,
)
from saleor_gordon.observability import configure_logging

logger = logging.getLogger(__name__)

EPILOG = f"""\
Default credentials: client id {DEFAULT_CLIENT_ID!r}, client secret {DEFAULT_CLIENT_SECRET!r}.
Control endpoints: GET/DELETE /_sandbox/requests (?method=PUT&path=/api/orders/REF),
POST/GET/DELETE /_sandbox/faults ({{"next": [503, 429, "timeout", "lost"]}}),
GET /_sandbox/orders, POST /_sandbox/orders/REF/planned, POST /_sandbox/tokens/revoke,
POST /_sandbox/reset. It is a fake with no real security: keep it on loopback.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``fake-gordon``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port to bind (default 8900)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="accepted client id")
    parser.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="accepted client secret"
    )
    parser.add_argument(
        "--delivery-groups",
        default="",
        help='comma-separated known delivery groups, e.g. "Gordon Store,Gordon Oslo"; '
        "others get 'Unable to find deliverygroup' (default: accept any)",
    )
    parser.add_argument(
        "--tolerant-update",
        action="store_true",
        help="PUT on an unknown ref creates it (default: 404 'Order not found', create with POST)",
    )
    parser.add_argument(
        "--token-expires-in", type=int, default=3600, help="token lifetime in seconds"
    )
    parser.add_argument(
        "--latency", type=_non_negative, default=0.0, help="seconds added to each request"
    )
    parser.add_argument(
        "--error-rate", type=_share, default=0.0, help="share of API calls answered 503"
    )
    parser.add_argument("--rate-limit-rate", type=_share, default=0.0, help="share answered 429")
    parser.add_argument(
        "--retry-after", type=_non_negative, default=2.0, help="Retry-After seconds on 429"
    )
    parser.add_argument(
        "--timeout-rate", type=_share, default=0.0, help="share of API calls that hang"
    )
    parser.add_argument(
        "--hang-seconds", type=_non_negative, default=30.0, help="how long a hang lasts"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault-injection RNG")
    parser.add_argument(
        "--record-file", type=Path, default=None, help="append each request as a JSON line"
    )


def run(args: argparse.Namespace) -> int:
    """Serve the sandbox until interrupted."""
    configure_logging(logging.INFO)
    options = options_from_args(args)
    if not _is_loopback(args.host):
        logger.warning(
            "fake_gordon.public_bind host=%s: the sandbox has no real security", args.host
        )
    uvicorn.run(create_gordon_sandbox(options), host=args.host, port=args.port, log_config=None)
    return 0


def options_from_args(args: argparse.Namespace) -> SandboxOptions:
    groups = tuple(group.strip() for group in args.delivery_groups.split(",") if group.strip())
    return SandboxOptions(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_expires_in=args.token_expires_in,
        delivery_groups=groups,
        tolerant_update=args.tolerant_update,
        latency=args.latency,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        retry_after=args.retry_after,
        timeout_rate=args.timeout_rate,
        hang_seconds=args.hang_seconds,
        seed=args.seed,
        record_file=args.record_file,
    )


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("expected a share between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("expected a number of seconds, 0 or more")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
