"""Stories of the shop configuration: defaults, every problem at once, storage and masking."""

from __future__ import annotations

from typing import Any

import pytest

from saleor_gordon.core.destinations import DestinationRules
from saleor_gordon.core.gordon_order import MAX_EXTERNAL_REF_CHARS
from saleor_gordon.core.order import MAX_ORDER_NUMBER_CHARS
from saleor_gordon.core.shop_config import ShopConfig, parse_shop_config
from saleor_gordon.errors import ShopConfigInvalid
from tests.core.builders import config_data


def _problems(data: Any) -> list[str]:
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(data)
    return caught.value.problems


def test_minimal_configuration_gets_defaults() -> None:
    """Credentials and one rule suffice; the rest defaults as documented."""
    config = parse_shop_config(
        {
            "gordon": {
                "base_url": "https://backend.staging.gordondelivery.com/",
                "client_id": "i",
                "client_secret": "s",
            },
            "delivery_groups": [
                {"deliverygroup": "Gordon Store", "channel": "", "time_window": "17:00-21:00"}
            ],
        }
    )

    assert config.trigger_events == ("ORDER_FULLY_PAID",)
    assert config.gordon.base_url == "https://backend.staging.gordondelivery.com"
    assert (
        config.delivery_groups[0].channel,
        config.delivery_groups[0].time_window,
    ) == (None, "17:00 - 21:00")
    assert (
        config.delivery_days.timezone,
        config.delivery_days.cutoff,
        config.delivery_days.weekdays,
        config.delivery_days.lead_days,
        config.delivery_days.holiday_country,
    ) == ("Europe/Stockholm", "14:00", (1, 2, 3, 4, 5), 1, None)
    assert config.default_item_type is None


def test_every_problem_is_listed_with_its_path_and_fix() -> None:
    """A configuration with many mistakes reports all of them, each saying what to write instead."""
    data = config_data(
        gordon={"base_url": "backend.staging.gordondelivery.com", "client_secret": ""},
        trigger_events=["ORDER_PAID"],
        delivery_groups=[
            {"channel": "sverige"},
            {"deliverygroup": "B", "time_window": "21:00 - 17:00"},
        ],
        default_time_window="afternoon",
        delivery_days={
            "timezone": "Europe/Stockhlm",
            "cutoff": "2pm",
            "weekdays": [0, 6],
            "lead_days": -1,
            "holiday_country": "XX",
        },
        default_item_type="warm",
    )

    assert _problems(data) == [
        "gordon.base_url: 'backend.staging.gordondelivery.com' is not an absolute http(s) URL; "
        "use e.g. https://backend.staging.gordondelivery.com",
        "gordon.client_id: is required; copy it from Last Mile Platform → Account → API Credentials",
        "gordon.client_secret: must not be empty; copy it from Last Mile Platform → Account → API Credentials",
        "trigger_events[0]: 'ORDER_PAID' is not allowed; use one of ORDER_CREATED, ORDER_CONFIRMED, "
        "ORDER_FULLY_PAID",
        "delivery_groups[0].deliverygroup: is required; write the delivery group's name exactly as in Gordon",
        "delivery_groups[1].time_window: '21:00 - 17:00' does not start before it ends; write e.g. 17:00 - 21:00",
        "default_time_window: 'afternoon' is not a time window; write it as HH:MM - HH:MM, e.g. 17:00 - 21:00",
        "delivery_days.timezone: 'Europe/Stockhlm' is not a known time zone; use an IANA name such as "
        "Europe/Stockholm",
        "delivery_days.cutoff: '2pm' is not a time of day; write HH:MM, e.g. 14:00",
        "delivery_days.weekdays: [0] are not ISO weekdays; use 1 (Monday) to 7 (Sunday)",
        "delivery_days.lead_days: Input should be greater than or equal to 0 (got -1)",
        "delivery_days.holiday_country: 'XX' is not a country the holiday calendar knows; use an ISO 3166 "
        "code such as SE, NO or DK",
        "default_item_type: 'warm' is not allowed; use one of ambient, chilled, frozen",
    ]
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(data)
    assert [(p.path, p.code, dict(p.params)) for p in caught.value.details] == [
        ("gordon.base_url", "config.not_a_url", {"value": "backend.staging.gordondelivery.com"}),
        ("gordon.client_id", "config.required", {}),
        ("gordon.client_secret", "config.required", {}),
        ("trigger_events[0]", "config.not_allowed", {"value": "ORDER_PAID"}),
        ("delivery_groups[0].deliverygroup", "config.required", {}),
        (
            "delivery_groups[1].time_window",
            "config.time_window_backwards",
            {"value": "21:00 - 17:00"},
        ),
        ("default_time_window", "config.not_a_time_window", {"value": "afternoon"}),
        ("delivery_days.timezone", "config.not_a_time_zone", {"value": "Europe/Stockhlm"}),
        ("delivery_days.cutoff", "config.not_a_time", {"value": "2pm"}),
        ("delivery_days.weekdays", "config.not_weekdays", {"days": "0"}),
        ("delivery_days.lead_days", "config.too_small", {"limit": 0}),
        ("delivery_days.holiday_country", "config.not_a_holiday_country", {"value": "XX"}),
        ("default_item_type", "config.not_allowed", {"value": "warm"}),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], ["(top level): the configuration must be a JSON object"]),
        (
            {},
            [
                "gordon: is required; add the Gordon API credentials: base_url, client_id, client_secret",
                'delivery_groups: is required; add at least one rule, e.g. [{"deliverygroup": "Gordon Store"}]',
            ],
        ),
        (
            config_data(delivery_groups=[]),
            [
                'delivery_groups: must hold at least one rule, e.g. [{"deliverygroup": "Gordon Store"}]'
            ],
        ),
        (
            config_data(trigger_events=[]),
            ['trigger_events: must list at least one event; e.g. ["ORDER_FULLY_PAID"]'],
        ),
        (
            config_data(delivery_days={"weekdays": []}),
            ["delivery_days.weekdays: must list at least one weekday; 1 is Monday, 7 is Sunday"],
        ),
        (
            config_data(delivery_days={"timezone": 1}),
            ["delivery_days.timezone: Input should be a valid string (got 1)"],
        ),
    ],
    ids=["not-an-object", "empty", "no-rules", "no-events", "no-weekdays", "wrong-type"],
)
def test_structural_problems(data: Any, expected: list[str]) -> None:
    """Wrong shapes are reported with a path, too."""
    assert expected == _problems(data)


def test_secret_never_appears_in_problems() -> None:
    """A wrongly typed secret is reported without echoing it."""
    data = config_data(
        gordon={
            "base_url": "https://x.example",
            "client_id": "i",
            "client_secret": ["hunter2-secret"],
        }
    )

    problems = _problems(data)

    assert problems == [
        "gordon.client_secret: Input should be a valid string; write the secret as a string"
    ]
    assert "hunter2" not in str(problems)


def test_storage_round_trip_keeps_the_secret() -> None:
    """to_storage_dict() parses back into an equal configuration, secret included."""
    config = parse_shop_config(config_data())

    stored = config.to_storage_dict()

    assert config == parse_shop_config(stored)
    assert stored["gordon"]["client_secret"] == "client-secret-42"


def test_an_unknown_key_is_refused_naming_it_at_every_level() -> None:
    """A misspelt setting is never silently ignored: each unknown key is a problem of its own,
    with its path in English and as the code the Dashboard words in the staff user's language."""
    data = config_data(dashboard_note="set up by Anna")
    data["delivery_groups"][0]["comment"] = "Stockholm only"
    data["delivery_days"] = {"cutof": "15:00"}
    data["gordon"]["client_sceret"] = "typo"

    with pytest.raises(ShopConfigInvalid) as raised:
        parse_shop_config(data)

    unknown = "is not a setting this app knows; remove it or correct its spelling"
    assert sorted(raised.value.problems) == sorted(
        [
            f"dashboard_note: {unknown}",
            f"delivery_groups[0].comment: {unknown}",
            f"delivery_days.cutof: {unknown}",
            f"gordon.client_sceret: {unknown}",
        ]
    )
    assert {p.code for p in raised.value.details} == {"config.unknown_key"}
    assert sorted(str(p.params["key"]) for p in raised.value.details) == [
        "client_sceret",
        "comment",
        "cutof",
        "dashboard_note",
    ]


@pytest.mark.parametrize(
    ("secret", "shown"), [("client-secret-42", "********42"), ("short", "********")]
)
def test_masked_dict_hides_the_secret(secret: str, shown: str) -> None:
    """The Dashboard and `config show` see only the last two characters of long secrets."""
    data = config_data()
    data["gordon"]["client_secret"] = secret
    config = parse_shop_config(data)

    masked = config.masked_dict()

    assert shown == masked["gordon"]["client_secret"]
    assert secret not in repr(config)
    assert {k: v for k, v in masked.items() if k != "gordon"} == {
        k: v for k, v in config.to_storage_dict().items() if k != "gordon"
    }


def test_weekdays_are_sorted_and_unique_and_country_upper_case() -> None:
    """Equivalent inputs give equal configurations."""
    config = parse_shop_config(
        config_data(delivery_days={"weekdays": [5, 1, 1], "holiday_country": "se"})
    )

    assert (config.delivery_days.weekdays, config.delivery_days.holiday_country) == ((1, 5), "SE")


def test_configuration_is_frozen() -> None:
    """A ShopConfig cannot be changed in place."""
    config = parse_shop_config(config_data())

    with pytest.raises(ValueError, match="frozen"):
        config.external_ref_prefix = "X"  # type: ignore[misc]
    assert isinstance(config, ShopConfig)


PUBLIC_APP = DestinationRules(
    allow_list=None,
    local_trial=False,
    setting="SALEOR_GORDON_ALLOWED_GORDON_URLS",
    require_https=True,
)


def _with_base_url(base_url: str) -> dict[str, Any]:
    data = config_data()
    data["gordon"] = {**data["gordon"], "base_url": base_url}
    return data


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (
            "http://127.0.0.1:8080/admin/reset?x=1#",
            "'http://127.0.0.1:8080/admin/reset?x=1#' must not contain a user name, a query (?) "
            "or a fragment (#)",
        ),
        (
            "https://backend.gordondelivery.com@127.0.0.1:8080",
            "'https://backend.gordondelivery.com@127.0.0.1:8080' must not contain a user name, "
            "a query (?) or a fragment (#)",
        ),
        ("https://127.1:8080", "'https://127.1:8080' points to a private or local network address"),
        ("https://[::1]", "'https://[::1]' points to a private or local network address"),
        ("https://localhost", "'https://localhost' points to a private or local network address"),
        ("http://backend.gordondelivery.com", "'http://backend.gordondelivery.com' must start "
         "with https://"),
    ],
)  # fmt: skip
def test_a_gordon_base_url_the_app_may_not_call_is_refused_beside_its_field(
    base_url: str, problem: str
) -> None:
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(_with_base_url(base_url), gordon_urls=PUBLIC_APP)

    hint = "use e.g. https://backend.staging.gordondelivery.com"
    assert [(p.path, p.message) for p in caught.value.details] == [
        ("gordon.base_url", f"{problem}; {hint}")
    ]


def test_the_form_of_a_gordon_base_url_is_checked_without_rules_too() -> None:
    """A stored configuration is read without the app's rules: its form still counts."""
    assert _problems(_with_base_url("https://gordon.example.com/#")) == [
        "gordon.base_url: 'https://gordon.example.com/#' must not contain a user name, a query "
        "(?) or a fragment (#); use e.g. https://backend.staging.gordondelivery.com"
    ]
    assert parse_shop_config(_with_base_url("http://127.0.0.1:8080")).gordon.base_url == (
        "http://127.0.0.1:8080"
    )


@pytest.mark.parametrize(
    "prefix", ["P" * 192, "SE-\x00", "SE-\nX"], ids=["192-chars", "nul", "line-break"]
)
def test_a_reference_prefix_the_job_cannot_keep_is_refused_beside_its_field(prefix: str) -> None:
    """The job keeps prefix + order number (255 characters; numbers have at most 64): a longer
    reference failed the job's record on PostgreSQL after Gordon took the order, which was then
    pushed again at every lease."""
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(config_data(external_ref_prefix=prefix))

    [problem] = caught.value.details
    assert (problem.path, problem.code, problem.params) == (
        "external_ref_prefix",
        "config.prefix_unusable",
        {"limit": 191},
    )
    assert problem.message == (
        "must be one line of at most 191 characters, so that the reference with the order "
        "number fits what the app stores"
    )


def test_the_longest_reference_prefix_leaves_room_for_the_longest_order_number() -> None:
    config = parse_shop_config(config_data(external_ref_prefix="P" * 191))

    assert len(config.external_ref_prefix) + MAX_ORDER_NUMBER_CHARS == MAX_EXTERNAL_REF_CHARS
