"""Saleor order + shop configuration → Gordon order, or every reason why not.

Pure: no I/O, and no clock: ``now`` is passed in; it refuses a requested delivery date in the past and
keeps a computed one from being in the past (``core.delivery_dates.delivery_date``). The result is one of
three frozen values:

- ``Translated``: the Gordon order, plus warnings (e.g. no usable phone number) that do not block sending;
- ``Skipped``: the order is not for Gordon (draft, no shipping, click and collect, no matching rule);
- ``Untranslatable``: problems the shop owner must fix in Saleor or in the configuration, all of them.

Every answer about the order's data is one of these values; ``translate_order`` raises only on a bug in
this module, on purpose: a catch-all would turn a programming error into an ``Untranslatable`` that tests
cannot tell from a real answer. The worker records such a
crash (``job.crashed``, with the traceback) and retries the job. Decisions, each cited where implemented:

- Gordon fields and formats: ``../shared/docs/gordon-api.md`` B5 (fields) and D2 (formats).
- Metadata keys (public order metadata, set by a storefront or by staff): ``gordon.delivery_date``,
  ``gordon.time_window``, ``gordon.delivery_group``, ``gordon.entry_code``; on variants and products
  ``gordon.type`` (and the legacy ``gordon.temperature`` of the real shop); on shipping methods
  ``gordon.time_window`` (the real shop's choice, samples README "Shop data").
- Line names: ``"<product name> (<variant name>)"``, the variant part only when it is a real name (not
  empty, not the SKU, not an ID) that does not repeat the product name (equal, or whole words of it).
- Lines whose ``isShippingRequired`` is false (gift cards, digital goods) are not sent.
- Problem and warning messages name the field and the reason, never the customer's data (phone, email,
  names, address): they are kept in job history and order metadata.
- Weights: the variant weight per unit, in kg, rounded to grams.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo

import phonenumbers

from saleor_gordon.core.delivery_dates import delivery_date
from saleor_gordon.core.gordon_order import (
    ITEM_TYPES,
    GordonOrder,
    InventoryItem,
    ItemType,
    format_time_window,
)
from saleor_gordon.core.messages import ORDER_PROBLEMS, Message, Param
from saleor_gordon.core.order import (
    Address,
    OrderIdentifierUnusable,
    OrderLine,
    SaleorOrder,
    Variant,
    extract_order_data,
)
from saleor_gordon.core.shop_config import DeliveryGroupRule, ShopConfig

__all__ = [
    "Problem",
    "Skipped",
    "Translated",
    "TranslationResult",
    "Untranslatable",
    "translate_document",
    "translate_order",
    "unreadable_order_problem",
    "unusable_identifier_problem",
]

META_DELIVERY_DATE: Final = "gordon.delivery_date"
META_TIME_WINDOW: Final = "gordon.time_window"
META_DELIVERY_GROUP: Final = "gordon.delivery_group"
META_ENTRY_CODE: Final = "gordon.entry_code"
META_TYPE: Final = "gordon.type"
META_LEGACY_TYPE: Final = "gordon.temperature"

# Saleor ``WeightUnitsEnum`` → kilograms.
_KG_PER_UNIT: Final = {
    "G": 0.001,
    "KG": 1.0,
    "LB": 0.45359237,
    "OZ": 0.028349523125,
    "TONNE": 1000.0,
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GLOBAL_ID = re.compile(r"^[A-Za-z]+:[\w-]+$")
_SALEOR_FALLBACK_NAME = re.compile(
    r"^ID:\d+$"
)  # ProductVariant.__str__ when it has no name nor SKU


@dataclass(frozen=True, slots=True)
class Problem:
    """Something about an order that the shop owner can fix (or a warning about it).

    ``field``, ``reason`` and ``fix`` are English for the command line; ``code`` and ``params``
    (``core.messages.ORDER_PROBLEMS``) say the same for the Dashboard pages, which word it in the
    staff user's language.
    """

    field: str  # where: a Saleor field path or a configuration key
    reason: str  # what is wrong
    fix: str  # what to do about it
    code: str  # a problem.* code of core.messages
    params: Mapping[str, Param] = dataclass_field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.code not in ORDER_PROBLEMS:
            raise KeyError(f"{self.code} is not a problem code (core.messages.ORDER_PROBLEMS)")
        _ = self.advice  # refuses a code or parameters the registry does not know

    @property
    def message(self) -> str:
        """One sentence for the command line (the field path first)."""
        return f"{self.field}: {self.reason}. {self.fix}"

    @property
    def advice(self) -> Message:
        """What is wrong and what to do, without the field path: the English text carrying the
        problem's code and parameters (what the job's messages and the pages get)."""
        return Message(f"{self.reason}. {self.fix}", self.code, self.params)


@dataclass(frozen=True, slots=True)
class Translated:
    """The order translated; ``warnings`` do not block sending."""

    gordon_order: GordonOrder
    warnings: tuple[Problem, ...]
    rule_index: int  # index in ShopConfig.delivery_groups of the rule that matched


@dataclass(frozen=True, slots=True)
class Skipped:
    """The order is not for Gordon; nothing needs fixing."""

    reason: Message
    """Why (a ``skip.*`` code of ``core.messages``)."""


@dataclass(frozen=True, slots=True)
class Untranslatable:
    """The order is for Gordon but cannot be sent until these problems are fixed."""

    problems: tuple[Problem, ...]


TranslationResult = Translated | Skipped | Untranslatable


def translate_order(
    order: SaleorOrder,
    config: ShopConfig,
    *,
    now: datetime,
    pushed_delivery_date: date | None = None,
) -> TranslationResult:
    """Translate ``order`` for Gordon under ``config``.

    ``now`` (aware; naive counts as UTC) is the time of the translation. ``pushed_delivery_date`` is the
    ``deliverydate`` Gordon already has for this order: without a requested date it is sent again while
    it is still allowed, so a re-push does not move the delivery nor change the content hash.

    No exception is caught here: the field functions report every problem with the data as a ``Problem``,
    so an exception is a bug and must surface (see the module docstring).
    """
    return _translate(order, config, _aware(now), pushed_delivery_date)


def translate_document(document: object, config: ShopConfig, *, now: datetime) -> TranslationResult:
    """As ``translate_order`` for raw JSON: an order, a ``{"data": {"order": …}}`` response or a webhook body."""
    try:
        order = SaleorOrder.from_graphql(extract_order_data(document))
    except ValueError as exc:
        fix = "Give a Saleor order as returned by the GraphQL API."
        return Untranslatable((unreadable_order_problem(exc, fix),))
    return translate_order(order, config, now=now)


def unreadable_order_problem(exc: ValueError, fix: str) -> Problem:
    """Why Saleor's order could not be read (``SaleorOrder.from_graphql``'s refusal), with
    ``fix`` for an order that is not readable at all."""
    if isinstance(exc, OrderIdentifierUnusable):
        return unusable_identifier_problem(exc)
    return Problem("order", str(exc), fix, "problem.order_unreadable")


def unusable_identifier_problem(exc: OrderIdentifierUnusable) -> Problem:
    """The order's id or number is one the app cannot keep, with its limit."""
    code = "problem.order_id_unusable" if exc.field == "id" else "problem.order_number_unusable"
    fix = (
        f"Saleor's own order {exc.field}s are much shorter: ask whoever runs the shop's Saleor "
        "about this order."
    )
    return Problem(exc.field, str(exc), fix, code, {"limit": exc.limit})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _translate(
    order: SaleorOrder, config: ShopConfig, now: datetime, pushed_date: date | None
) -> TranslationResult:
    skip = _skip_reason(order)
    if skip is not None:
        return Skipped(skip)
    matched = _match_rule(order, config.delivery_groups)
    if matched is None:
        return Skipped(_no_rule_reason(order))
    index, rule = matched
    problems: list[Problem] = []
    warnings: list[Problem] = []
    fields = _fields(order, config, rule, _When(now, pushed_date), problems, warnings)
    if problems:
        return Untranslatable(tuple(problems))
    gordon_order = GordonOrder.model_validate(fields)
    return Translated(gordon_order, tuple(warnings), index)


def _fields(
    order: SaleorOrder,
    config: ShopConfig,
    rule: DeliveryGroupRule,
    when: _When,
    problems: list[Problem],
    warnings: list[Problem],
) -> dict[str, object]:
    """Every Gordon field; problems and warnings are appended as they are found."""
    fields: dict[str, object] = {
        "external_ref": _external_ref(order, config, problems),
        "deliverygroup": _delivery_group(order, rule),
        "time_window": _time_window(order, config, rule, problems),
        "deliverydate": _delivery_date(order, config, when, problems),
        "inventory": _inventory(order, config, problems, warnings),
        # Gordon doc D2: email = the order's user email; notes = note to the driver.
        "email": order.user_email.strip(),
        "notes": order.customer_note.strip(),
        # entrycode from order metadata gordon.entry_code (Gordon doc B5: door code).
        "entrycode": (order.metadata_value(META_ENTRY_CODE) or "").strip(),
    }
    fields.update(_address_fields(order, problems, warnings))
    return fields


# --- skipping and rule matching -------------------------------------------------------------------


def _skip_reason(order: SaleorOrder) -> Message | None:
    """Why the order is not for Gordon at all, or None."""
    # Saleor OrderStatus DRAFT: not an order yet (samples s01/01 send metadata events for drafts).
    if order.status == "DRAFT":
        number = order.number or order.id
        return Message.of("skip.draft", f"order {number} is a draft", number=number)
    # Saleor Order.isShippingRequired: nothing to deliver (digital goods, services). Lines carry the same
    # flag; when every line says so the order needs no shipping either.
    if order.is_shipping_required is False or (
        order.lines and all(line.is_shipping_required is False for line in order.lines)
    ):
        return Message.of(
            "skip.no_shipping", f"order {order.number} needs no shipping", number=order.number
        )
    # Saleor Order.deliveryMethod is a Warehouse for click and collect: the customer fetches it.
    if order.delivery_method is not None and order.delivery_method.is_warehouse:
        name = order.delivery_method.name or order.collection_point_name
        return Message.of(
            "skip.click_and_collect",
            f"order {order.number} is click and collect at {name!r}",
            number=order.number,
            warehouse=name,
        )
    return None


def _match_rule(
    order: SaleorOrder, rules: tuple[DeliveryGroupRule, ...]
) -> tuple[int, DeliveryGroupRule] | None:
    """The first rule whose every condition holds (the first match wins)."""
    for index, rule in enumerate(rules):
        if _rule_matches(order, rule):
            return index, rule
    return None


def _rule_matches(order: SaleorOrder, rule: DeliveryGroupRule) -> bool:
    if rule.channel is not None and rule.channel.casefold() != order.channel_slug.casefold():
        return False
    if rule.shipping_method is not None and not _shipping_method_matches(
        order, rule.shipping_method
    ):
        return False
    return rule.warehouse is None or _warehouse_matches(order, rule.warehouse)


def _shipping_method_matches(order: SaleorOrder, wanted: str) -> bool:
    """Match by id or case-insensitive name.

    Ids are compared by primary key: the Dashboard and shipping-zone queries show ``ShippingMethodType:21``
    where orders carry ``ShippingMethod:21`` for the same method (samples README, "Shop data").
    """
    method = order.delivery_method
    method_id = method.id if method else ""
    name = (method.name if method else "") or order.shipping_method_name
    if name and name.casefold() == wanted.casefold():
        return True
    return bool(method_id) and _shipping_method_key(method_id) == _shipping_method_key(wanted)


def _shipping_method_key(global_id: str) -> str:
    decoded = _decode_global_id(global_id)
    if decoded is None:
        return global_id
    type_name, _, pk = decoded.partition(":")
    return (
        f"ShippingMethod:{pk}" if type_name in ("ShippingMethod", "ShippingMethodType") else decoded
    )


def _warehouse_matches(order: SaleorOrder, wanted: str) -> bool:
    """Any allocated warehouse matches by id, slug or case-insensitive name."""
    for line in order.lines:
        for warehouse in line.warehouses:
            if (
                wanted in (warehouse.id, warehouse.slug)
                or warehouse.name.casefold() == wanted.casefold()
            ):
                return True
    return False


def _no_rule_reason(order: SaleorOrder) -> Message:
    method = order.delivery_method
    method_name = (method.name if method else "") or order.shipping_method_name
    return Message.of(
        "skip.no_rule",
        f"no delivery-group rule matches channel {order.channel_slug!r} / "
        f"shipping method {method_name!r}",
        channel=order.channel_slug,
        shipping_method=method_name,
    )


# --- reference, group, address --------------------------------------------------------------------


def _external_ref(order: SaleorOrder, config: ShopConfig, problems: list[Problem]) -> str:
    # external_ref = prefix + Saleor Order.number, stable across retries (Gordon doc D2: unique).
    if not order.number.strip():
        problems.append(
            Problem(
                "number",
                "the order has no number",
                "Re-read the order from Saleor; every order has one.",
                "problem.no_number",
            )
        )
        return ""
    return config.external_ref_prefix + order.number.strip()


def _delivery_group(order: SaleorOrder, rule: DeliveryGroupRule) -> str:
    # Order metadata gordon.delivery_group overrides the matched rule (Gordon doc B5: required).
    override = (order.metadata_value(META_DELIVERY_GROUP) or "").strip()
    return override or rule.deliverygroup


def _address_fields(
    order: SaleorOrder, problems: list[Problem], warnings: list[Problem]
) -> dict[str, object]:
    address = order.shipping_address
    if address is None:
        problems.append(
            Problem(
                "shippingAddress",
                "the order has no shipping address",
                "Add the delivery address to the order in the Saleor Dashboard.",
                "problem.no_shipping_address",
            )
        )
        return {"customer_name": "", "address": "", "zip": "", "city": ""}
    return {
        "customer_name": _customer_name(address, problems),
        # Gordon doc D2: address / address2 = streetAddress1 / streetAddress2.
        "address": _required(
            address.street_address_1,
            "shippingAddress.streetAddress1",
            "street address",
            "problem.no_street_address",
            problems,
        ),
        "address2": address.street_address_2.strip(),
        # Gordon doc D2: zip with spaces removed, leading zeros kept ("125 53" → "12553", NO "0575").
        "zip": _required(
            "".join(address.postal_code.split()),
            "shippingAddress.postalCode",
            "postal code",
            "problem.no_postal_code",
            problems,
        ),
        "city": _required(
            address.city, "shippingAddress.city", "city", "problem.no_city", problems
        ),
        # Gordon doc D2: country_code ISO 3166 alpha-2.
        "country_code": address.country_code.strip().upper(),
        "mobile": _mobile(order, warnings),
    }


def _required(value: str, field: str, what: str, code: str, problems: list[Problem]) -> str:
    """``value`` stripped; an empty value is a problem (Gordon doc B5 lists the field as required)."""
    text = value.strip()
    if not text:
        problems.append(
            Problem(
                field,
                f"the shipping address has no {what}",
                f"Add the {what} to the order's shipping address.",
                code,
            )
        )
    return text


def _customer_name(address: Address, problems: list[Problem]) -> str:
    # Gordon doc D2: customer-name = shipping first + last name, the company name when there is no person.
    name = address.person_name or address.company_name.strip()
    if not name:
        problems.append(
            Problem(
                "shippingAddress.firstName",
                "the shipping address has neither a person's name nor a company name",
                "Add the customer's first and last name (or a company name) to the shipping address.",
                "problem.no_customer_name",
            )
        )
    return name


def _mobile(order: SaleorOrder, warnings: list[Problem]) -> str:
    # Shipping phone, billing phone as fallback, E.164 with the address country as default
    # region. Gordon texts the customer (doc B7), so a missing number is a warning, not a failure.
    # The first VALID number wins; each invalid one tried is a warning. Messages never quote the number:
    # they end up in job history and order metadata, which keep no customer data.
    invalid: list[tuple[str, str]] = []  # (field, country code)
    for address, field in (
        (order.shipping_address, "shippingAddress.phone"),
        (order.billing_address, "billingAddress.phone"),
    ):
        if address is None or not address.phone.strip():
            continue
        mobile = _e164(address)
        if mobile:
            warnings.extend(_invalid_phone(name, region, used=field) for name, region in invalid)
            return mobile
        invalid.append((field, address.country_code.strip().upper()))
    if invalid:
        warnings.extend(_invalid_phone(name, region, used=None) for name, region in invalid)
        return ""
    warnings.append(
        Problem(
            "shippingAddress.phone",
            "the order has no phone number",
            "Gordon cannot text the customer about the delivery; add a mobile number to the shipping address.",
            "problem.no_phone",
        )
    )
    return ""


def _invalid_phone(field: str, region: str, *, used: str | None) -> Problem:
    where = f" for {region}" if region else ""
    consequence = (
        f"{used} is sent instead" if used else "Gordon cannot text the customer about the delivery"
    )
    if field.startswith("billing"):
        code = "problem.billing_phone_invalid"
    elif used:
        code = "problem.shipping_phone_invalid_billing_used"
    else:
        code = "problem.shipping_phone_invalid"
    return Problem(
        field,
        f"the number is not a valid phone number{where}",
        f"{consequence}; correct the number, with country code (e.g. +46 70 228 68 10).",
        code,
        {"country": region},
    )


def _e164(address: Address) -> str:
    """The address phone in E.164, ``""`` when it is not a valid number."""
    try:
        number = phonenumbers.parse(address.phone.strip(), address.country_code.upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# --- time window and date -------------------------------------------------------------------------


def _time_window(
    order: SaleorOrder, config: ShopConfig, rule: DeliveryGroupRule, problems: list[Problem]
) -> str:
    """Gordon doc D2: ``"HH:MM - HH:MM"``, start before end.

    Precedence (team lead): order metadata gordon.time_window > rule time_window > the shipping method's
    metadata gordon.time_window > default_time_window. The first source present decides: a malformed
    value is a problem, never silently replaced by the next source.
    """
    method = order.delivery_method
    candidates = (
        (
            order.metadata_value(META_TIME_WINDOW),
            f"metadata {META_TIME_WINDOW}",
            "the order's metadata",
            "problem.order_time_window",
        ),
        (
            rule.time_window,
            "delivery_groups[].time_window",
            "the shop configuration",
            "problem.rule_time_window",
        ),
        (
            method.metadata_value(META_TIME_WINDOW) if method else None,
            f"deliveryMethod.metadata {META_TIME_WINDOW}",
            "the shipping method's metadata",
            "problem.method_time_window",
        ),
        (
            config.default_time_window,
            "default_time_window",
            "the shop configuration",
            "problem.default_time_window",
        ),
    )
    for value, field, where, code in candidates:
        if value is not None and value.strip():
            return _checked_window(value, field, where, code, problems)
    problems.append(
        Problem(
            "time-window",
            "no delivery time window is known for this order",
            f"Set default_time_window in the shop configuration, or {META_TIME_WINDOW} on the order "
            "or its shipping method (e.g. 17:00 - 21:00).",
            "problem.no_time_window",
        )
    )
    return ""


def _checked_window(value: str, field: str, where: str, code: str, problems: list[Problem]) -> str:
    try:
        return format_time_window(value)
    except ValueError as exc:
        problems.append(
            Problem(
                field,
                str(exc).split(";")[0],
                f"Correct it in {where}, e.g. 17:00 - 21:00.",
                code,
                {"value": value},
            )
        )
        return ""


@dataclass(frozen=True, slots=True)
class _When:
    now: datetime
    pushed_date: date | None  # the deliverydate Gordon already has


def _delivery_date(
    order: SaleorOrder, config: ShopConfig, when: _When, problems: list[Problem]
) -> str:
    # A requested date (order metadata gordon.delivery_date, copied from the checkout) wins;
    # else the first allowed day counted from the order's creation time and from now, whichever is
    # later (an order paid days later never gets a past date), keeping the date
    # Gordon already has while it is allowed (stable content hash). Gordon doc D2: YYYY-MM-DD, local.
    requested = order.metadata_value(META_DELIVERY_DATE)
    if requested is not None and requested.strip():
        return _requested_date(requested.strip(), config, when.now, problems)
    return _computed_date(order, config, when, problems)


def _requested_date(text: str, config: ShopConfig, now: datetime, problems: list[Problem]) -> str:
    field = f"metadata {META_DELIVERY_DATE}"
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(
                field,
                f"{text!r} is not a date",
                "Write it as YYYY-MM-DD, e.g. 2026-12-01.",
                "problem.delivery_date_invalid",
                {"value": text},
            )
        )
        return ""
    today = now.astimezone(ZoneInfo(config.delivery_days.timezone)).date()
    if day < today:
        problems.append(
            Problem(
                field,
                f"{text} is in the past (today is {today.isoformat()})",
                "Set a delivery date from today on.",
                "problem.delivery_date_past",
                {"date": day.isoformat(), "today": today.isoformat()},
            )
        )
        return ""
    return day.isoformat()


def _computed_date(
    order: SaleorOrder, config: ShopConfig, when: _When, problems: list[Problem]
) -> str:
    if order.created is None:
        problems.append(
            Problem(
                "created",
                "the order has no creation time",
                f"Set {META_DELIVERY_DATE} on the order (YYYY-MM-DD).",
                "problem.no_created",
            )
        )
        return ""
    days = config.delivery_days
    try:
        day = delivery_date(
            _aware(order.created),
            now=when.now,
            kept=when.pushed_date,
            timezone=days.timezone,
            cutoff=days.cutoff_time,
            weekdays=days.weekdays,
            lead_days=days.lead_days,
            holiday_country=days.holiday_country,
        )
    except ValueError as exc:
        problems.append(
            Problem(
                "delivery_days",
                str(exc),
                "Allow more weekdays in the shop configuration.",
                "problem.no_delivery_day",
            )
        )
        return ""
    return day.isoformat()


# --- inventory ------------------------------------------------------------------------------------


def _inventory(
    order: SaleorOrder, config: ShopConfig, problems: list[Problem], warnings: list[Problem]
) -> tuple[InventoryItem, ...]:
    # Gordon doc B5: at least one item {name, quantity}; lines with quantity 0 carry nothing (dropped).
    # One item per shippable line: Saleor OrderLine.isShippingRequired false (gift cards,
    # digital goods) is left out; absent (None, e.g. the recorded samples) counts as shippable.
    items: list[InventoryItem] = []
    shippable = [
        (index, line)
        for index, line in enumerate(order.lines)
        if line.is_shipping_required is not False and line.quantity != 0
    ]
    for index, line in shippable:
        item = _item(line, index, config, problems, warnings)
        if item is not None:
            items.append(item)
    if not shippable:
        problems.append(
            Problem(
                "lines",
                "the order has no lines to deliver",
                "Add the products to deliver to the order.",
                "problem.no_lines",
            )
        )
    return tuple(items)


def _item(
    line: OrderLine,
    index: int,
    config: ShopConfig,
    problems: list[Problem],
    warnings: list[Problem],
) -> InventoryItem | None:
    field, number = f"lines[{index}]", index + 1  # the shop owner counts lines from 1
    count = len(problems)
    if line.quantity < 0:
        problems.append(
            Problem(
                f"{field}.quantity",
                f"the quantity is {line.quantity}",
                "Correct the line's quantity.",
                "problem.negative_quantity",
                {"line": number, "quantity": line.quantity},
            )
        )
    name = _line_name(line, field, number, problems)
    item_type = _item_type(line, field, number, config, problems)
    if len(problems) > count:
        return None
    weight = _weight_kg(line, field, number, warnings)
    return InventoryItem(name=name, quantity=line.quantity, type=item_type, weight=weight)


def _line_name(line: OrderLine, field: str, number: int, problems: list[Problem]) -> str:
    """``"<product> (<variant>)"``; the variant only when it is a real name (see module docstring)."""
    product = line.product_name.strip() or _product_name(line.variant)
    if not product:
        problems.append(
            Problem(
                f"{field}.productName",
                "the line has no product name",
                "Give the product a name in Saleor.",
                "problem.no_product_name",
                {"line": number},
            )
        )
        return ""
    variant = line.variant_name.strip()
    if not _is_real_variant_name(variant, line) or _repeats_product(variant, product):
        return product
    return f"{product} ({variant})"


def _repeats_product(variant: str, product: str) -> bool:
    """True when the variant name is the product name or a whole word (or words) of it.

    "4 portioner" repeats "Middagskasse 4 portioner"; the size "S" does not repeat "Tomatsoppa", nor
    "1" "Pack 12". Word edges are lookarounds rather than ``\\b`` so that names starting or ending
    with punctuation ("(L)") are matched as wholes too.
    """
    if variant.casefold() == product.casefold():
        return True
    pattern = rf"(?<!\w){re.escape(variant)}(?!\w)"
    return re.search(pattern, product, re.IGNORECASE) is not None


def _product_name(variant: Variant | None) -> str:
    return variant.product.name.strip() if variant and variant.product else ""


def _is_real_variant_name(name: str, line: OrderLine) -> bool:
    ids = {line.product_variant_id, line.variant.id if line.variant else ""} - {""}
    if not name or name == line.sku or name in ids or _SALEOR_FALLBACK_NAME.match(name):
        return False
    return _GLOBAL_ID.match(name) is None and _decode_global_id(name) is None


def _decode_global_id(text: str) -> str | None:
    """``"ProductVariant:402"`` for a Saleor global id (base64 of ``Type:pk``), else None."""
    if len(text) < 8 or " " in text:
        return None
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if _GLOBAL_ID.match(decoded) else None


def _item_type(
    line: OrderLine, field: str, number: int, config: ShopConfig, problems: list[Problem]
) -> ItemType | None:
    """Variant gordon.type > product gordon.type > legacy gordon.temperature (variant, product) > default."""
    variant = line.variant
    product = variant.product if variant else None
    sources = (
        (variant, META_TYPE, "variant"),
        (product, META_TYPE, "product"),
        (variant, META_LEGACY_TYPE, "variant"),
        (product, META_LEGACY_TYPE, "product"),
    )
    for owner, key, kind in sources:
        value = owner.metadata_value(key) if owner is not None else None
        if value is not None and value.strip():
            return _checked_type(value, f"{field}.{kind}.metadata {key}", number, problems)
    return config.default_item_type


def _checked_type(value: str, field: str, number: int, problems: list[Problem]) -> ItemType | None:
    # Gordon doc D2: inventory[].type is one of ambient / chilled / frozen.
    wanted = value.strip().casefold()
    for item_type in ITEM_TYPES:
        if wanted == item_type:
            return item_type
    problems.append(
        Problem(
            field,
            f"{value!r} is not a temperature zone",
            f"Use one of: {', '.join(ITEM_TYPES)}.",
            "problem.item_type_invalid",
            {"line": number, "value": value},
        )
    )
    return None


def _weight_kg(line: OrderLine, field: str, number: int, warnings: list[Problem]) -> float | None:
    # Gordon doc B5: inventory[].weight in kg (recommended). Saleor Weight {unit, value}; per unit.
    weight = line.variant.weight if line.variant else None
    if weight is None or weight.value is None or not 0 < weight.value < math.inf:
        return None
    factor = _KG_PER_UNIT.get(weight.unit.upper())
    if factor is None:
        warnings.append(
            Problem(
                f"{field}.variant.weight",
                f"unknown weight unit {weight.unit!r}",
                "The weight is left out.",
                "problem.weight_unit_unknown",
                {"line": number, "unit": weight.unit},
            )
        )
        return None
    kilograms = round(weight.value * factor, 3)
    return kilograms if kilograms > 0 else None
