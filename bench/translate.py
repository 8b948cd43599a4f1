"""Orders translated per second, against a JSON round trip of the same order in the same run.

The order is the recorded GraphQL answer of Saleor 3.23 for order 45
(``tests/data/saleor/samples/graphql_responses/order_by_id_app_token.json``, ``body.data.order``);
one translation is ``SaleorOrder.from_graphql`` + ``translate_order`` under a Swedish shop
configuration that matches it (the result must be ``Translated``). The baseline is
``json.loads(json.dumps(order))`` of the same dict: the price of touching every field once.
Rounds alternate baseline and translation; the medians and their ratio are printed.

    uv run python bench/translate.py [--seconds 1.0] [--rounds 5] [--count N] [--short]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.shop_config import ShopConfig, parse_shop_config
from saleor_gordon.core.translate import Translated, translate_order

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "tests/data/saleor/samples/graphql_responses/order_by_id_app_token.json"
)
# Before the order's requested delivery date (2026-12-01), on a weekday before the cutoff.
NOW = datetime.fromisoformat("2026-11-27T10:00:00+01:00")

# The configuration of tests/core/builders.py (config_data), for the sample's channel.
CONFIG: dict[str, Any] = {
    "gordon": {
        "base_url": "https://backend.staging.gordondelivery.com",
        "client_id": "client-id",
        "client_secret": "client-secret-42",
    },
    "trigger_events": ["ORDER_FULLY_PAID"],
    "external_ref_prefix": "",
    "delivery_groups": [{"deliverygroup": "Gordon Store", "channel": "sverige"}],
    "default_time_window": "14:00 - 16:00",
    "delivery_days": {
        "timezone": "Europe/Stockholm",
        "cutoff": "14:00",
        "weekdays": [1, 2, 3, 4, 5],
        "lead_days": 1,
        "holiday_country": "SE",
    },
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="target duration of one round of each side; sets --count from the warm-up (1.0)",
    )
    parser.add_argument(
        "--count", type=int, default=None, help="operations per round (overrides --seconds)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per side (5)")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="a recorded order response")
    parser.add_argument(
        "--short", action="store_true", help="0.1 s rounds, 2 of them: proves it runs (CI)"
    )
    args = parser.parse_args(argv)
    if args.short:
        args.seconds, args.rounds = 0.1, 2
    return args


def load_order(path: Path) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["body"]["data"]["order"]
    return order


def translate_once(order: Mapping[str, Any], config: ShopConfig) -> object:
    return translate_order(SaleorOrder.from_graphql(order), config, now=NOW)


def rate(operation: Callable[[], object], count: int) -> float:
    """Operations per second over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - started)


def calibrate(operation: Callable[[], object], seconds: float) -> int:
    """Warm up for about a quarter of ``seconds``; return the count that fills ``seconds``."""
    count, elapsed = 1, 0.0
    while elapsed < seconds / 4:
        count *= 2
        started = time.perf_counter()
        for _ in range(count):
            operation()
        elapsed = time.perf_counter() - started
    return max(1, round(count / elapsed * seconds))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    order = load_order(args.sample)
    config = parse_shop_config(CONFIG)
    result = translate_once(order, config)
    if not isinstance(result, Translated):
        raise SystemExit(f"the sample does not translate under the benchmark's config: {result}")

    def translation() -> object:
        return translate_once(order, config)

    def baseline() -> object:
        return json.loads(json.dumps(order))

    translate_count = args.count or calibrate(translation, args.seconds)
    baseline_count = args.count or calibrate(baseline, args.seconds)
    translate_rates: list[float] = []
    baseline_rates: list[float] = []
    for _ in range(args.rounds):
        baseline_rates.append(rate(baseline, baseline_count))
        translate_rates.append(rate(translation, translate_count))

    translate_rate = statistics.median(translate_rates)
    baseline_rate = statistics.median(baseline_rates)
    print(
        f"translate ({len(order.get('lines') or [])}-line order, {translate_count} x "
        f"{args.rounds} rounds): {translate_rate:.0f} orders/s; baseline json round trip "
        f"{baseline_rate:.0f}/s; ratio {baseline_rate / translate_rate:.1f}x"
    )
    print(
        "  rounds translate: "
        + " ".join(f"{value:.0f}" for value in translate_rates)
        + " | baseline: "
        + " ".join(f"{value:.0f}" for value in baseline_rates)
    )


if __name__ == "__main__":
    main()
