"""A shop as the app serves it: its installation and its configuration.

``load_shop`` is the one way to read them together, so every path that needs a configured shop
(a job's attempt, "Send to Gordon", backfill and reconcile) refuses an unconfigured one with the
same message (``ShopNotConfigured``); ``Runtime.saleor_client`` is the one way to talk to its
Saleor.
"""

from __future__ import annotations

from dataclasses import dataclass

from saleor_gordon.core.shop_config import ShopConfig
from saleor_gordon.errors import ShopNotConfigured
from saleor_gordon.jobs.queue import ClaimedJob
from saleor_gordon.runtime import Runtime
from saleor_gordon.store.installations import Installation


@dataclass(frozen=True)
class Shop:
    installation: Installation
    config: ShopConfig


async def load_shop(runtime: Runtime, installation: Installation) -> Shop:
    """The installed shop with its configuration.

    Raises:
        ShopNotConfigured: the shop has not stored a configuration yet.
        ShopConfigInvalid: the stored configuration no longer validates (after an upgrade).
    """
    config = await runtime.installations.get_config(installation.id)
    if config is None:
        raise ShopNotConfigured()
    return Shop(installation, config)


async def load_shop_by_id(runtime: Runtime, installation_id: int) -> Shop | None:
    """``load_shop`` of the installation ``installation_id``, read with its configuration at
    once; None when the app is no longer installed there.

    Raises:
        ShopNotConfigured, ShopConfigInvalid: as ``load_shop``.
    """
    found = await runtime.installations.get_installation_with_config(installation_id)
    return None if found is None else _configured(*found)


async def load_shop_of_job(runtime: Runtime, job: ClaimedJob) -> Shop | None:
    """``load_shop_by_id`` of the job's installation, from the row its claim read with it
    (``ClaimedJob.shop_row``) when there is one: no read of its own then.

    Raises:
        ShopNotConfigured, ShopConfigInvalid: as ``load_shop``.
    """
    if job.shop_row is None:
        return await load_shop_by_id(runtime, job.installation_id)
    return _configured(*runtime.installations.shop_of_row(job.shop_row))


def _configured(installation: Installation, config: ShopConfig | None) -> Shop:
    if config is None:
        raise ShopNotConfigured()
    return Shop(installation, config)
