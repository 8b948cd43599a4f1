"""Verifying what a Saleor signed against its cached JWKS, refetched once when Saleor rotated keys.

Used for webhook signatures and Dashboard tokens alike. ``verify`` is the pure check
(``verify_webhook_signature`` or ``verify_dashboard_token`` bound to the request); it raises
``SignatureInvalid`` or a subclass.

Refetching only helps when the signature names a key id the cache lacks or is a well-formed RS256
signature that does not match; anything else is refused at once. A refetched JWKS that differs from
the cache is saved even when the request at hand still fails: it comes from the installation's own
Saleor, and a junk request must not waste it. Requests that fail together queue for one refetch per
installation (one lock each) and then use the JWKS it stored, instead of being refused because the
limiter already spent its refetch on the first of them. An unknown key id that cannot be checked
because Saleor's keys cannot be fetched right now is answered 503 (try again), never 401.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from saleor_gordon.errors import WebhookRejected
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_gordon.saleor.signature import SignatureInvalid, SignatureKeyUnknown, SignatureMismatch

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class VerifyingInstallation:
    """What verifying a signed request needs of an installation (no token, no secrets)."""

    id: int
    saleor_api_url: str
    app_id: str
    jwks: Mapping[str, Any]


async def load_verifying_installation(
    runtime: Runtime, saleor_api_url: str, *, max_age: float = 0.0
) -> VerifyingInstallation | None:
    """The installation of ``saleor_api_url``, as read at most ``max_age`` seconds ago."""
    identity = await runtime.installations.get_webhook_identity(saleor_api_url, max_age=max_age)
    if identity is None:
        return None
    installation_id, app_id, jwks = identity
    return VerifyingInstallation(
        id=installation_id, saleor_api_url=saleor_api_url, app_id=app_id, jwks=jwks
    )


async def verify_with_fresh_keys(
    runtime: Runtime,
    installation: VerifyingInstallation,
    verify: Callable[[Mapping[str, Any]], T],
    *,
    unavailable_message: str,
    unsure_is_unavailable: bool = True,
) -> T:
    """``verify(jwks)`` with the cached JWKS, else once more with Saleor's current JWKS.

    ``unsure_is_unavailable``: when the refetch limiter refuses and the cached keys may be older
    than the request, answer JWKS_UNAVAILABLE (Saleor retries webhooks on 503, so a rotated key
    loses no event) rather than refusing. A Dashboard page cannot be retried that way; it passes
    False and gets the refusal.

    Raises:
        SignatureInvalid: the signature does not verify (with fresh keys where they could help).
        WebhookRejected: ``JWKS_UNAVAILABLE`` (503) with ``unavailable_message`` when the key is
            unknown and Saleor's keys cannot be fetched now.
    """
    try:
        return verify(installation.jwks)
    except SignatureInvalid as exc:
        if not _refetch_may_help(exc):
            raise
        rejection = exc
    url = installation.saleor_api_url
    arrived = runtime.jwks_limiter.now()
    async with runtime.jwks_refetch_lock(url):
        stored = await load_verifying_installation(runtime, url)
        if stored is None:  # uninstalled meanwhile
            raise rejection
        if stored.jwks != installation.jwks:
            try:
                return verify(stored.jwks)
            except SignatureInvalid as exc:
                if not _refetch_may_help(exc):
                    raise
                rejection = exc
        if not runtime.jwks_limiter.try_acquire(url):
            if (
                unsure_is_unavailable
                and isinstance(rejection, SignatureKeyUnknown)
                and not runtime.jwks_limiter.refetched_since(url, arrived)
            ):
                raise _keys_unavailable(url, unavailable_message) from rejection
            raise rejection
        jwks = await _refetch(runtime, stored, rejection, unavailable_message)
        return verify(jwks)


async def _refetch(
    runtime: Runtime,
    installation: VerifyingInstallation,
    rejection: SignatureInvalid,
    unavailable_message: str,
) -> Mapping[str, Any]:
    url = installation.saleor_api_url
    try:
        jwks = await fetch_jwks(runtime.http, url, timeout=runtime.settings.saleor_timeout_seconds)
    except JwksUnavailable as exc:
        logger.warning(
            "installation.jwks_refetch_failed saleor_api_url=%s reason=%s",
            sanitize_url(url),
            exc.reason,
        )
        if isinstance(rejection, SignatureKeyUnknown):
            raise _keys_unavailable(url, unavailable_message) from exc
        raise rejection from exc
    if jwks != installation.jwks:
        await runtime.installations.save_jwks(installation.id, jwks, now=runtime.clock())
        logger.info("installation.jwks_refreshed saleor_api_url=%s", sanitize_url(url))
    runtime.jwks_limiter.record_success(url)  # only once stored: waiting requests rely on it
    return jwks


def _refetch_may_help(rejection: SignatureInvalid) -> bool:
    """Fresh keys can only help an unknown key id or a well-formed signature that mismatched."""
    return isinstance(rejection, SignatureKeyUnknown | SignatureMismatch)


def _keys_unavailable(saleor_api_url: str, message: str) -> WebhookRejected:
    logger.warning(
        "signature.jwks_unavailable saleor_api_url=%s: unknown signing key and no fresh JWKS",
        sanitize_url(saleor_api_url),
    )
    return WebhookRejected("JWKS_UNAVAILABLE", message, status_hint=503)
