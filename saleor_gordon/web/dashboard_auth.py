"""The guard of the Dashboard API: who is asking, for which shop, allowed to do what.

The app's pages run inside the Saleor Dashboard and receive a Dashboard token (a JWT Saleor signs
for the logged-in staff user, protocol §4.3) by App Bridge. They send it with every API call the way
``@saleor/app-sdk`` does: ``authorization-bearer: <jwt>`` and ``saleor-api-url: <API URL>``.

Checks, in order (each refusal has its own code and a message the page shows):

1. both headers present, the URL usable                                   -> 401 / 400
2. an installation for that URL exists, before any outbound call           -> 401 NOT_REGISTERED
3. the token: RS256 with that installation's JWKS (refetched once for an
   unknown key), ``exp``, ``iss`` == the API URL, ``app`` == the installed
   app id                                                                  -> 401 (503 if keys
                                                                              cannot be fetched)
4. ``user_permissions`` holds MANAGE_ORDERS (reading, acting on orders)
   and MANAGE_APPS too for changing the configuration, as Saleor's own
   apps require                                                             -> 403

The installation found in step 2 is the only one the request can reach: one shop's token never
reaches another shop's data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from saleor_gordon.errors import DashboardRequestRefused
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.api_url import saleor_api_url_problem
from saleor_gordon.saleor.signature import SignatureInvalid, verify_dashboard_token
from saleor_gordon.web.signing_keys import (
    VerifyingInstallation,
    load_verifying_installation,
    verify_with_fresh_keys,
)

logger = logging.getLogger(__name__)

TOKEN_HEADER: Final = "authorization-bearer"  # noqa: S105 - a header name
API_URL_HEADER: Final = "saleor-api-url"
MANAGE_ORDERS: Final = "MANAGE_ORDERS"
MANAGE_APPS: Final = "MANAGE_APPS"

_PERMISSION_NAMES: Final = {MANAGE_ORDERS: "Manage orders", MANAGE_APPS: "Manage apps"}


@dataclass(frozen=True)
class DashboardUser:
    """A verified Dashboard request: the shop's installation and the staff user's permissions."""

    installation: VerifyingInstallation
    user_email: str | None
    user_permissions: frozenset[str]

    @property
    def can_configure(self) -> bool:
        return MANAGE_APPS in self.user_permissions


async def authenticate(
    runtime: Runtime, request: Request, *, required: tuple[str, ...]
) -> DashboardUser:
    """The verified user of ``request``, holding every permission in ``required``."""
    token = request.headers.get(TOKEN_HEADER, "").strip()
    saleor_api_url = request.headers.get(API_URL_HEADER, "").strip()
    if not token or not saleor_api_url:
        raise DashboardRequestRefused(
            "MISSING_TOKEN",
            "This request carries no Dashboard token. Open the app from the Saleor Dashboard "
            "(Apps → Gordon Delivery); reload the page if it was open for long.",
            status_hint=401,
        )
    problem = saleor_api_url_problem(saleor_api_url)
    if problem is not None:
        raise DashboardRequestRefused(
            "INVALID_SALEOR_API_URL", f"The {API_URL_HEADER} header {problem}.", status_hint=400
        )
    installation = await load_verifying_installation(runtime, saleor_api_url)
    if installation is None:
        raise DashboardRequestRefused(
            "NOT_REGISTERED",
            f"The app is not installed for {sanitize_url(saleor_api_url)}. Install it from "
            "that shop's Dashboard first.",
            status_hint=401,
        )
    now = runtime.clock()
    try:
        claims = await verify_with_fresh_keys(
            runtime,
            installation,
            lambda jwks: verify_dashboard_token(
                token,
                jwks,
                saleor_api_url=installation.saleor_api_url,
                app_id=installation.app_id,
                now=now,
            ),
            unavailable_message=(
                "The Dashboard token is signed with a key the app does not know yet, and Saleor's "
                "signing keys cannot be fetched right now; try again in a moment."
            ),
            unsure_is_unavailable=False,
        )
    except SignatureInvalid as exc:
        logger.info(
            "dashboard.token_refused saleor_api_url=%s reason=%s",
            sanitize_url(saleor_api_url),
            exc.message,
        )
        raise DashboardRequestRefused(
            "INVALID_TOKEN",
            f"{exc.message} Reload the app's page in the Saleor Dashboard to get a fresh one.",
            status_hint=401,
        ) from exc
    user = DashboardUser(
        installation=installation,
        user_email=_optional_str(claims.get("email")),
        user_permissions=_permissions(claims.get("user_permissions")),
    )
    missing = [name for name in required if name not in user.user_permissions]
    if missing:
        names = " and ".join(f"“{_PERMISSION_NAMES.get(m, m)}”" for m in missing)
        raise DashboardRequestRefused(
            "PERMISSION_DENIED",
            f"Your Saleor staff account lacks the {names} permission needed here. "
            "Ask a staff administrator to add it to your permission group.",
            status_hint=403,
            params={"permissions": missing},
        )
    return user


def _permissions(value: object) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
