"""A Saleor order as the app's GraphQL documents select it (pure, frozen).

The models follow ``graphql/fragments/OrderDetails.graphql`` and tolerate the larger fragment ``O`` of the
recorded samples (``../shared/saleor/samples``): unknown keys are ignored, missing or null values become
defaults (``""`` for text, ``()`` for lists, ``None`` for objects). Saleor itself writes ``""`` for missing
address parts (samples README, "Notes on the payloads"), so ``""`` is the one spelling of "absent" here.

A value of the wrong type (a list where a name belongs) is not guessed at: ``SaleorOrder.from_graphql``
raises ``OrderPayloadInvalid`` naming the path. It also refuses an order whose id or number the app
cannot keep (``OrderIdentifierUnusable``): the webhook events and the jobs store both, in columns of
``MAX_ORDER_ID_CHARS`` and ``MAX_ORDER_NUMBER_CHARS`` (``store/tables.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from saleor_gordon.core.kept_text import keepable_text

__all__ = [
    "MAX_ORDER_ID_CHARS",
    "MAX_ORDER_NUMBER_CHARS",
    "Address",
    "Allocation",
    "Channel",
    "Country",
    "DeliveryMethod",
    "Fulfillment",
    "FulfillmentLine",
    "MetadataItem",
    "NotAnOrderObject",
    "OrderIdentifierUnusable",
    "OrderLine",
    "OrderLineRef",
    "OrderPayloadInvalid",
    "Product",
    "SaleorOrder",
    "Stock",
    "Variant",
    "Warehouse",
    "Weight",
    "extract_order_data",
]

MAX_ORDER_ID_CHARS: Final = 255
"""The longest order id (Saleor's global ID of the order) the app keeps."""
MAX_ORDER_NUMBER_CHARS: Final = 64
"""The longest order number the app keeps (Saleor's are a few digits)."""


class OrderPayloadInvalid(ValueError):
    """The data is not a Saleor order (or not one this app can read)."""


class NotAnOrderObject(OrderPayloadInvalid):
    """The JSON value where an order (or the response or webhook body holding it) belongs is not an object.

    Distinct from a well-formed response that holds no order (``{"data": {"order": null}}``): this one
    means the input itself is malformed.
    """


class OrderIdentifierUnusable(OrderPayloadInvalid):
    """The order's id or number is not one the app can keep (``keepable_text``): ``field`` is
    ``"id"`` or ``"number"``, ``limit`` its most characters."""

    def __init__(self, field: str, limit: int) -> None:
        self.field = field
        self.limit = limit
        super().__init__(
            f"the order {field} is longer than {limit} characters or is not one line of text, "
            "so the app cannot keep it"
        )


class _SaleorModel(BaseModel):
    """Frozen, camelCase on the wire, unknown keys ignored, ``null`` treated as absent."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        """Let defaults stand in for ``null`` (Saleor sends null for absent objects)."""
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value is not None}
        return data


class MetadataItem(_SaleorModel):
    """One ``{key, value}`` pair of Saleor (private) metadata."""

    key: str
    value: str = ""


def _lookup(items: tuple[MetadataItem, ...], key: str) -> str | None:
    """The value of the last item named ``key``, or None."""
    found = [item.value for item in items if item.key == key]
    return found[-1] if found else None


class Weight(_SaleorModel):
    """A Saleor ``Weight``: ``unit`` is G, LB, OZ, KG or TONNE."""

    unit: str = ""
    value: float | None = None


class Country(_SaleorModel):
    """A Saleor ``CountryDisplay``; only the ISO code is read."""

    code: str = ""


class Address(_SaleorModel):
    """A Saleor ``Address`` (fragment ``AddressDetails``)."""

    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    street_address_1: str = Field(default="", alias="streetAddress1")
    street_address_2: str = Field(default="", alias="streetAddress2")
    postal_code: str = ""
    city: str = ""
    city_area: str = ""
    country_area: str = ""
    country: Country | None = None
    phone: str = ""

    @property
    def country_code(self) -> str:
        """ISO 3166 alpha-2 code, ``""`` when unknown."""
        return self.country.code if self.country else ""

    @property
    def person_name(self) -> str:
        """First and last name joined by a space, ``""`` when both are blank."""
        return " ".join(part.strip() for part in (self.first_name, self.last_name) if part.strip())


class Channel(_SaleorModel):
    """The order's channel."""

    id: str = ""
    slug: str = ""


class DeliveryMethod(_SaleorModel):
    """``Order.deliveryMethod``: a ``ShippingMethod`` or, for click and collect, a ``Warehouse``."""

    typename: str = Field(default="", alias="__typename")
    id: str = ""
    name: str = ""
    metadata: tuple[MetadataItem, ...] = ()

    @property
    def is_warehouse(self) -> bool:
        """True for click and collect (the customer fetches the order at a warehouse)."""
        return self.typename == "Warehouse"

    def metadata_value(self, key: str) -> str | None:
        """The shipping method's public metadata value for ``key``, or None."""
        return _lookup(self.metadata, key)


class Product(_SaleorModel):
    """The product of a line's variant."""

    id: str = ""
    name: str = ""
    metadata: tuple[MetadataItem, ...] = ()

    def metadata_value(self, key: str) -> str | None:
        """The product's public metadata value for ``key``, or None."""
        return _lookup(self.metadata, key)


class Warehouse(_SaleorModel):
    """A warehouse of Saleor's (where stock is allocated, kept or fulfilled from)."""

    id: str = ""
    slug: str = ""
    name: str = ""


class Stock(_SaleorModel):
    """A stock record of a variant: the variant is kept in ``warehouse``."""

    warehouse: Warehouse | None = None


class Variant(_SaleorModel):
    """The product variant of a line (null when the variant was deleted after the order)."""

    id: str = ""
    sku: str = ""
    weight: Weight | None = None
    product: Product | None = None
    metadata: tuple[MetadataItem, ...] = ()
    track_inventory: bool | None = None
    """Saleor counts the variant's stock (``trackInventory``); None when not selected. Saleor
    allocates no stock to a line of a variant it does not count."""
    stocks: tuple[Stock, ...] = ()
    """The variant's stock records in the warehouses Saleor fulfils the order's channel from
    (``ProductVariant.stocks`` of a line's variant, in Saleor's order)."""

    def metadata_value(self, key: str) -> str | None:
        """The variant's public metadata value for ``key``, or None."""
        return _lookup(self.metadata, key)


class Allocation(_SaleorModel):
    """One stock allocation of a line: ``quantity`` of it held in ``warehouse`` (0 when not
    selected; Saleor keeps an allocation it used up, with 0)."""

    warehouse: Warehouse | None = None
    quantity: int = 0


class OrderLine(_SaleorModel):
    """One order line."""

    id: str = ""
    product_name: str = ""
    variant_name: str = ""
    product_sku: str = ""
    product_variant_id: str = ""
    quantity: int = 0
    quantity_fulfilled: int = 0
    # Saleor OrderLine.quantityToFulfill (quantity - quantityFulfilled); None when not selected.
    quantity_to_fulfill: int | None = None
    # Saleor OrderLine.isShippingRequired; None when not selected (the recorded samples lack it).
    is_shipping_required: bool | None = None
    variant: Variant | None = None
    allocations: tuple[Allocation, ...] = ()

    @property
    def unfulfilled(self) -> int:
        """How many of the line are still to fulfil (in a fulfillment or waiting for approval
        counts as fulfilled, as in Saleor)."""
        if self.quantity_to_fulfill is not None:
            return self.quantity_to_fulfill
        return max(self.quantity - self.quantity_fulfilled, 0)

    @property
    def warehouses(self) -> tuple[Warehouse, ...]:
        """The warehouses this line's stock was allocated from."""
        return tuple(a.warehouse for a in self.allocations if a.warehouse is not None)

    @property
    def sku(self) -> str:
        """The SKU stored on the line, else the variant's."""
        return self.product_sku or (self.variant.sku if self.variant else "")

    @property
    def display_name(self) -> str:
        """The line for a person: ``Frukostkasse (Standard)``; the SKU or id without a name."""
        name = self.product_name or self.sku or self.id
        return f"{name} ({self.variant_name})" if self.variant_name else name


class OrderLineRef(_SaleorModel):
    """The order line a fulfillment line is of."""

    id: str = ""


class FulfillmentLine(_SaleorModel):
    """``quantity`` of an order line in a fulfillment."""

    id: str = ""
    quantity: int = 0
    order_line: OrderLineRef | None = None


class Fulfillment(_SaleorModel):
    """A fulfillment of the order: ``status`` is Saleor's ``FulfillmentStatus`` (``FULFILLED``,
    ``WAITING_FOR_APPROVAL``, ``CANCELED``, ``RETURNED``...), ``tracking_number`` ``""`` when none."""

    id: str = ""
    status: str = ""
    tracking_number: str = ""
    fulfillment_order: int = 0
    warehouse: Warehouse | None = None
    lines: tuple[FulfillmentLine, ...] = ()


class SaleorOrder(_SaleorModel):
    """A Saleor order (fragment ``OrderDetails``; fragment ``O`` of the samples parses too)."""

    id: str = ""
    number: str = ""
    created: datetime | None = None
    updated_at: datetime | None = None
    status: str = ""
    origin: str = ""
    user_email: str = ""
    customer_note: str = ""
    is_shipping_required: bool | None = None
    shipping_method_name: str = ""
    collection_point_name: str = ""
    channel: Channel | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    delivery_method: DeliveryMethod | None = None
    lines: tuple[OrderLine, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()
    metadata: tuple[MetadataItem, ...] = ()
    private_metadata: tuple[MetadataItem, ...] = ()

    @classmethod
    def from_graphql(cls, data: Mapping[str, object]) -> SaleorOrder:
        """Parse ``data``, the order object of a GraphQL response or webhook body.

        Raises:
            OrderIdentifierUnusable: its id or number is not one the app can keep.
            OrderPayloadInvalid: ``data`` is not an order, or a field has a type Saleor never sends.
        """
        if not isinstance(data, Mapping):
            raise NotAnOrderObject(f"expected a Saleor order object, got {_kind(data)}")
        if not any(key in data for key in ("id", "number")):
            keys = ", ".join(sorted(str(key) for key in data)[:8]) or "none"
            raise OrderPayloadInvalid(
                f"expected a Saleor order object with 'id' and 'number'; its keys are: {keys}"
            )
        try:
            order = cls.model_validate(data)
        except ValidationError as exc:
            raise OrderPayloadInvalid(_describe(exc)) from None
        if not keepable_text(order.id, MAX_ORDER_ID_CHARS):
            raise OrderIdentifierUnusable("id", MAX_ORDER_ID_CHARS)
        if not keepable_text(order.number, MAX_ORDER_NUMBER_CHARS):
            raise OrderIdentifierUnusable("number", MAX_ORDER_NUMBER_CHARS)
        return order

    @property
    def channel_slug(self) -> str:
        """The channel slug, ``""`` when unknown."""
        return self.channel.slug if self.channel else ""

    def metadata_value(self, key: str) -> str | None:
        """The order's public metadata value for ``key``, or None."""
        return _lookup(self.metadata, key)

    def private_metadata_value(self, key: str) -> str | None:
        """The order's private metadata value for ``key``, or None."""
        return _lookup(self.private_metadata, key)


def extract_order_data(document: object) -> Mapping[str, object]:
    """Find the order in a GraphQL response (``{"data": {"order": …}}``), a webhook body or an order.

    Raises:
        NotAnOrderObject: ``document``, its ``data`` or its ``order`` is not a JSON object.
        OrderPayloadInvalid: there is no order in ``document`` (e.g. ``{"data": {"order": null}}``).
    """
    if not isinstance(document, Mapping):
        raise NotAnOrderObject(f"expected a JSON object, got {_kind(document)}")
    if "data" in document and "id" not in document:
        data = document["data"]
        if data is not None and not isinstance(data, Mapping):  # null: a GraphQL error response
            raise NotAnOrderObject(f"'data' should be an object, got {_kind(data)}")
        if data is None or data.get("order") is None:
            raise OrderPayloadInvalid(
                "the GraphQL response holds no order (not found, or the token may not read it)"
            )
        document = data
    if "order" in document and "id" not in document:
        order = document["order"]
        if not isinstance(order, Mapping):
            raise NotAnOrderObject(f"'order' should be an object, got {_kind(order)}")
        return order
    return document


def _kind(value: object) -> str:
    """A short description of a JSON value's type for messages: ``"an integer"``, ``"null"``, ..."""
    if value is None:
        return "null"
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),  # before int: bool is an int in Python
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        ((list, tuple), "a list"),
        (Mapping, "an object"),
    )
    for type_, name in kinds:
        if isinstance(value, type_):
            return name
    return "a value of another kind"


def _describe(exc: ValidationError) -> str:
    """One line per pydantic error: ``lines[0].quantity: Input should be a valid integer``."""
    parts = []
    for error in exc.errors()[:5]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        parts.append(f"{path.lstrip('.') or 'order'}: {error['msg']}")
    more = len(exc.errors()) - 5
    suffix = f" (and {more} more)" if more > 0 else ""
    return "not a readable Saleor order: " + "; ".join(parts) + suffix
