"""The Dashboard API's dependencies, as ``Annotated`` aliases its routes name in their signatures
(``web/dashboard_api.py``, ``web/dashboard_knowledge.py``).

- ``AppRuntime``: the runtime the app was created with (``create_app`` keeps it in ``app.state``);
  the one way a route reaches it;
- ``Reader`` / ``Configurer``: a verified staff user holding MANAGE_ORDERS (and MANAGE_APPS);
- ``ShopInstallation``: the user's installation read afresh (its token, whether it was revoked),
  401 ``NOT_REGISTERED`` once the app was uninstalled.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from saleor_gordon.errors import DashboardRequestRefused
from saleor_gordon.runtime import Runtime
from saleor_gordon.store.installations import Installation
from saleor_gordon.web.dashboard_auth import (
    MANAGE_APPS,
    MANAGE_ORDERS,
    DashboardUser,
    authenticate,
)


def _runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


AppRuntime = Annotated[Runtime, Depends(_runtime)]
"""The runtime the app was created with."""


async def _reader(request: Request, runtime: AppRuntime) -> DashboardUser:
    return await authenticate(runtime, request, required=(MANAGE_ORDERS,))


async def _configurer(request: Request, runtime: AppRuntime) -> DashboardUser:
    return await authenticate(runtime, request, required=(MANAGE_ORDERS, MANAGE_APPS))


Reader = Annotated[DashboardUser, Depends(_reader)]
"""A verified staff user holding MANAGE_ORDERS."""
Configurer = Annotated[DashboardUser, Depends(_configurer)]
"""A verified staff user holding MANAGE_ORDERS and MANAGE_APPS."""


async def _installation(user: Reader, runtime: AppRuntime) -> Installation:
    installation = await runtime.installations.get_installation_by_id(user.installation.id)
    if installation is None:
        raise DashboardRequestRefused(
            "NOT_REGISTERED", "The app was uninstalled from this shop.", status_hint=401
        )
    return installation


ShopInstallation = Annotated[Installation, Depends(_installation)]
"""The installation of the user's shop, read afresh."""
