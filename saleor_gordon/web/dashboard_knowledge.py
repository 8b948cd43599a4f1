"""What the Dashboard pages need to know that only the server knows (``/api/dashboard/…``).

- ``GET /knowledge``: the job statuses in display order and which of them *Retry* can change, the
  trigger events, item types and Gordon environments a configuration may name, the configuration's
  defaults, the ISO weekdays, the time zones and the public-holiday countries the server accepts.
  The pages copy none of this: a new status or country shows up without touching them.
- ``GET /shop``: the shop's name as Saleor has it (``shop { name }``), for the page's header.

Both are read-only and guarded like the rest of the Dashboard API (a verified staff user holding
MANAGE_ORDERS). Words are not here: the pages word every code in the staff user's language.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import available_timezones

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from saleor_gordon.core.delivery_dates import HOLIDAY_COUNTRIES
from saleor_gordon.core.fulfillment import (
    SAMPLE_TRACKING_ID,
    TRACKING_ID_PLACEHOLDER,
    TRACKING_MODES,
)
from saleor_gordon.core.gordon_order import ITEM_TYPES
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.shop_config import TRIGGER_EVENTS, DeliveryDays, ShopConfig
from saleor_gordon.errors import SaleorError
from saleor_gordon.jobs.lifecycle import RETRYABLE_STATUSES
from saleor_gordon.observability import sanitize_url
from saleor_gordon.web.dashboard_deps import AppRuntime, Reader

logger = logging.getLogger(__name__)

PREFIX: Final = "/api/dashboard"
GORDON_ENVIRONMENTS: Final = (
    {"id": "staging", "base_url": "https://backend.staging.gordondelivery.com"},
    {"id": "production", "base_url": "https://backend.gordondelivery.com"},
)
DELIVERY_COUNTRIES: Final = ("SE", "NO", "DK")
"""Where Gordon delivers: offered first for public holidays."""
ISO_WEEKDAYS: Final = (1, 2, 3, 4, 5, 6, 7)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Environment(_Model):
    id: str = Field(description="staging | production")
    base_url: str


class Knowledge(_Model):
    statuses: list[str] = Field(description="Every job status, in the order the pages list them")
    retryable_statuses: list[str] = Field(description="Statuses where Retry can change something")
    trigger_events: list[str]
    item_types: list[str]
    tracking_modes: list[str] = Field(description="tracking_on_fulfillment's choices")
    sample_tracking_id: str = Field(description="A tracking ID as Gordon gives them (previews)")
    tracking_id_placeholder: str = Field(description="What tracking_url replaces by the ID")
    environments: list[Environment]
    defaults: dict[str, Any] = Field(
        description="A new configuration's values (credentials and rules empty)"
    )
    weekdays: list[int] = Field(description="ISO weekdays, 1 = Monday")
    time_zones: list[str] = Field(description="IANA time zones the server knows")
    holiday_countries: list[str] = Field(
        description="ISO 3166 codes the holiday calendar knows, the delivery countries first"
    )
    delivery_countries: list[str] = Field(description="Where Gordon delivers")


class ShopOut(_Model):
    name: str | None = Field(description="The shop's name in Saleor; null when it cannot be read")


def knowledge() -> Knowledge:
    """The server's knowledge, the same for every shop."""
    days = DeliveryDays()
    countries = sorted(HOLIDAY_COUNTRIES)
    return Knowledge(
        statuses=[status.value for status in JobStatus],
        retryable_statuses=[status.value for status in JobStatus if status in RETRYABLE_STATUSES],
        trigger_events=list(TRIGGER_EVENTS),
        item_types=list(ITEM_TYPES),
        tracking_modes=list(TRACKING_MODES),
        sample_tracking_id=SAMPLE_TRACKING_ID,
        tracking_id_placeholder=TRACKING_ID_PLACEHOLDER,
        environments=[Environment(**environment) for environment in GORDON_ENVIRONMENTS],
        defaults={
            "gordon": {"base_url": GORDON_ENVIRONMENTS[0]["base_url"]},
            "trigger_events": list(ShopConfig.model_fields["trigger_events"].default),
            "external_ref_prefix": ShopConfig.model_fields["external_ref_prefix"].default,
            "tracking_on_fulfillment": ShopConfig.model_fields["tracking_on_fulfillment"].default,
            "notify_customer": ShopConfig.model_fields["notify_customer"].default,
            "tracking_url": ShopConfig.model_fields["tracking_url"].default,
            "delivery_days": {
                "timezone": days.timezone,
                "cutoff": days.cutoff,
                "weekdays": list(days.weekdays),
                "lead_days": days.lead_days,
                "holiday_country": DELIVERY_COUNTRIES[0],
            },
        },
        weekdays=list(ISO_WEEKDAYS),
        time_zones=_time_zones(),
        holiday_countries=[
            *DELIVERY_COUNTRIES,
            *(c for c in countries if c not in DELIVERY_COUNTRIES),
        ],
        delivery_countries=list(DELIVERY_COUNTRIES),
    )


def _time_zones() -> list[str]:
    """Region/City names (and UTC): what a person picks, without legacy aliases."""
    zones = {
        zone
        for zone in available_timezones()
        if "/" in zone and zone.split("/")[0] not in {"Etc", "SystemV", "US", "posix", "right"}
    }
    return ["UTC", *sorted(zones)]


router = APIRouter(prefix=PREFIX, tags=["dashboard"])
_KNOWN = knowledge()


@router.get("/knowledge", response_model=Knowledge)
async def get_knowledge(_user: Reader) -> Knowledge:
    return _KNOWN


@router.get("/shop", response_model=ShopOut)
async def get_shop(user: Reader, runtime: AppRuntime) -> ShopOut:
    installation = await runtime.installations.get_installation_by_id(user.installation.id)
    if installation is None:
        return ShopOut(name=None)
    saleor = runtime.saleor_client(installation.saleor_api_url, installation.token)
    try:
        return ShopOut(name=await saleor.shop_name())
    except SaleorError as exc:  # the header falls back to the shop's address
        logger.info(
            "dashboard.shop_name_unavailable saleor_api_url=%s reason=%s",
            sanitize_url(installation.saleor_api_url),
            exc.message,
        )
        return ShopOut(name=None)
