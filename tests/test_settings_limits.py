"""Settings derived from others: the per-shop concurrency limit."""

from __future__ import annotations

import pytest

from saleor_gordon.settings import Settings


@pytest.mark.parametrize(
    ("workers", "shop_concurrency", "limit"),
    [(4, None, 2), (5, None, 3), (1, None, 1), (0, None, 1), (4, 3, 3), (1, 8, 8)],
)
def test_one_shop_gets_half_the_workers_unless_told(
    monkeypatch: pytest.MonkeyPatch, workers: int, shop_concurrency: int | None, limit: int
) -> None:
    monkeypatch.delenv("SALEOR_GORDON_SHOP_CONCURRENCY", raising=False)
    monkeypatch.delenv("SALEOR_GORDON_WORKERS", raising=False)

    settings = Settings(workers=workers, shop_concurrency=shop_concurrency)

    assert settings.shop_concurrency_limit == limit
