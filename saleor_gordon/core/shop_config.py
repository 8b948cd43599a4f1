"""Per-installation shop configuration: JSON form, validation and masking.

JSON form (a key this version does not know is refused, naming it, so a misspelt setting is never
silently ignored)::

    {"gordon": {"base_url": "https://backend.staging.gordondelivery.com",
                "client_id": "…", "client_secret": "…"},
     "trigger_events": ["ORDER_FULLY_PAID"],
     "external_ref_prefix": "",
     "delivery_groups": [{"deliverygroup": "Gordon Store", "channel": "se-store",
                          "shipping_method": "Gordon hemleverans 17-21", "warehouse": "lager-vastberga",
                          "time_window": "17:00 - 21:00"}],
     "default_time_window": "14:00 - 16:00",
     "delivery_days": {"timezone": "Europe/Stockholm", "cutoff": "14:00", "weekdays": [1, 2, 3, 4, 5],
                       "lead_days": 1, "holiday_country": "SE"},
     "default_item_type": "chilled",
     "tracking_on_fulfillment": "add", "notify_customer": true, "tracking_url": ""}

Required: ``gordon`` (all three keys) and at least one ``delivery_groups`` rule. ``delivery_days`` defaults
to the values above except ``holiday_country`` (none); the last three keys (what the app does with
the order's fulfillments, ``core/fulfillment.py``) to the values shown. ``parse_shop_config`` reports
every problem at once, each with its JSON path and what to write instead (in English, and as a code
with parameters for the Dashboard: ``core.messages``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, Final, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from saleor_gordon.core.delivery_dates import HOLIDAY_COUNTRIES, first_delivery_date
from saleor_gordon.core.destinations import (
    INTERNAL_ADDRESS,
    MAX_URL_CHARS,
    NOT_HTTPS,
    URL_BAD_HOST,
    URL_EXTRA_PARTS,
    URL_NOT_PLAIN,
    URL_TOO_LONG,
    DestinationRules,
    gordon_base_url_problem,
    not_allowed_by,
)
from saleor_gordon.core.fulfillment import (
    TRACKING_MODES,
    FulfillmentSettings,
    TrackingMode,
    check_tracking_url,
)
from saleor_gordon.core.gordon_order import (
    ITEM_TYPES,
    MAX_EXTERNAL_REF_CHARS,
    ItemType,
    format_time_window,
)
from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.core.messages import CodedValueError
from saleor_gordon.core.order import MAX_ORDER_NUMBER_CHARS
from saleor_gordon.errors import ConfigProblem, ShopConfigInvalid

__all__ = [
    "MAX_EXTERNAL_REF_PREFIX_CHARS",
    "SECRET_MASK",
    "TOP_LEVEL",
    "TRIGGER_EVENTS",
    "DeliveryDays",
    "DeliveryGroupRule",
    "GordonSettings",
    "ShopConfig",
    "TriggerEvent",
    "keep_stored_secret",
    "parse_delivery_days",
    "parse_gordon_settings",
    "parse_shop_config",
    "with_secret",
]

TriggerEvent = Literal["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID"]
TRIGGER_EVENTS: tuple[TriggerEvent, ...] = ("ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID")
TOP_LEVEL = "(top level)"
SECRET_MASK = "********"  # noqa: S105 - the mask shown instead of a secret, not a secret

MAX_EXTERNAL_REF_PREFIX_CHARS: Final = MAX_EXTERNAL_REF_CHARS - MAX_ORDER_NUMBER_CHARS
"""The longest ``external_ref_prefix``: with the longest order number the app accepts, the
reference still fits the job's column."""

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
GORDON_URL_RULES = "gordon_url_rules"
"""The validation context key of the rules a Gordon base URL must meet (``DestinationRules``)."""
_BASE_URL_EXAMPLE = "use e.g. https://backend.staging.gordondelivery.com"


class _ConfigModel(BaseModel):
    """Frozen; an unknown key is refused (a misspelt setting must not be silently ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _required_text(value: str, hint: str) -> str:
    if not value:
        raise CodedValueError("config.required", f"must not be empty; {hint}")
    return value


def _optional_text(value: str | None) -> str | None:
    return value or None


class GordonSettings(_ConfigModel):
    """Where and as whom to call Gordon (Gordon API doc B2, B3: credentials are per environment)."""

    base_url: str
    client_id: str
    client_secret: SecretStr

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str, info: ValidationInfo) -> str:
        context = info.context if isinstance(info.context, dict) else {}
        rules = context.get(GORDON_URL_RULES)
        judged_by = rules if isinstance(rules, DestinationRules) else None
        problem = gordon_base_url_problem(value, judged_by)
        if problem is not None:
            raise _base_url_refused(value, problem, judged_by)
        return value.rstrip("/")

    @field_validator("client_id")
    @classmethod
    def _check_client_id(cls, value: str) -> str:
        return _required_text(value, _MISSING_HINTS["client_id"])

    @field_validator("client_secret")
    @classmethod
    def _check_client_secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise CodedValueError(
                "config.required", f"must not be empty; {_MISSING_HINTS['client_secret']}"
            )
        return SecretStr(value.get_secret_value().strip())


class DeliveryGroupRule(_ConfigModel):
    """Orders matching every given condition go to ``deliverygroup``; absent conditions match anything."""

    deliverygroup: str
    channel: str | None = None
    shipping_method: str | None = None  # id or name (case-insensitive)
    warehouse: str | None = None  # id, slug or name of a warehouse a line is allocated from
    time_window: str | None = None

    @field_validator("deliverygroup")
    @classmethod
    def _check_group(cls, value: str) -> str:
        return _required_text(value, _MISSING_HINTS["deliverygroup"])

    @field_validator("channel", "shipping_method", "warehouse")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        return _optional_text(value)

    @field_validator("time_window")
    @classmethod
    def _check_window(cls, value: str | None) -> str | None:
        return format_time_window(value) if value else None


class DeliveryDays(_ConfigModel):
    """When Gordon delivers: see ``core.delivery_dates.first_delivery_date``."""

    timezone: str = "Europe/Stockholm"
    cutoff: str = "14:00"
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    lead_days: int = Field(default=1, ge=0, le=60)
    holiday_country: str | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise CodedValueError(
                "config.not_a_time_zone",
                f"{value!r} is not a known time zone; use an IANA name such as Europe/Stockholm",
                value=value,
            ) from None
        return value

    @field_validator("cutoff")
    @classmethod
    def _check_cutoff(cls, value: str) -> str:
        return f"{_parse_clock(value):%H:%M}"

    @field_validator("weekdays")
    @classmethod
    def _check_weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise CodedValueError(
                "config.weekdays_required",
                "must list at least one weekday; 1 is Monday, 7 is Sunday",
            )
        wrong = [day for day in value if not 1 <= day <= 7]
        if wrong:
            raise CodedValueError(
                "config.not_weekdays",
                f"{wrong} are not ISO weekdays; use 1 (Monday) to 7 (Sunday)",
                days=", ".join(str(day) for day in wrong),
            )
        return tuple(sorted(set(value)))

    @field_validator("holiday_country")
    @classmethod
    def _check_holiday_country(cls, value: str | None) -> str | None:
        if not value:
            return None
        code = value.upper()
        if code not in HOLIDAY_COUNTRIES:
            raise CodedValueError(
                "config.not_a_holiday_country",
                f"{value!r} is not a country the holiday calendar knows; "
                "use an ISO 3166 code such as SE, NO or DK",
                value=value,
            )
        return code

    @property
    def cutoff_time(self) -> time:
        """``cutoff`` as a ``time``."""
        return _parse_clock(self.cutoff)

    def first_date(self, ordered_at: datetime) -> date:
        """The first delivery date these rules give an order placed at ``ordered_at`` (aware)."""
        return first_delivery_date(
            ordered_at,
            timezone=self.timezone,
            cutoff=self.cutoff_time,
            weekdays=self.weekdays,
            lead_days=self.lead_days,
            holiday_country=self.holiday_country,
        )


class ShopConfig(_ConfigModel):
    """The configuration of one installation (one Saleor shop)."""

    gordon: GordonSettings
    trigger_events: tuple[TriggerEvent, ...] = ("ORDER_FULLY_PAID",)
    external_ref_prefix: str = ""
    delivery_groups: tuple[DeliveryGroupRule, ...]
    default_time_window: str | None = None
    delivery_days: DeliveryDays = DeliveryDays()
    default_item_type: ItemType | None = None
    # Fulfillments and the tracking link (core/fulfillment.py).
    tracking_on_fulfillment: TrackingMode = "add"
    notify_customer: bool = True
    tracking_url: str = ""

    @field_validator("external_ref_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        # The job keeps the reference; Gordon's URLs and the logs carry it.
        if not keepable_text(value, MAX_EXTERNAL_REF_PREFIX_CHARS):
            raise CodedValueError(
                "config.prefix_unusable",
                f"must be one line of at most {MAX_EXTERNAL_REF_PREFIX_CHARS} characters, so that "
                "the reference with the order number fits what the app stores",
                limit=MAX_EXTERNAL_REF_PREFIX_CHARS,
            )
        return value

    @field_validator("tracking_on_fulfillment", mode="before")
    @classmethod
    def _check_tracking_mode(cls, value: object) -> object:
        if value not in TRACKING_MODES:
            allowed = ", ".join(TRACKING_MODES)
            raise CodedValueError(
                "config.not_allowed",
                f"{_short(value)} is not allowed; use one of {allowed}",
                value=str(value),
            )
        return value

    @field_validator("notify_customer", mode="before")
    @classmethod
    def _check_notify_customer(cls, value: object) -> object:
        if not isinstance(value, bool):
            raise CodedValueError(
                "config.wrong_type", f"{_short(value)} is not true or false; write true or false"
            )
        return value

    @field_validator("tracking_url", mode="before")
    @classmethod
    def _check_tracking_url(cls, value: object) -> object:
        if value is None:
            return ""
        return check_tracking_url(value) if isinstance(value, str) else value

    @property
    def fulfillment_settings(self) -> FulfillmentSettings:
        """What the app does with the order's fulfillments once Gordon has it."""
        return FulfillmentSettings(
            self.tracking_on_fulfillment, self.notify_customer, self.tracking_url
        )

    @field_validator("trigger_events")
    @classmethod
    def _check_events(cls, value: tuple[TriggerEvent, ...]) -> tuple[TriggerEvent, ...]:
        if not value:
            raise CodedValueError(
                "config.trigger_events_required",
                'must list at least one event; e.g. ["ORDER_FULLY_PAID"]',
            )
        return tuple(dict.fromkeys(value))

    @field_validator("delivery_groups")
    @classmethod
    def _check_rules(cls, value: tuple[DeliveryGroupRule, ...]) -> tuple[DeliveryGroupRule, ...]:
        if not value:
            raise CodedValueError(
                "config.delivery_groups_required",
                'must hold at least one rule, e.g. [{"deliverygroup": "Gordon Store"}]',
            )
        return value

    @field_validator("default_time_window")
    @classmethod
    def _check_window(cls, value: str | None) -> str | None:
        return format_time_window(value) if value else None

    def to_storage_dict(self) -> dict[str, Any]:
        """The full configuration as JSON-ready data, secret included (encrypt it before storing)."""
        data = self.model_dump(mode="json")
        data["gordon"]["client_secret"] = self.gordon.client_secret.get_secret_value()
        return data

    def masked_dict(self) -> dict[str, Any]:
        """As ``to_storage_dict`` but the secret masked: ``"********" + its last 2 characters``."""
        data = self.model_dump(mode="json")
        data["gordon"]["client_secret"] = _mask(self.gordon.client_secret.get_secret_value())
        return data


_Part = TypeVar("_Part", bound=_ConfigModel)


def parse_shop_config(data: object, *, gordon_urls: DestinationRules | None = None) -> ShopConfig:
    """Validate ``data`` (parsed JSON) into a ``ShopConfig``.

    ``gordon_urls``: where the Gordon base URL may point (the app's settings), for a configuration
    about to be saved or used for a call; None checks only its form (a stored configuration is
    read that way, and the outbound policy judges every call anyway).

    Raises:
        ShopConfigInvalid: with every problem, each as ``"<json path>: <what is wrong>; <what to do>"``.
    """
    if not isinstance(data, dict):
        raise ShopConfigInvalid(
            [
                ConfigProblem(
                    TOP_LEVEL, "the configuration must be a JSON object", "config.not_an_object"
                )
            ]
        )
    try:
        return ShopConfig.model_validate(data, context={GORDON_URL_RULES: gordon_urls})
    except ValidationError as exc:
        raise ShopConfigInvalid([_problem(error) for error in exc.errors()]) from None


def parse_gordon_settings(
    data: object, *, gordon_urls: DestinationRules | None = None
) -> GordonSettings:
    """Validate the ``gordon`` object alone (for "Test connection" before saving).

    Raises:
        ShopConfigInvalid: every problem, with paths as in a whole configuration (``gordon.…``).
    """
    return _parse_part(GordonSettings, "gordon", data, gordon_urls)


def parse_delivery_days(data: object) -> DeliveryDays:
    """Validate the ``delivery_days`` object alone (for the delivery-date preview).

    Raises:
        ShopConfigInvalid: every problem, with paths as in a whole configuration.
    """
    return _parse_part(DeliveryDays, "delivery_days", data)


def _parse_part(
    model: type[_Part], key: str, data: object, gordon_urls: DestinationRules | None = None
) -> _Part:
    if not isinstance(data, dict):
        raise ShopConfigInvalid(
            [ConfigProblem(key, "must be a JSON object", "config.not_an_object")]
        )
    try:
        return model.model_validate(data, context={GORDON_URL_RULES: gordon_urls})
    except ValidationError as exc:
        problems = [_problem(_under(key, error)) for error in exc.errors()]
        raise ShopConfigInvalid(problems) from None


def _under(key: str, error: ErrorDetails) -> ErrorDetails:
    moved = dict(error)
    moved["loc"] = (key, *error["loc"])
    return cast(ErrorDetails, moved)


def with_secret(data: dict[str, Any], secret: str | None) -> dict[str, Any]:
    """Stored configuration data (kept without its secret) with the decrypted secret put back."""
    gordon = data.get("gordon")
    if not isinstance(gordon, dict):
        return data
    return {**data, "gordon": {**gordon, "client_secret": secret}}


def keep_stored_secret(data: object, stored: Mapping[str, Any] | None) -> object:
    """``data`` with the stored Gordon client secret filled in where ``data`` leaves it empty.

    ``stored`` is the stored ``gordon`` object, secret included. The secret is write-only for the
    Dashboard (it never goes back to the browser), so a form saved without a new secret means "keep
    the one you have"; only for the same account (``base_url`` and ``client_id`` unchanged): a
    secret never silently follows a new account. Anything that is not the expected shape is
    returned as it is, for ``parse_shop_config`` to judge.
    """
    if stored is None or not isinstance(data, dict) or not isinstance(data.get("gordon"), dict):
        return data
    gordon = data["gordon"]
    secret = stored.get("client_secret")
    if gordon.get("client_secret") not in (None, "") or not isinstance(secret, str):
        return data
    if not (_same_text(gordon, stored, "base_url") and _same_text(gordon, stored, "client_id")):
        return data
    return {**data, "gordon": {**gordon, "client_secret": secret}}


def _same_text(given: Mapping[str, Any], stored: Mapping[str, Any], key: str) -> bool:
    a, b = given.get(key), stored.get(key)
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def _parse_clock(value: str) -> time:
    match = _CLOCK.match(value)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise CodedValueError(
            "config.not_a_time",
            f"{value!r} is not a time of day; write HH:MM, e.g. 14:00",
            value=value,
        )
    return time(int(match[1]), int(match[2]))


def _mask(secret: str) -> str:
    return SECRET_MASK + secret[-2:] if len(secret) >= 8 else SECRET_MASK


_MISSING_HINTS = {
    "gordon": "add the Gordon API credentials: base_url, client_id, client_secret",
    "base_url": "add Gordon's URL, e.g. https://backend.staging.gordondelivery.com",
    "client_id": "copy it from Last Mile Platform → Account → API Credentials",
    "client_secret": "copy it from Last Mile Platform → Account → API Credentials",
    "delivery_groups": 'add at least one rule, e.g. [{"deliverygroup": "Gordon Store"}]',
    "deliverygroup": "write the delivery group's name exactly as in Gordon",
}


def _problem(error: ErrorDetails) -> ConfigProblem:
    """Turn one pydantic error into a problem ("reason; fix") without echoing secrets."""
    path = _path(error["loc"])
    kind = error["type"]
    if kind == "missing":
        last = str(error["loc"][-1]) if error["loc"] else ""
        hint = _MISSING_HINTS.get(last, "add it")
        return ConfigProblem(path, f"is required; {hint}", "config.required")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        message = "is not a setting this app knows; remove it or correct its spelling"
        return ConfigProblem(path, message, "config.unknown_key", {"key": key})
    if kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CodedValueError):
            return ConfigProblem(path, message, cause.code, cause.params)
        return ConfigProblem(path, message)
    if kind == "literal_error":
        allowed = ", ".join(ITEM_TYPES if "item_type" in path else TRIGGER_EVENTS)
        message = f"{error['input']!r} is not allowed; use one of {allowed}"
        return ConfigProblem(path, message, "config.not_allowed", {"value": str(error["input"])})
    if "client_secret" in path:
        return ConfigProblem(
            path, f"{error['msg']}; write the secret as a string", "config.wrong_type"
        )
    message = f"{error['msg']} (got {_short(error['input'])})"
    limit = (error.get("ctx") or {}).get("ge", (error.get("ctx") or {}).get("le"))
    if kind == "greater_than_equal" and limit is not None:
        return ConfigProblem(path, message, "config.too_small", {"limit": limit})
    if kind == "less_than_equal" and limit is not None:
        return ConfigProblem(path, message, "config.too_large", {"limit": limit})
    return ConfigProblem(path, message, "config.wrong_type")


def _base_url_refused(value: str, problem: str, rules: DestinationRules | None) -> CodedValueError:
    """A refused Gordon base URL as a coded problem (the Dashboard words it), with its English."""
    english = f"{_short(value)} {problem}; {_BASE_URL_EXAMPLE}"
    if rules is not None and problem == not_allowed_by(rules.setting):
        return CodedValueError("config.url_not_allowed", english, setting=rules.setting)
    code, params = _URL_PROBLEMS.get(problem, ("config.not_a_url", {"value": value}))
    return CodedValueError(code, english, **params)


_URL_PROBLEMS: dict[str, tuple[str, dict[str, object]]] = {
    URL_TOO_LONG: ("config.url_too_long", {"limit": MAX_URL_CHARS}),
    URL_NOT_PLAIN: ("config.url_not_plain", {}),
    URL_EXTRA_PARTS: ("config.url_extra_parts", {}),
    URL_BAD_HOST: ("config.url_bad_host", {}),
    INTERNAL_ADDRESS: ("config.url_internal", {}),
    NOT_HTTPS: ("config.url_not_https", {}),
}
"""The code of each way a base URL can be refused (``core.destinations``); any other (not an
http(s) URL) is ``config.not_a_url``."""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _path(loc: tuple[int | str, ...]) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return text.lstrip(".") or TOP_LEVEL
