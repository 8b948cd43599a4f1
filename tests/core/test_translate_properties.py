"""Property: whatever shape an order takes, translation answers with one of its three results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_gordon.core.order import OrderPayloadInvalid, SaleorOrder
from saleor_gordon.core.translate import (
    Skipped,
    Translated,
    Untranslatable,
    translate_document,
    translate_order,
)
from tests.core.builders import config, line_data, order_data

CONFIG = config(delivery_groups=[{"deliverygroup": "Gordon Store"}], default_item_type="chilled")
RESULTS = (Translated, Skipped, Untranslatable)


def assert_no_bug_hidden(result: object) -> None:
    """One of the three results; a bug would have raised out of translate_order (it has no catch-all)."""
    assert isinstance(result, RESULTS)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
metadata_lists = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.sampled_from(
                [
                    "gordon.delivery_date",
                    "gordon.time_window",
                    "gordon.type",
                    "gordon.temperature",
                    "gordon.delivery_group",
                    "gordon.entry_code",
                    "x",
                ]
            ),
            "value": st.text(max_size=12)
            | st.sampled_from(["2026-12-24", "17:00-21:00", "frozen", "0000-00-00"]),
        }
    ),
    max_size=3,
)


def _mix(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Each key keeps its valid value, is dropped, or gets garbage; plus a few unknown keys."""
    keyed = {
        key: st.sampled_from([value, None]) | json_values | st.just(value)
        for key, value in valid.items()
    }
    return st.builds(
        lambda chosen, extra, dropped: {
            k: v for k, v in {**chosen, **extra}.items() if k not in dropped
        },
        st.fixed_dictionaries(keyed),
        st.dictionaries(st.text(max_size=6), json_values, max_size=2),
        st.sets(st.sampled_from(sorted(valid)), max_size=4),
    )


lines = st.lists(
    _mix(line_data()).map(
        lambda line: (
            {**line, "variant": {**line_data()["variant"], "metadata": []}}
            if "variant" not in line
            else line
        )
    ),
    max_size=3,
)
orders = st.builds(
    lambda base, order_lines, meta, method_meta: (
        {
            **base,
            "lines": order_lines,
            "metadata": meta,
            "deliveryMethod": {
                "__typename": "ShippingMethod",
                "name": "x",
                "metadata": method_meta,
            },
        }
        if isinstance(base, dict)
        else base
    ),
    _mix(order_data()),
    lines,
    metadata_lists,
    metadata_lists,
)
nows = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=orders | json_values, now=nows)
def test_translation_never_raises(document: Any, now: datetime) -> None:
    """Raw data in, a Translated, Skipped or Untranslatable out; never an exception (nor a hidden one)."""
    assert_no_bug_hidden(translate_document(document, CONFIG, now=now))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=orders)
def test_parsing_either_succeeds_or_says_why(document: dict[str, Any]) -> None:
    """from_graphql returns an order or raises OrderPayloadInvalid; a parsed order always translates."""
    try:
        order = SaleorOrder.from_graphql(document)
    except OrderPayloadInvalid as exc:
        message = str(exc)
    else:
        message = ""
        result = translate_order(order, CONFIG, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert_no_bug_hidden(result)
        if isinstance(result, Translated):
            assert len(result.gordon_order.content_hash()) == 64
        return
    assert message


def test_a_bug_inside_the_translation_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """No catch-all turns a programming error into an Untranslatable: it surfaces, so the properties
    above (and every story test) fail on it instead of passing on a made-up problem."""

    def broken(order: SaleorOrder) -> str | None:
        raise RuntimeError("bug")

    monkeypatch.setattr("saleor_gordon.core.translate._skip_reason", broken)

    with pytest.raises(RuntimeError, match=r"^bug$"):
        translate_order(
            SaleorOrder.from_graphql(order_data()), CONFIG, now=datetime(2026, 12, 1, tzinfo=UTC)
        )
