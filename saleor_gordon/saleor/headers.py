"""Names of the HTTP headers Saleor sends to apps.

Saleor sends every ``Saleor-*`` header twice, once with an ``X-`` prefix; the ``X-`` names are
deprecated (removal planned for Saleor 4.0), so the app reads only the names below. HTTP header
names are case-insensitive; Starlette and httpx compare them that way.
"""

from __future__ import annotations

from typing import Final

API_URL: Final = "Saleor-Api-Url"
"""Absolute URL of the sending Saleor's GraphQL API, e.g. ``https://shop.example.com/graphql/``."""

EVENT: Final = "Saleor-Event"
"""Lower-case event name of a webhook, e.g. ``order_created``."""

SIGNATURE: Final = "Saleor-Signature"
"""Detached JWS (RS256, unencoded payload) over the raw webhook body."""

DOMAIN: Final = "Saleor-Domain"
"""``host[:port]`` of the sending Saleor; informational only, the API URL is authoritative."""

SCHEMA_VERSION: Final = "Saleor-Schema-Version"
"""``major.minor`` of the Saleor schema; sent with the manifest GET and the register POST only."""
