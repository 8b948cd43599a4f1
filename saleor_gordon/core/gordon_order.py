"""The body of ``PUT /api/orders/<external_ref>`` (Gordon API doc, sections B5 and D2).

Keys are Gordon's, spelled exactly as documented (some use hyphens: ``customer-name``, ``time-window``).
Optional keys whose value is empty are left out of the JSON: Gordon's behaviour on empty strings is
UNVERIFIED (doc E3), leaving them out is safe.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import time
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from saleor_gordon.core.messages import CodedValueError

__all__ = [
    "ITEM_TYPES",
    "MAX_EXTERNAL_REF_CHARS",
    "GordonOrder",
    "InventoryItem",
    "ItemType",
    "format_time_window",
    "parse_time_window",
]

MAX_EXTERNAL_REF_CHARS: Final = 255
"""The longest external reference the app keeps (a job's column): the shop's prefix and the order
number (``core.shop_config.MAX_EXTERNAL_REF_PREFIX_CHARS`` leaves room for the longest number)."""

# Gordon API doc D2: inventory[].type is the temperature zone, one of these (spelling OBSERVED).
ItemType = Literal["ambient", "chilled", "frozen"]
ITEM_TYPES: tuple[ItemType, ...] = ("ambient", "chilled", "frozen")

_WINDOW = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_time_window(text: str) -> tuple[time, time]:
    """Read a window such as ``"17:00 - 21:00"`` or ``"8:00-12:00"``.

    Raises:
        ValueError: not ``HH:MM - HH:MM``, an impossible time, or the start is not before the end
            (a ``CodedValueError``, so a configuration problem keeps its code).
    """
    match = _WINDOW.match(text)
    if match is None:
        raise CodedValueError(
            "config.not_a_time_window",
            f"{text!r} is not a time window; write it as HH:MM - HH:MM, e.g. 17:00 - 21:00",
            value=text,
        )
    hour1, minute1, hour2, minute2 = (int(group) for group in match.groups())
    if hour1 > 23 or hour2 > 23 or minute1 > 59 or minute2 > 59:
        raise CodedValueError(
            "config.not_a_time_window",
            f"{text!r} holds an impossible time; hours run 00-23, minutes 00-59, e.g. 08:00 - 12:00",
            value=text,
        )
    start, end = time(hour1, minute1), time(hour2, minute2)
    if start >= end:
        raise CodedValueError(
            "config.time_window_backwards",
            f"{text!r} does not start before it ends; write e.g. 17:00 - 21:00",
            value=text,
        )
    return start, end


def format_time_window(text: str) -> str:
    """Normalise a window to Gordon's API form ``"HH:MM - HH:MM"`` (doc B5: ``"14:00 - 16:00"``).

    Raises:
        ValueError: as ``parse_time_window``.
    """
    start, end = parse_time_window(text)
    return f"{start:%H:%M} - {end:%H:%M}"


class InventoryItem(BaseModel):
    """One ``inventory[]`` entry: what the driver carries (doc B5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    type: ItemType | None = None
    weight: float | None = Field(default=None, gt=0)  # kg

    def to_json(self) -> dict[str, object]:
        """The item in Gordon's keys, without empty optional keys."""
        item: dict[str, object] = {"name": self.name, "quantity": self.quantity}
        if self.type is not None:
            item["type"] = self.type
        if self.weight is not None:
            item["weight"] = self.weight
        return item


class GordonOrder(BaseModel):
    """A Gordon order ready to send; build it with ``core.translate.translate_order``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    external_ref: str = Field(min_length=1)
    customer_name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    address2: str = ""
    zip: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country_code: str = ""
    mobile: str = ""
    email: str = ""
    notes: str = ""
    entrycode: str = ""
    deliverydate: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    time_window: str = Field(pattern=r"^\d{2}:\d{2} - \d{2}:\d{2}$")
    deliverygroup: str = Field(min_length=1)
    inventory: tuple[InventoryItem, ...] = Field(min_length=1)

    def to_json(self) -> dict[str, object]:
        """The request body in Gordon's exact keys; empty optional keys are omitted."""
        body: dict[str, object] = {
            "external_ref": self.external_ref,
            "customer-name": self.customer_name,
            "address": self.address,
            "address2": self.address2,
            "zip": self.zip,
            "city": self.city,
            "country_code": self.country_code,
            "mobile": self.mobile,
            "email": self.email,
            "notes": self.notes,
            "entrycode": self.entrycode,
            "deliverydate": self.deliverydate,
            "time-window": self.time_window,
            "deliverygroup": self.deliverygroup,
        }
        body = {key: value for key, value in body.items() if value != ""}
        body["inventory"] = [item.to_json() for item in self.inventory]
        return body

    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON body: sorted keys, no spaces, UTF-8.

        Equal orders give equal hashes in every process, so a re-push of unchanged data can be skipped.

        The format is pinned by literal digests in tests/core/test_gordon_order.py. Hashes of pushed
        orders are stored and compared with fresh ones, so changing the format re-pushes every order
        after an upgrade: it needs a migration plan, not just new digests in the test.
        """
        canonical = json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
